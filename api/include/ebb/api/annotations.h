// Annotation, label and finalizer names KEDA users already put on their objects (keda-compat §2),
// and the value parsing KEDA applies to them. Pure helpers: the operator and the adapter read
// annotations through these so both interpret a value the same way.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ebb/result.h"

namespace ebb::api {

inline constexpr std::string_view kPausedAnnotation = "autoscaling.keda.sh/paused";
inline constexpr std::string_view kPausedReplicasAnnotation = "autoscaling.keda.sh/paused-replicas";
inline constexpr std::string_view kPausedScaleInAnnotation = "autoscaling.keda.sh/paused-scale-in";
inline constexpr std::string_view kPausedScaleOutAnnotation =
    "autoscaling.keda.sh/paused-scale-out";
inline constexpr std::string_view kForceActivationAnnotation =
    "autoscaling.keda.sh/force-activation";
inline constexpr std::string_view kTransferHpaOwnershipAnnotation =
    "scaledobject.keda.sh/transfer-hpa-ownership";
// Read on an existing HPA (not on the ScaledObject): "false" makes the HPA ignorable.
inline constexpr std::string_view kHpaOwnershipValidationAnnotation =
    "validations.keda.sh/hpa-ownership";
inline constexpr std::string_view kHpaExcludedLabelsAnnotation =
    "scaledobject.keda.sh/hpa-excluded-labels";
inline constexpr std::string_view kJobExcludedLabelsAnnotation =
    "scaledjob.keda.sh/job-excluded-labels";

// Label the operator puts on the ScaledObject and the HPA; also the metric selector label.
inline constexpr std::string_view kScaledObjectNameLabel = "scaledobject.keda.sh/name";
inline constexpr std::string_view kFinalizer = "finalizer.keda.sh";
// Label on the Jobs (and their pod templates) a ScaledJob creates: how they are found again.
inline constexpr std::string_view kScaledJobNameLabel = "scaledjob.keda.sh/name";
// Annotation on those Jobs: the ScaledJob generation they were created from (rollouts).
inline constexpr std::string_view kScaledJobGenerationAnnotation = "scaledjob.keda.sh/generation";

using Annotations = std::map<std::string, std::string>;

// Go strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False; anything else is nullopt.
std::optional<bool> parse_go_bool(std::string_view value);

// KEDA's reading of a boolean annotation: absent -> false; a value ParseBool rejects counts as
// TRUE (so "yes" pauses), which is why validate() warns about such values.
bool bool_annotation(const Annotations& annotations, std::string_view name);

// Go strconv.ParseInt(value, 10, 32): optional sign, decimal digits, int32 range, no spaces.
Result<std::int32_t, std::string> parse_go_int32(std::string_view value);

// autoscaling.keda.sh/paused-replicas: nullopt when absent, the count, or an error for a
// non-integer value (KEDA fails the reconcile then).
Result<std::optional<std::int32_t>, std::string> paused_replicas(const Annotations& annotations);

// Full pause: paused-replicas present (any value) or paused true.
bool is_paused(const Annotations& annotations);

// Ownership transfer is requested only by the exact value "true" (no ParseBool here).
bool transfer_hpa_ownership_requested(const Annotations& annotations);

}  // namespace ebb::api
