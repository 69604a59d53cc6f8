// keda.sh/v1alpha1 objects as Ebb holds them: ScaledObject, ScaledJob, TriggerAuthentication
// and ClusterTriggerAuthentication (keda-compat §1.1, §1.2, §1.3).
//
// Conventions:
// - Optional integer fields are std::optional so "unset" stays distinguishable from 0; KEDA
//   treats them differently (an explicit minReplicaCount 0 is not the same as an unset one,
//   §3.7). The *_or_default() accessors apply KEDA's runtime defaults.
// - CRD-level defaults (fallback.behavior "static", oauth2.type "clientCredentials") are applied
//   by decode, as the API server would have done.
// - Members whose shape Ebb does not interpret (HPA behavior, vault and cloud secret stores,
//   status) stay raw JSON.
// - Every decoded object keeps the document it came from in `raw`; to_json() writes the typed
//   fields over it, so fields Ebb does not know survive a decode -> encode round trip.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ebb::api {

inline constexpr std::string_view kGroup = "keda.sh";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kKedaApiVersion = "keda.sh/v1alpha1";
inline constexpr std::string_view kScaledObjectKind = "ScaledObject";
inline constexpr std::string_view kScaledJobKind = "ScaledJob";
inline constexpr std::string_view kTriggerAuthenticationKind = "TriggerAuthentication";
inline constexpr std::string_view kClusterTriggerAuthenticationKind =
    "ClusterTriggerAuthentication";

// KEDA's runtime defaults (keda-compat §1.1.1).
inline constexpr std::int32_t kDefaultPollingInterval = 30;
inline constexpr std::int32_t kDefaultCooldownPeriod = 300;
inline constexpr std::int32_t kDefaultInitialCooldownPeriod = 0;
inline constexpr std::int32_t kDefaultMinReplicaCount = 0;
inline constexpr std::int32_t kDefaultMaxReplicaCount = 100;
inline constexpr std::string_view kDefaultScaleTargetApiVersion = "apps/v1";
inline constexpr std::string_view kDefaultScaleTargetKind = "Deployment";
inline constexpr std::string_view kDefaultMetricType = "AverageValue";
inline constexpr std::string_view kDefaultFallbackBehavior = "static";
inline constexpr std::string_view kOAuth2ClientCredentials = "clientCredentials";
// ScaledJob runtime defaults (keda-compat §1.3; KEDA's scaledjob_types.go and scale_jobs.go).
inline constexpr std::int32_t kDefaultSuccessfulJobsHistoryLimit = 100;
inline constexpr std::int32_t kDefaultFailedJobsHistoryLimit = 100;
inline constexpr std::int32_t kDefaultScaledJobMaxReplicaCount = 100;
inline constexpr std::int32_t kDefaultScaledJobMinReplicaCount = 0;
inline constexpr std::string_view kDefaultScalingStrategy = "default";
inline constexpr std::string_view kDefaultMultipleScalersCalculation = "max";
inline constexpr std::string_view kDefaultRolloutStrategy = "immediate";
inline constexpr std::string_view kDefaultRolloutPropagationPolicy = "background";
// Kubernetes label values (and therefore SO and HPA names here) are limited to 63 characters.
inline constexpr std::size_t kMaxLabelValueLength = 63;

struct ObjectMeta {
  std::string name;
  std::string generate_name;
  std::string namespace_;  // "namespace" is a C++ keyword
  std::string uid;
  std::string resource_version;
  std::optional<std::int64_t> generation;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> finalizers;
  std::string creation_timestamp;
  std::optional<std::string> deletion_timestamp;
  nlohmann::json owner_references;  // null when absent, else the list as written
};

// ---------------------------------------------------------------------------------------------
// ScaledObject

struct ScaleTargetRef {
  std::string api_version;  // "" means apps/v1
  std::string kind;         // "" means Deployment
  std::string name;
  std::string env_source_container_name;  // "" means the first container

  std::string api_version_or_default() const;
  std::string kind_or_default() const;
};

struct HorizontalPodAutoscalerConfig {
  std::string name;                        // "" means keda-hpa-<so name>
  std::optional<nlohmann::json> behavior;  // autoscaling/v2 HorizontalPodAutoscalerBehavior
};

struct ScalingModifiers {
  std::string formula;
  std::string target;             // a float written as a string
  std::string activation_target;  // a float written as a string; "" means 0
  std::string metric_type;        // "" means AverageValue

