#include "validate_triggers.h"

#include <algorithm>
#include <set>

#include "ebb/api/decode.h"
#include "ebb/api/keda_types.h"
#include "ebb/strings.h"
#include "messages.h"

namespace ebb::api::detail {

namespace {

const std::vector<std::string> kAuthenticationKinds = {"TriggerAuthentication",
                                                       "ClusterTriggerAuthentication"};

}  // namespace

TriggerTraits trigger_traits(const ValidationOptions& options, std::string_view type) {
  if (options.trigger_traits) return options.trigger_traits(type);
  TriggerTraits any;
  any.supported = is_keda_trigger_type(type);
  return any;
}

void TriggerChecks::check_list(const std::vector<ScaleTrigger>& triggers, const PerKind& per_kind) {
  if (triggers.empty()) {
    result_.error("spec.triggers", "no triggers defined in the ScaledObject/ScaledJob");
    return;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < triggers.size(); ++i) {
    const auto& trigger = triggers[i];
    const auto path = index_path("spec.triggers", i);
    check_type(trigger.type, path);
    check_auth(trigger, path);
    if (per_kind) per_kind(trigger, path);
    if (trigger.use_cached_metrics && !trigger_traits(options_, trigger.type).cached_metrics)
      result_.error(path + ".useCachedMetrics",
                    "property \"useCachedMetrics\" is not supported for " +
                        ebb::quoted(trigger.type) + " scaler");
    if (!trigger.name.empty() && !names.insert(trigger.name).second)
      result_.error(path + ".name", "triggerName " + ebb::quoted(trigger.name) +
                                        " is defined multiple times in the ScaledObject/ScaledJob, "
                                        "but it must be unique");
  }
}

void TriggerChecks::check_type(const std::string& type, const std::string& path) {
  const auto type_path = path + ".type";
  if (type.empty()) {
    result_.error(type_path, invalid_value(type, "must not be empty"));
    return;
  }
  if (auto removal = trigger_type_removal(type)) {
    result_.error(type_path, "unknown trigger type " + ebb::quoted(type) + ": " + *removal);
    return;
  }
  if (auto deprecation = trigger_type_deprecation(type)) result_.warn(type_path, *deprecation);
  if (trigger_traits(options_, type).supported) return;
  if (!is_keda_trigger_type(type)) {
    auto candidates = keda_trigger_types();
    candidates.insert(candidates.end(), options_.supported_types.begin(),
                      options_.supported_types.end());
    std::string message = "unknown trigger type " + ebb::quoted(type);
    if (auto hint = closest_match(type, candidates); !hint.empty())
      message += " (did you mean " + ebb::quoted(hint) + "?)";
    result_.error(type_path, std::move(message));
    return;
  }
  std::string message = "unsupported trigger type " + ebb::quoted(type);
  if (!options_.supported_types.empty())
    message += " (supported: " + join(options_.supported_types, ", ") + ")";
  result_.error(type_path, std::move(message));
}

void TriggerChecks::check_auth(const ScaleTrigger& trigger, const std::string& path) {
  if (!trigger.authentication_ref) return;
  const auto& ref = *trigger.authentication_ref;
  if (ref.name.empty())
    result_.warn(path + ".authenticationRef.name",
                 "empty name: no TriggerAuthentication will be found, so the trigger gets no "
                 "auth params");
  if (!ref.kind.empty() &&
      std::find(kAuthenticationKinds.begin(), kAuthenticationKinds.end(), ref.kind) ==
          kAuthenticationKinds.end())
    result_.error(path + ".authenticationRef.kind",
                  unsupported_value(ref.kind, kAuthenticationKinds));
}

}  // namespace ebb::api::detail
