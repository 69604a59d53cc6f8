#include "ebb/api/annotations.h"

#include <charconv>
#include <limits>

namespace ebb::api {

std::optional<bool> parse_go_bool(std::string_view v) {
  if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False")
    return false;
  return std::nullopt;
}

bool bool_annotation(const Annotations& annotations, std::string_view name) {
  auto it = annotations.find(std::string(name));
  if (it == annotations.end()) return false;
  return parse_go_bool(it->second).value_or(true);
}

Result<std::int32_t, std::string> parse_go_int32(std::string_view value) {
  auto digits = value;
  bool negative = false;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  std::int64_t magnitude = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  // from_chars would accept its own '-' here; the sign has been consumed already.
  if (digits.empty() || digits.front() == '-' || end != digits.data() + digits.size())
    return unexpected(std::string("must be an integer"));
  const std::int64_t v = negative ? -magnitude : magnitude;
  if (ec == std::errc::result_out_of_range || v < std::numeric_limits<std::int32_t>::min() ||
      v > std::numeric_limits<std::int32_t>::max())
    return unexpected(std::string("must be a 32-bit integer"));
  if (ec != std::errc()) return unexpected(std::string("must be an integer"));
  return static_cast<std::int32_t>(v);
}

Result<std::optional<std::int32_t>, std::string> paused_replicas(const Annotations& annotations) {
  auto it = annotations.find(std::string(kPausedReplicasAnnotation));
  if (it == annotations.end()) return std::optional<std::int32_t>();
  auto count = parse_go_int32(it->second);
  if (!count) return unexpected(count.error());
  return std::optional<std::int32_t>(*count);
}

bool is_paused(const Annotations& annotations) {
  return annotations.count(std::string(kPausedReplicasAnnotation)) > 0 ||
         bool_annotation(annotations, kPausedAnnotation);
}

bool transfer_hpa_ownership_requested(const Annotations& annotations) {
  auto it = annotations.find(std::string(kTransferHpaOwnershipAnnotation));
  return it != annotations.end() && it->second == "true";
}

}  // namespace ebb::api
