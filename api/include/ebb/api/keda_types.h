// Trigger types KEDA knows (keda-compat §8). This is KEDA's vocabulary, not Ebb's: which types
// Ebb can actually poll is decided by the scalers registry and passed to validate() as a
// predicate, so an object using a real KEDA type Ebb lacks gets "unsupported", while a typo
// gets "unknown … did you mean".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ebb::api {

// The 78 production trigger types of KEDA, sorted. The test-only "external-mock" is excluded.
const std::vector<std::string>& keda_trigger_types();
bool is_keda_trigger_type(std::string_view type);

// A note for types KEDA deprecated ("liiklus") or removed ("stan"), for messages.
std::optional<std::string> trigger_type_deprecation(std::string_view type);
std::optional<std::string> trigger_type_removal(std::string_view type);

}  // namespace ebb::api
