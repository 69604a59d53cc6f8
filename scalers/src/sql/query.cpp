#include "sql/query.h"

namespace ebb::scalers::sql {

FieldErrors credential_metadata_warnings(const TriggerContext& ctx, FieldErrors table_warnings,
                                         std::initializer_list<const char*> names) {
  FieldErrors out = std::move(table_warnings);
  for (const char* name : names)
    if (ctx.metadata.count(name))
      out.push_back({std::string("metadata.") + name,
                     std::string(name) + " is read only from authParams or " + name +
                         "FromEnv, as in KEDA; this metadata value is ignored (and a secret does "
                         "not belong there)"});
  return out;
}

std::string scrub_password(std::string message, std::string_view password) {
  if (password.size() < 3) return message;
  for (auto at = message.find(password); at != std::string::npos;
       at = message.find(password, at + 5))
    message.replace(at, password.size(), "xxxxx");
  return message;
}

}  // namespace ebb::scalers::sql