  // KEDA switches to the composite metric as soon as any member is non-empty.
  bool empty() const {
    return formula.empty() && target.empty() && activation_target.empty() && metric_type.empty();
  }
  std::string metric_type_or_default() const;
};

struct AdvancedConfig {
  bool restore_to_original_replica_count = false;
  std::optional<HorizontalPodAutoscalerConfig> horizontal_pod_autoscaler_config;
  ScalingModifiers scaling_modifiers;
};

struct Fallback {
  std::int32_t failure_threshold = 0;
  std::int32_t replicas = 0;
  std::string behavior = std::string(kDefaultFallbackBehavior);
};

struct AuthenticationRef {
  std::string name;
  std::string kind;  // "" means TriggerAuthentication

  std::string kind_or_default() const;
  bool cluster_scoped() const { return kind == kClusterTriggerAuthenticationKind; }
};

struct ScaleTrigger {
  std::string type;
  std::string name;
  std::map<std::string, std::string> metadata;
  std::optional<AuthenticationRef> authentication_ref;
  std::string metric_type;  // "" means AverageValue
  bool use_cached_metrics = false;

  std::string metric_type_or_default() const;
};

struct ScaledObjectSpec {
  ScaleTargetRef scale_target_ref;
  std::optional<std::int32_t> polling_interval;
  std::optional<std::int32_t> cooldown_period;
  std::optional<std::int32_t> initial_cooldown_period;
  std::optional<std::int32_t> idle_replica_count;  // unset means idle mode off
  std::optional<std::int32_t> min_replica_count;
  std::optional<std::int32_t> max_replica_count;
  std::optional<AdvancedConfig> advanced;
  std::optional<Fallback> fallback;
  std::vector<ScaleTrigger> triggers;

  std::int32_t polling_interval_or_default() const;
  std::int32_t cooldown_period_or_default() const;
  std::int32_t initial_cooldown_period_or_default() const;
  std::int32_t min_replica_count_or_default() const;
  std::int32_t max_replica_count_or_default() const;

  // HPA bounds: an HPA cannot have 0 replicas, so 0/unset becomes 1 (KEDA GetHPAMinReplicas).
  std::int32_t hpa_min_replicas() const;
  std::int32_t hpa_max_replicas() const { return max_replica_count_or_default(); }
  bool uses_scaling_modifiers() const;
  const ScalingModifiers* scaling_modifiers() const;  // nullptr when not used
};

struct AdapterStatus;  // status.h

struct ScaledObject {
  std::string api_version = std::string(kKedaApiVersion);
  std::string kind = std::string(kScaledObjectKind);
  ObjectMeta metadata;
  ScaledObjectSpec spec;
  nlohmann::json status;  // null when absent; owned by the operator and the adapter
  nlohmann::json raw;     // the decoded document; null for objects built in code
  // The metrics adapter's typed part of `status`, set by the adapter when it drops `status`
  // to save memory; null otherwise (read it through adapter_status_of, status.h).
  std::shared_ptr<const AdapterStatus> adapter_status;
};

// advanced.horizontalPodAutoscalerConfig.name, else "keda-hpa-<name>".
std::string hpa_name(const ScaledObject& so);

// ---------------------------------------------------------------------------------------------
// ScaledJob

struct JobScalingStrategy {
  std::string strategy;  // default, custom, accurate, eager; "" means default
  std::optional<std::int32_t> custom_scaling_queue_length_deduction;
  std::string custom_scaling_running_job_percentage;  // a float written as a string
  std::vector<std::string> pending_pod_conditions;
  std::string multiple_scalers_calculation;  // min, avg, sum, max; "" means max

  std::string strategy_or_default() const;
  std::string multiple_scalers_calculation_or_default() const;
};

struct JobRollout {
  std::string strategy;            // gradual, immediate; "" means immediate
  std::string propagation_policy;  // foreground, background; "" means background
};

struct ScaledJobSpec {
  // batch/v1 JobSpec. Kept as JSON: Ebb copies it into the Jobs it creates, and its shape is the
  // CRD schema's to check (decode only requires an object with a `template`, as the CRD does).
  nlohmann::json job_target_ref;
  std::optional<std::int32_t> polling_interval;
  std::optional<std::int32_t> successful_jobs_history_limit;
  std::optional<std::int32_t> failed_jobs_history_limit;
  std::string rollout_strategy;  // deprecated spelling of rollout.strategy; wins when set
  JobRollout rollout;
  std::string env_source_container_name;  // "" means the first container
  std::optional<std::int32_t> min_replica_count;
  std::optional<std::int32_t> max_replica_count;
  JobScalingStrategy scaling_strategy;
  std::vector<ScaleTrigger> triggers;

