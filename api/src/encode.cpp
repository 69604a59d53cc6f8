// Encoding writes the typed fields over the JSON the object was decoded from, so members Ebb
// does not model (newer CRD fields, managedFields, …) survive. A member is written when it
// carries information or the original had it; members the typed object no longer has are
// removed.
#include <nlohmann/json.hpp>

#include "ebb/api/objects.h"

namespace ebb::api {

using nlohmann::json;

namespace {

json base_object(const json& base, const char* key) {
  if (base.is_object())
    if (auto it = base.find(key); it != base.end() && it->is_object()) return *it;
  return json::object();
}

json base_item(const json& base, const char* key, std::size_t i) {
  if (base.is_object())
    if (auto it = base.find(key);
        it != base.end() && it->is_array() && i < it->size() && (*it)[i].is_object())
      return (*it)[i];
  return json::object();
}

void put_string(json& out, const char* key, const std::string& value,
                const std::string& default_value = {}) {
  if (value != default_value || out.contains(key)) out[key] = value;
}

void put_optional_string(json& out, const char* key, const std::optional<std::string>& value) {
  value ? void(out[key] = *value) : void(out.erase(key));
}

template <class T>
void put_optional(json& out, const char* key, const std::optional<T>& value) {
  value ? void(out[key] = *value) : void(out.erase(key));
}

void put_bool(json& out, const char* key, bool value) {
  if (value || out.contains(key)) out[key] = value;
}

template <class Container>
void put_container(json& out, const char* key, const Container& value) {
  if (!value.empty() || out.contains(key)) out[key] = value;
}

void put_raw(json& out, const char* key, const json& value) {
  value.is_null() ? void(out.erase(key)) : void(out[key] = value);
}

void put_raw(json& out, const char* key, const std::optional<json>& value) {
  value ? void(out[key] = *value) : void(out.erase(key));
}

// Runs `encode(json& member)` on the original member (or {}) and stores the result.
template <class F>
void put_object(json& out, const char* key, bool present, F&& encode) {
  if (!present) {
    out.erase(key);
    return;
  }
  json member = base_object(out, key);
  encode(member);
  out[key] = std::move(member);
}

template <class T, class F>
void put_objects(json& out, const char* key, const std::vector<T>& items, F&& encode) {
  if (items.empty() && !out.contains(key)) return;
  json array = json::array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    json member = base_item(out, key, i);
    encode(member, items[i]);
    array.push_back(std::move(member));
  }
  out[key] = std::move(array);
}

void encode_meta(json& out, const ObjectMeta& meta) {
  put_string(out, "name", meta.name);
  put_string(out, "generateName", meta.generate_name);
  put_string(out, "namespace", meta.namespace_);
  put_string(out, "uid", meta.uid);
  put_string(out, "resourceVersion", meta.resource_version);
  put_optional(out, "generation", meta.generation);
  put_container(out, "labels", meta.labels);
  put_container(out, "annotations", meta.annotations);
  put_container(out, "finalizers", meta.finalizers);
  put_string(out, "creationTimestamp", meta.creation_timestamp);
  put_optional_string(out, "deletionTimestamp", meta.deletion_timestamp);
  put_raw(out, "ownerReferences", meta.owner_references);
}

void encode_trigger(json& out, const ScaleTrigger& t) {
  out["type"] = t.type;
  put_string(out, "name", t.name);
  out["metadata"] = t.metadata;
  put_object(out, "authenticationRef", t.authentication_ref.has_value(), [&](json& ref) {
    ref["name"] = t.authentication_ref->name;
    put_string(ref, "kind", t.authentication_ref->kind);
  });
  put_string(out, "metricType", t.metric_type);
  put_bool(out, "useCachedMetrics", t.use_cached_metrics);
}

void encode_advanced(json& out, const AdvancedConfig& a) {
  put_bool(out, "restoreToOriginalReplicaCount", a.restore_to_original_replica_count);
  const auto& hpa = a.horizontal_pod_autoscaler_config;
  put_object(out, "horizontalPodAutoscalerConfig", hpa.has_value(), [&](json& h) {
    put_string(h, "name", hpa->name);
    put_raw(h, "behavior", hpa->behavior);
  });
  const auto& sm = a.scaling_modifiers;
  put_object(out, "scalingModifiers", !sm.empty() || out.contains("scalingModifiers"),
             [&](json& s) {
               put_string(s, "formula", sm.formula);
               put_string(s, "target", sm.target);
               put_string(s, "activationTarget", sm.activation_target);
               put_string(s, "metricType", sm.metric_type);
             });
}

void encode_scaled_object_spec(json& out, const ScaledObjectSpec& spec) {
  put_object(out, "scaleTargetRef", true, [&](json& ref) {
    const auto& r = spec.scale_target_ref;
    put_string(ref, "apiVersion", r.api_version);
    put_string(ref, "kind", r.kind);
    ref["name"] = r.name;
    put_string(ref, "envSourceContainerName", r.env_source_container_name);
  });
  put_optional(out, "pollingInterval", spec.polling_interval);
  put_optional(out, "cooldownPeriod", spec.cooldown_period);
  put_optional(out, "initialCooldownPeriod", spec.initial_cooldown_period);
  put_optional(out, "idleReplicaCount", spec.idle_replica_count);
  put_optional(out, "minReplicaCount", spec.min_replica_count);
  put_optional(out, "maxReplicaCount", spec.max_replica_count);
  put_object(out, "advanced", spec.advanced.has_value(),
             [&](json& a) { encode_advanced(a, *spec.advanced); });
  put_object(out, "fallback", spec.fallback.has_value(), [&](json& f) {
    f["failureThreshold"] = spec.fallback->failure_threshold;
    f["replicas"] = spec.fallback->replicas;
    put_string(f, "behavior", spec.fallback->behavior, std::string(kDefaultFallbackBehavior));
  });
  put_objects(out, "triggers", spec.triggers, encode_trigger);
  if (!out.contains("triggers")) out["triggers"] = json::array();
}

void encode_scaled_job_spec(json& out, const ScaledJobSpec& spec) {
  out["jobTargetRef"] = spec.job_target_ref.is_null() ? json::object() : spec.job_target_ref;
  put_optional(out, "pollingInterval", spec.polling_interval);
  put_optional(out, "successfulJobsHistoryLimit", spec.successful_jobs_history_limit);
  put_optional(out, "failedJobsHistoryLimit", spec.failed_jobs_history_limit);
  put_string(out, "rolloutStrategy", spec.rollout_strategy);
  const auto& rollout = spec.rollout;
  put_object(out, "rollout",
             !rollout.strategy.empty() || !rollout.propagation_policy.empty() ||
                 out.contains("rollout"),
             [&](json& r) {
               put_string(r, "strategy", rollout.strategy);
               put_string(r, "propagationPolicy", rollout.propagation_policy);
             });
  put_string(out, "envSourceContainerName", spec.env_source_container_name);
  put_optional(out, "minReplicaCount", spec.min_replica_count);
  put_optional(out, "maxReplicaCount", spec.max_replica_count);
  const auto& ss = spec.scaling_strategy;
  const bool has_strategy = !ss.strategy.empty() || ss.custom_scaling_queue_length_deduction ||
                            !ss.custom_scaling_running_job_percentage.empty() ||
                            !ss.pending_pod_conditions.empty() ||
                            !ss.multiple_scalers_calculation.empty();
  put_object(out, "scalingStrategy", has_strategy || out.contains("scalingStrategy"),
             [&](json& s) {
               put_string(s, "strategy", ss.strategy);
               put_optional(s, "customScalingQueueLengthDeduction",
                            ss.custom_scaling_queue_length_deduction);
               put_string(s, "customScalingRunningJobPercentage",
                          ss.custom_scaling_running_job_percentage);
               put_container(s, "pendingPodConditions", ss.pending_pod_conditions);
               put_string(s, "multipleScalersCalculation", ss.multiple_scalers_calculation);
             });
  put_objects(out, "triggers", spec.triggers, encode_trigger);
  if (!out.contains("triggers")) out["triggers"] = json::array();
}

void encode_target_ref(json& out, const SecretTargetRef& ref) {
  out["parameter"] = ref.parameter;
  out["name"] = ref.name;
  out["key"] = ref.key;
}

void encode_oauth2(json& out, const OAuth2& o) {
  put_string(out, "type", o.type, std::string(kOAuth2ClientCredentials));
  out["clientId"] = o.client_id;
  if (o.client_secret) {
    out["clientSecret"] = {
        {"valueFrom",
         {{"secretKeyRef", {{"name", o.client_secret->name}, {"key", o.client_secret->key}}}}}};
  } else {
    out.erase("clientSecret");
  }
  out["tokenUrl"] = o.token_url;
  put_container(out, "scopes", o.scopes);
  put_container(out, "tokenUrlParams", o.token_url_params);
}

void encode_trigger_authentication_spec(json& out, const TriggerAuthenticationSpec& spec) {
  put_objects(out, "secretTargetRef", spec.secret_target_ref, encode_target_ref);
  put_objects(out, "configMapTargetRef", spec.config_map_target_ref, encode_target_ref);
  put_objects(out, "env", spec.env, [](json& e, const EnvTargetRef& ref) {
    e["parameter"] = ref.parameter;
    e["name"] = ref.name;
    put_string(e, "containerName", ref.container_name);
  });
  put_objects(out, "boundServiceAccountToken", spec.bound_service_account_token,
              [](json& b, const BoundServiceAccountToken& t) {
                b["parameter"] = t.parameter;
                b["serviceAccountName"] = t.service_account_name;
              });
  put_object(out, "podIdentity", spec.pod_identity.has_value(), [&](json& p) {
    const auto& id = *spec.pod_identity;
    p["provider"] = id.provider;
    put_optional_string(p, "identityId", id.identity_id);
    put_optional_string(p, "identityTenantId", id.identity_tenant_id);
    put_optional_string(p, "identityAuthorityHost", id.identity_authority_host);
    put_optional_string(p, "roleArn", id.role_arn);
    put_optional_string(p, "externalID", id.external_id);
    put_optional_string(p, "identityOwner", id.identity_owner);
  });
  put_string(out, "filePath", spec.file_path);
  put_object(out, "oauth2", spec.oauth2.has_value(),
             [&](json& o) { encode_oauth2(o, *spec.oauth2); });
  put_raw(out, "hashiCorpVault", spec.hashicorp_vault);
  put_raw(out, "azureKeyVault", spec.azure_key_vault);
  put_raw(out, "gcpSecretManager", spec.gcp_secret_manager);
  put_raw(out, "awsSecretManager", spec.aws_secret_manager);
}

template <class T, class EncodeSpec>
void encode_object(json& out, const T& object, EncodeSpec&& encode_spec) {
  out = object.raw.is_object() ? object.raw : json::object();
  out["apiVersion"] = object.api_version;
  out["kind"] = object.kind;
  put_object(out, "metadata", true, [&](json& m) { encode_meta(m, object.metadata); });
  put_object(out, "spec", true, [&](json& s) { encode_spec(s, object.spec); });
  put_raw(out, "status", object.status);
}

}  // namespace

void to_json(json& out, const ObjectMeta& meta) {
  out = json::object();
  encode_meta(out, meta);
}

void to_json(json& out, const ScaledObject& so) {
  encode_object(out, so, encode_scaled_object_spec);
}

void to_json(json& out, const ScaledJob& sj) { encode_object(out, sj, encode_scaled_job_spec); }

void to_json(json& out, const TriggerAuthentication& ta) {
  encode_object(out, ta, encode_trigger_authentication_spec);
}

}  // namespace ebb::api
