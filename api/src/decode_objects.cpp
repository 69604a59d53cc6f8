// Typed decoding of ScaledObject, ScaledJob and (Cluster)TriggerAuthentication from JSON values.
#include "decode_objects.h"

#include "messages.h"
#include "object_reader.h"
#include "schema.h"

namespace ebb::api::detail {

using nlohmann::json;

namespace {

void read_metadata(ObjectReader& r, ObjectMeta& meta) {
  r.string("name", meta.name);
  r.string("generateName", meta.generate_name);
  r.string("namespace", meta.namespace_);
  r.string("uid", meta.uid);
  r.string("resourceVersion", meta.resource_version);
  r.int64("generation", meta.generation);
  r.string_map("labels", meta.labels);
  r.string_map("annotations", meta.annotations);
  r.string_list("finalizers", meta.finalizers);
  r.string("creationTimestamp", meta.creation_timestamp);
  r.string("deletionTimestamp", meta.deletion_timestamp);
  r.raw("ownerReferences", meta.owner_references);
  // Server-maintained members Ebb never reads; known so they are not "unknown fields".
  std::optional<json> ignored;
  r.raw("selfLink", ignored);
  r.raw("managedFields", ignored);
  r.raw("deletionGracePeriodSeconds", ignored);
}

void read_scale_target_ref(ObjectReader& r, ScaleTargetRef& ref) {
  r.string("apiVersion", ref.api_version);
  r.string("kind", ref.kind);
  r.string("name", ref.name, Presence::Required);
  r.string("envSourceContainerName", ref.env_source_container_name);
}

void read_advanced(ObjectReader& r, AdvancedConfig& advanced) {
  r.boolean("restoreToOriginalReplicaCount", advanced.restore_to_original_replica_count);
  r.object("horizontalPodAutoscalerConfig", Presence::Optional, [&](ObjectReader& hr) {
    auto& hpa = advanced.horizontal_pod_autoscaler_config.emplace();
    hr.string("name", hpa.name);
    hr.raw("behavior", hpa.behavior, &hpa_behavior_schema());
  });
  r.object("scalingModifiers", Presence::Optional, [&](ObjectReader& sr) {
    auto& sm = advanced.scaling_modifiers;
    sr.string("formula", sm.formula);
    sr.string("target", sm.target);
    sr.string("activationTarget", sm.activation_target);
    sr.string("metricType", sm.metric_type);
  });
}

void read_fallback(ObjectReader& r, Fallback& fallback) {
  r.int32("failureThreshold", fallback.failure_threshold, Presence::Required);
  r.int32("replicas", fallback.replicas, Presence::Required);
  r.string("behavior", fallback.behavior);
}

void read_trigger(ObjectReader& r, ScaleTrigger& trigger) {
  r.string("type", trigger.type, Presence::Required);
  r.string("name", trigger.name);
  r.string_map("metadata", trigger.metadata, Presence::Required);
  r.object("authenticationRef", Presence::Optional, [&](ObjectReader& ar) {
    auto& ref = trigger.authentication_ref.emplace();
    ar.string("name", ref.name, Presence::Required);
    ar.string("kind", ref.kind);
  });
  r.string("metricType", trigger.metric_type);
  r.boolean("useCachedMetrics", trigger.use_cached_metrics);
}

void read_scaled_object_spec(ObjectReader& r, ScaledObjectSpec& spec) {
  r.object("scaleTargetRef", Presence::Required,
           [&](ObjectReader& sr) { read_scale_target_ref(sr, spec.scale_target_ref); });
  r.int32("pollingInterval", spec.polling_interval);
  r.int32("cooldownPeriod", spec.cooldown_period);
  r.int32("initialCooldownPeriod", spec.initial_cooldown_period);
  r.int32("idleReplicaCount", spec.idle_replica_count);
  r.int32("minReplicaCount", spec.min_replica_count);
  r.int32("maxReplicaCount", spec.max_replica_count);
  r.object("advanced", Presence::Optional,
           [&](ObjectReader& ar) { read_advanced(ar, spec.advanced.emplace()); });
  r.object("fallback", Presence::Optional,
           [&](ObjectReader& fr) { read_fallback(fr, spec.fallback.emplace()); });
  r.objects("triggers", Presence::Required,
            [&](ObjectReader& tr, std::size_t) { read_trigger(tr, spec.triggers.emplace_back()); });
}

void read_job_target_ref(ObjectReader& r, ScaledJobSpec& spec) {
  // The JobSpec stays JSON; like KEDA's CRD, only its `template` is required here.
  const auto path = child_path(r.path(), "jobTargetRef");
  auto& ctx = r.context();
  const bool present = r.has("jobTargetRef");
  std::optional<json> ref;
  r.raw("jobTargetRef", ref);
  if (!present) {
    ctx.error(path, required_value());
    return;
  }
  if (!expect_object(*ref, path, ctx)) return;
  auto it = ref->find("template");
  if (it == ref->end() || it->is_null())
    ctx.error(path + ".template", required_value());
  else if (!expect_object(*it, path + ".template", ctx))
    return;
  spec.job_target_ref = std::move(*ref);
}

void read_scaling_strategy(ObjectReader& r, JobScalingStrategy& strategy) {
  r.string("strategy", strategy.strategy);
  r.int32("customScalingQueueLengthDeduction", strategy.custom_scaling_queue_length_deduction);
  r.string("customScalingRunningJobPercentage", strategy.custom_scaling_running_job_percentage);
  r.string_list("pendingPodConditions", strategy.pending_pod_conditions);
  r.string("multipleScalersCalculation", strategy.multiple_scalers_calculation);
}

void read_scaled_job_spec(ObjectReader& r, ScaledJobSpec& spec) {
  read_job_target_ref(r, spec);
  r.int32("pollingInterval", spec.polling_interval);
  r.int32("successfulJobsHistoryLimit", spec.successful_jobs_history_limit);
  r.int32("failedJobsHistoryLimit", spec.failed_jobs_history_limit);
  r.string("rolloutStrategy", spec.rollout_strategy);
  r.object("rollout", Presence::Optional, [&](ObjectReader& rr) {
    rr.string("strategy", spec.rollout.strategy);
    rr.string("propagationPolicy", spec.rollout.propagation_policy);
  });
  r.string("envSourceContainerName", spec.env_source_container_name);
  r.int32("minReplicaCount", spec.min_replica_count);
  r.int32("maxReplicaCount", spec.max_replica_count);
  r.object("scalingStrategy", Presence::Optional,
           [&](ObjectReader& sr) { read_scaling_strategy(sr, spec.scaling_strategy); });
  // KEDA's ScaledJob CRD has no triggers[].metricType; it is read anyway so validate() can say
  // why it is wrong instead of "unknown field".
  r.objects("triggers", Presence::Required,
            [&](ObjectReader& tr, std::size_t) { read_trigger(tr, spec.triggers.emplace_back()); });
}

void read_target_refs(ObjectReader& r, std::string_view key, std::vector<SecretTargetRef>& out) {
  r.objects(key, Presence::Optional, [&](ObjectReader& er, std::size_t) {
    auto& ref = out.emplace_back();
    er.string("parameter", ref.parameter, Presence::Required);
    er.string("name", ref.name, Presence::Required);
    er.string("key", ref.key, Presence::Required);
  });
}

void read_pod_identity(ObjectReader& r, PodIdentity& identity) {
  r.string("provider", identity.provider, Presence::Required);
  r.string("identityId", identity.identity_id);
  r.string("identityTenantId", identity.identity_tenant_id);
  r.string("identityAuthorityHost", identity.identity_authority_host);
  r.string("roleArn", identity.role_arn);
  r.string("externalID", identity.external_id);
  r.string("identityOwner", identity.identity_owner);
}

void read_oauth2(ObjectReader& r, OAuth2& oauth) {
  r.string("type", oauth.type);
  r.string("clientId", oauth.client_id, Presence::Required);
  r.object("clientSecret", Presence::Optional, [&](ObjectReader& cr) {
    cr.object("valueFrom", Presence::Required, [&](ObjectReader& vr) {
      vr.object("secretKeyRef", Presence::Required, [&](ObjectReader& kr) {
        auto& ref = oauth.client_secret.emplace();
        kr.string("name", ref.name, Presence::Required);
        kr.string("key", ref.key, Presence::Required);
      });
    });
  });
  r.string("tokenUrl", oauth.token_url, Presence::Required);
  r.string_list("scopes", oauth.scopes);
  r.string_map("tokenUrlParams", oauth.token_url_params);
}

void read_trigger_authentication_spec(ObjectReader& r, TriggerAuthenticationSpec& spec) {
  read_target_refs(r, "secretTargetRef", spec.secret_target_ref);
  read_target_refs(r, "configMapTargetRef", spec.config_map_target_ref);
  r.objects("env", Presence::Optional, [&](ObjectReader& er, std::size_t) {
    auto& env = spec.env.emplace_back();
    er.string("parameter", env.parameter, Presence::Required);
    er.string("name", env.name, Presence::Required);
    er.string("containerName", env.container_name);
  });
  r.objects("boundServiceAccountToken", Presence::Optional, [&](ObjectReader& br, std::size_t) {
    auto& token = spec.bound_service_account_token.emplace_back();
    br.string("parameter", token.parameter, Presence::Required);
    br.string("serviceAccountName", token.service_account_name, Presence::Required);
  });
  r.object("podIdentity", Presence::Optional,
           [&](ObjectReader& pr) { read_pod_identity(pr, spec.pod_identity.emplace()); });
  r.string("filePath", spec.file_path);
  r.object("oauth2", Presence::Optional,
           [&](ObjectReader& orr) { read_oauth2(orr, spec.oauth2.emplace()); });
  r.raw("hashiCorpVault", spec.hashicorp_vault, &hashicorp_vault_schema());
  r.raw("azureKeyVault", spec.azure_key_vault, &azure_key_vault_schema());
  r.raw("gcpSecretManager", spec.gcp_secret_manager, &gcp_secret_manager_schema());
  r.raw("awsSecretManager", spec.aws_secret_manager, &aws_secret_manager_schema());
}

// apiVersion, kind, metadata and status are common to every object; `read_spec` does the rest.
template <class T, class ReadSpec>
bool read_object(const json& value, DecodeContext& ctx, T& out, ReadSpec&& read_spec) {
  if (!expect_object(value, "", ctx)) return false;
  ObjectReader r(value, "", ctx);
  // Optional here: items of a list response may omit them; documents are checked by the caller.
  r.string("apiVersion", out.api_version);
  r.string("kind", out.kind);
  r.object("metadata", Presence::Optional,
           [&](ObjectReader& mr) { read_metadata(mr, out.metadata); });
  r.object("spec", Presence::Required, [&](ObjectReader& sr) { read_spec(sr, out.spec); });
  r.raw("status", out.status);
  r.finish();
  out.raw = value;
  return ctx.errors.empty();
}

}  // namespace

bool read_scaled_object(const json& value, DecodeContext& ctx, ScaledObject& out) {
  return read_object(value, ctx, out, read_scaled_object_spec);
}

bool read_scaled_job(const json& value, DecodeContext& ctx, ScaledJob& out) {
  return read_object(value, ctx, out, read_scaled_job_spec);
}

bool read_trigger_authentication(const json& value, DecodeContext& ctx,
                                 TriggerAuthentication& out) {
  return read_object(value, ctx, out, read_trigger_authentication_spec);
}

}  // namespace ebb::api::detail