  std::int32_t polling_interval_or_default() const;
  std::int32_t successful_jobs_history_limit_or_default() const;
  std::int32_t failed_jobs_history_limit_or_default() const;
  // KEDA's ScaledJob.MinReplicaCount(): min (0 when unset), capped at an explicit max.
  std::int64_t effective_min_replica_count() const;
  // KEDA's ScaledJob.MaxReplicaCount(): the jobs that may run above the minimum. max - min when
  // max is set and min <= max; max itself when min > max; 100 when max is unset (min is then
  // not subtracted).
  std::int64_t effective_max_replica_count() const;
  // rolloutStrategy when set (deprecated, KEDA still prefers it), else rollout.strategy, else
  // "immediate".
  std::string rollout_strategy_or_default() const;
  std::string propagation_policy_or_default() const;
};

struct ScaledJob {
  std::string api_version = std::string(kKedaApiVersion);
  std::string kind = std::string(kScaledJobKind);
  ObjectMeta metadata;
  ScaledJobSpec spec;
  nlohmann::json status;
  nlohmann::json raw;
};

// ---------------------------------------------------------------------------------------------
// TriggerAuthentication / ClusterTriggerAuthentication

struct SecretTargetRef {
  std::string parameter;
  std::string name;
  std::string key;
};
using ConfigMapTargetRef = SecretTargetRef;

struct EnvTargetRef {
  std::string parameter;
  std::string name;            // environment variable of the scale target's container
  std::string container_name;  // "" means the first container
};

struct BoundServiceAccountToken {
  std::string parameter;
  std::string service_account_name;
};

// Pointer fields in KEDA: "set to an empty string" is rejected where "unset" is fine.
struct PodIdentity {
  std::string provider;
  std::optional<std::string> identity_id;
  std::optional<std::string> identity_tenant_id;
  std::optional<std::string> identity_authority_host;
  std::optional<std::string> role_arn;
  std::optional<std::string> external_id;
  std::optional<std::string> identity_owner;  // "keda" (default) or "workload"

  bool workload_identity_owner() const { return identity_owner == "workload"; }
};

struct SecretKeyRef {
  std::string name;
  std::string key;
};

struct OAuth2 {
  std::string type = std::string(kOAuth2ClientCredentials);
  std::string client_id;
  std::optional<SecretKeyRef> client_secret;  // clientSecret.valueFrom.secretKeyRef
  std::string token_url;
  std::vector<std::string> scopes;
  std::map<std::string, std::string> token_url_params;
};

struct TriggerAuthenticationSpec {
  std::vector<SecretTargetRef> secret_target_ref;
  std::vector<ConfigMapTargetRef> config_map_target_ref;
  std::vector<EnvTargetRef> env;
  std::vector<BoundServiceAccountToken> bound_service_account_token;
  std::optional<PodIdentity> pod_identity;
  std::string file_path;
  std::optional<OAuth2> oauth2;
  // External secret stores: shape-checked, not interpreted here.
  std::optional<nlohmann::json> hashicorp_vault;
  std::optional<nlohmann::json> azure_key_vault;
  std::optional<nlohmann::json> gcp_secret_manager;
  std::optional<nlohmann::json> aws_secret_manager;
};

// One C++ type for both kinds: they share the spec and differ only in scope and in which
// members KEDA honours (filePath is ClusterTriggerAuthentication-only).
struct TriggerAuthentication {
  std::string api_version = std::string(kKedaApiVersion);
  std::string kind = std::string(kTriggerAuthenticationKind);
  ObjectMeta metadata;
  TriggerAuthenticationSpec spec;
  nlohmann::json status;
  nlohmann::json raw;

  bool cluster_scoped() const { return kind == kClusterTriggerAuthenticationKind; }
};

// ---------------------------------------------------------------------------------------------
// Encoding. ADL-visible, so `nlohmann::json j = so;` works too.

void to_json(nlohmann::json& out, const ObjectMeta& meta);
void to_json(nlohmann::json& out, const ScaledObject& so);
void to_json(nlohmann::json& out, const ScaledJob& sj);
void to_json(nlohmann::json& out, const TriggerAuthentication& ta);

}  // namespace ebb::api
