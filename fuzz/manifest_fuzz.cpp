// ScaledObject / (Cluster)TriggerAuthentication manifests, YAML (EBB_FUZZ_JSON=0) or JSON
// (EBB_FUZZ_JSON=1), through everything a manifest meets before it reaches a scaler's I/O:
// decoding, validation with the registry's options (formula included), the auth params
// resolved from the Secrets and ConfigMaps of the same input, and every trigger's pure step.
//
// Properties besides memory safety: a decoded object re-encodes (to_json) into JSON that
// decodes again, to the same JSON (the operator and the adapter both rely on the round trip).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "ebb/api/auth.h"
#include "ebb/api/decode.h"
#include "ebb/api/validate.h"
#include "ebb/scalers/registry.h"
#include "ebb/scalers/scaled_object.h"
#include "fuzz_input.h"

namespace {

using namespace ebb;

template <class T, class Decode>
void check_round_trip(const T& object, Decode decode) {
  const nlohmann::json first = object;
  auto again = decode(first, api::DecodeOptions{}, nullptr);
  if (!again.ok()) {
    std::string errors;
    for (const auto& e : again.error()) errors += e.path + ": " + e.message + "; ";
    fuzz::fail("a decoded object does not decode again after to_json",
               first.dump() + " -> " + errors);
  }
  const nlohmann::json second = *again;
  if (first != second) fuzz::fail("to_json is not stable", first.dump() + " vs " + second.dump());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const api::ValidationOptions options = scalers::validation_options();
  const auto& registry = scalers::Registry::builtin();
  const std::string_view text = fuzz::as_text(data, size);

#if EBB_FUZZ_JSON
  auto documents = api::decode_json(text);
#else
  auto documents = api::decode_yaml(text);
#endif

  api::AuthSources sources;
  for (const auto& doc : documents) {
    (void)doc.position_of("spec.triggers[0].metadata.host");
    const auto* other = doc.other();
    if (other == nullptr) continue;
    if (other->kind == "Secret") {
      if (auto values = api::secret_data(other->raw); values.ok())
        sources.secrets[other->name] = *values;
    } else if (other->kind == "ConfigMap") {
      if (auto values = api::config_map_data(other->raw); values.ok())
        sources.config_maps[other->name] = *values;
    }
  }
  std::map<std::string, std::map<std::string, std::string>> auth_params;  // by name
  for (const auto& doc : documents) {
    const auto* ta = doc.trigger_authentication();
    if (ta == nullptr) continue;
    (void)api::validate(*ta);
    (void)api::unresolved_auth_members(ta->spec);
    if (auto params = api::resolve_auth_params(ta->spec, sources); params.ok())
      auth_params[ta->metadata.name] = *params;
    check_round_trip(*ta, [](const nlohmann::json& j, const api::DecodeOptions& o, FieldErrors* w) {
      return api::decode_trigger_authentication(j, o, w);
    });
  }
  for (const auto& doc : documents) {
    const auto* so = doc.scaled_object();
    if (so == nullptr) continue;
    (void)api::validate(*so, options);
    (void)scalers::formula_variables(*so);
    (void)api::hpa_name(*so);
    for (std::size_t i = 0; i < so->spec.triggers.size(); ++i) {
      auto ctx = scalers::trigger_context(*so, i);
      const auto& ref = so->spec.triggers[i].authentication_ref;
      if (ref) {
        if (auto it = auth_params.find(ref->name); it != auth_params.end())
          ctx.auth_params = it->second;
      }
      (void)registry.warnings(ctx);
      auto parsed = registry.parse(ctx);
      if (parsed.ok()) {
        (void)(*parsed)->metric_spec();
        (void)(*parsed)->endpoint();
      }
    }
    check_round_trip(*so, [](const nlohmann::json& j, const api::DecodeOptions& o, FieldErrors* w) {
      return api::decode_scaled_object(j, o, w);
    });
  }
  return 0;
}
