// Validating admission webhook (keda-compat §3.8, §1.2): AdmissionReview v1 in, AdmissionReview
// out. The object rules come from api::validate, the ownership rules from ownership.h (the
// reconciler applies both too, ARCHITECTURE.md decision 7); only the container-request check
// needs the workload and lives here.
//
// Responses follow controller-runtime, which KEDA's webhook is built on: a denial carries
// status {code: 403, reason: Forbidden, message}, an object that cannot be read {code: 400,
// reason: BadRequest}, an allowed request {code: 200}. Unlike KEDA, which stops at the first
// failing check (in random order), the message lists every problem, joined by "; "; the reason
// label is that of the first one, in the order: validate()'s errors, then ownership, then
// container requests.
//
// Reason labels beyond KEDA's (for problems KEDA rejects without a label, or that only Ebb
// checks): invalid-name, invalid-metadata, invalid-scale-target, invalid-spec,
// workload-not-found, incorrect-trigger-authentication, malformed-request, internal-error.
//
// scalingModifiers.formula is compiled with the same evaluator the adapter runs
// (scalers::check_formula), so a formula the webhook admits is one the adapter can evaluate.
#include "ebb/operator/webhook.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <optional>

#include "ebb/api/decode.h"
#include "ebb/api/validate.h"
#include "ebb/json.h"
#include "ebb/operator/ownership.h"
#include "ebb/scalers/formula.h"
#include "ebb/scalers/quantity.h"
#include "ebb/scalers/scaled_object.h"

namespace ebb::op {

namespace {

constexpr std::string_view kAdmissionApiVersion = "admission.k8s.io/v1";
constexpr std::string_view kAdmissionKind = "AdmissionReview";

std::size_t finalizer_count(const Json& object) {
  const auto& finalizers = json_member(json_member(object, "metadata"), "finalizers");
  return finalizers.is_array() ? finalizers.size() : 0;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// A path at or below `prefix` ("spec.triggers" matches "spec.triggers[0].type").
bool under(std::string_view path, std::string_view prefix) {
  if (!starts_with(path, prefix)) return false;
  if (path.size() == prefix.size()) return true;
  const char next = path[prefix.size()];
  return next == '.' || next == '[';
}

struct Denial {
  std::string reason;
  std::string message;
};

// KEDA's Prometheus reason label for a validate() error, by the field it names.
std::string reason_for(const FieldError& e) {
  const std::string_view path = e.path;
  const std::string_view message = e.message;
  if (path == "metadata.name" || path == "spec.advanced.horizontalPodAutoscalerConfig.name") {
    if (starts_with(message, "HPA name ")) return "hpa-name-too-long";
    if (starts_with(message, "scaledobject name ") || starts_with(message, "scaledjob name "))
      return "name-too-long";
    return "invalid-name";
  }
  if (under(path, "metadata")) return "invalid-metadata";
  if (under(path, "spec.scaleTargetRef")) return "invalid-scale-target";
  if (path == "spec" || path == "spec.minReplicaCount" || path == "spec.maxReplicaCount" ||
      path == "spec.idleReplicaCount") {
    if (starts_with(message, "scaledobject has only cpu/memory triggers"))
      return "scale-to-zero-requirements-not-met";
    return "incorrect-replicas";
  }
  if (under(path, "spec.triggers")) return "incorrect-triggers";
  if (under(path, "spec.advanced.scalingModifiers")) return "scaling-modifiers";
  if (under(path, "spec.fallback")) {
    if (starts_with(message, "scalingModifiers fallback behavior requires"))
      return "scaling-modifiers-fallback";
    return "incorrect-fallback";
  }
  return "invalid-spec";
}

std::string join_messages(const std::vector<Denial>& denials) {
  std::string out;
  for (const auto& d : denials) {
    if (!out.empty()) out += "; ";
    out += d.message;
  }
  return out;
}

std::string joined(const FieldErrors& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += "; ";
    out += e.str();
  }
  return out;
}

std::vector<std::string> strings(const FieldErrors& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) out.push_back(f.str());
  return out;
}

// -- container requests (verifyCPUMemoryScalers) -----------------------------------------------

bool positive_quantity(const Json& value) {
  if (value.is_number()) return value.get<double>() > 0;
  if (!value.is_string()) return false;
  double parsed = 0;
  return scalers::parse_quantity(value.get<std::string>(), parsed) && parsed > 0;
}

// A request or a limit for the resource, above zero (a limit alone defaults the request).
bool container_sets(const Json& container, const std::string& resource) {
  const auto& resources = json_member(container, "resources");
  return positive_quantity(json_member(json_member(resources, "requests"), resource)) ||
         positive_quantity(json_member(json_member(resources, "limits"), resource));
}

// A LimitRange item of type Container with a positive default or defaultRequest.
bool limit_range_defaults(const std::vector<Json>& limit_ranges, const std::string& resource) {
  for (const auto& range : limit_ranges) {
    const auto& limits = json_member(json_member(range, "spec"), "limits");
    if (!limits.is_array()) continue;
    for (const auto& item : limits) {
      if (json_string(item, {"type"}) != "Container") continue;
      if (positive_quantity(json_member(json_member(item, "default"), resource)) ||
          positive_quantity(json_member(json_member(item, "defaultRequest"), resource)))
        return true;
    }
  }
  return false;
}

std::vector<Denial> check_container_requests(const api::ScaledObject& so, const std::string& ns,
                                             const AdmissionLookups& lookups) {
  // The resource metrics (cpu, memory) of the triggers, as the registry parses them.
  const auto& registry = lookups.registry ? *lookups.registry : scalers::Registry::builtin();
  std::vector<scalers::ResourceMetric> resources;
  for (std::size_t i = 0; i < so.spec.triggers.size(); ++i) {
    if (!registry.is_resource(so.spec.triggers[i].type)) continue;
    auto parsed = registry.parse(scalers::trigger_context(so, i));
    if (parsed && (*parsed)->metric_spec().resource) resources.push_back(*(*parsed)->metric_spec().resource);
  }
  const auto& ref = so.spec.scale_target_ref;
  if (resources.empty() || ref.name.empty()) return {};
  // KEDA reads the pod template of these two kinds only; other targets are not checked.
  const auto api_version = ref.api_version_or_default();
  const auto kind = ref.kind_or_default();
  if (api_version != "apps/v1" || (kind != "Deployment" && kind != "StatefulSet")) return {};

  std::optional<Json> workload;
  if (lookups.workload) workload = lookups.workload(api_version, kind, ns, ref.name);
  if (!workload)
    return {{"workload-not-found", "the scale target " + api_version + "." + kind + " '" +
                                       ref.name + "' was not found in namespace '" + ns +
                                       "', so its containers' cpu/memory requests cannot be "
                                       "checked"}};
  const auto& containers =
      json_member(json_member(json_member(json_member(*workload, "spec"), "template"), "spec"), "containers");
  if (!containers.is_array()) return {};

  std::optional<std::vector<Json>> limit_ranges;  // listed once, when first needed
  std::vector<Denial> denials;
  for (const auto& metric : resources) {
    const auto& resource = metric.resource;
    const auto& container_name = metric.container_name;
    for (const auto& container : containers) {
      const auto name = json_string(container, {"name"});
      if (!container_name.empty() && name != container_name) continue;
      if (container_sets(container, resource)) continue;
      if (!limit_ranges)
        limit_ranges = lookups.limit_ranges ? lookups.limit_ranges(ns) : std::vector<Json>{};
      if (limit_range_defaults(*limit_ranges, resource)) continue;
      Denial d{"missing-requests", "the scaledobject has a " + resource +
                                       " trigger but the container " + name + " doesn't have the " +
                                       resource + " request defined"};
      const bool seen = std::any_of(denials.begin(), denials.end(),
                                    [&](const Denial& o) { return o.message == d.message; });
      if (!seen) denials.push_back(std::move(d));
    }
  }
  return denials;
}

// -- responses ---------------------------------------------------------------------------------

struct Request {
  std::string uid;
  std::string operation;
  std::string ns;
  bool dry_run = false;
  const Json* object = nullptr;
  const Json* old_object = nullptr;
};

class Responder {
 public:
  explicit Responder(AdmissionOutcome& outcome) : outcome_(outcome) {}

  void set_uid(std::string uid) { uid_ = std::move(uid); }

  void allow(std::vector<std::string> warnings = {}) {
    outcome_.allowed = true;
    outcome_.reason.clear();
    outcome_.warnings = std::move(warnings);
    write(true, {{"code", 200}});
  }

  void deny(std::string reason, const std::string& message,
            std::vector<std::string> warnings = {}) {
    outcome_.allowed = false;
    outcome_.reason = std::move(reason);
    outcome_.warnings = std::move(warnings);
    write(false, {{"code", 403}, {"reason", "Forbidden"}, {"message", message}});
  }

  // The object or the review itself cannot be read.
  void bad_request(const std::string& message) {
    outcome_.allowed = false;
    outcome_.reason = "malformed-request";
    outcome_.warnings.clear();
    write(false, {{"code", 400}, {"reason", "BadRequest"}, {"message", message}});
  }

  void internal_error(const std::string& message) {
    outcome_.allowed = false;
    outcome_.reason = "internal-error";
    outcome_.warnings.clear();
    write(false, {{"code", 500}, {"reason", "InternalError"}, {"message", message}});
  }

 private:
  void write(bool allowed, Json status) {
    Json response = {{"uid", uid_}, {"allowed", allowed}, {"status", std::move(status)}};
    if (!outcome_.warnings.empty()) response["warnings"] = outcome_.warnings;
    outcome_.review = {{"apiVersion", std::string(kAdmissionApiVersion)},
                       {"kind", std::string(kAdmissionKind)},
                       {"response", std::move(response)}};
  }

  AdmissionOutcome& outcome_;
  std::string uid_;
};

// -- ScaledObject and ScaledJob ---------------------------------------------------------------

// The opening both reviews share: the object decoded leniently (the CRD on the server may be
// newer than Ebb), its namespace defaulted to the request's and recorded on the outcome; nullopt
// once a 400 has been answered because it cannot be read.
template <typename T>
std::optional<T> decode_for_review(const Request& request, std::string_view kind,
                                   Result<T, FieldErrors> (*decode)(const Json&,
                                                                    const api::DecodeOptions&,
                                                                    FieldErrors*),
                                   AdmissionOutcome& outcome, Responder& respond) {
  api::DecodeOptions decode_options;
  decode_options.strict = false;
  auto decoded = decode(*request.object, decode_options, nullptr);
  if (!decoded) {
    respond.bad_request("cannot read the " + std::string(kind) + ": " + joined(decoded.error()));
    return std::nullopt;
  }
  T object = std::move(decoded).value();
  if (object.metadata.namespace_.empty()) object.metadata.namespace_ = request.ns;
  if (outcome.ns.empty()) outcome.ns = object.metadata.namespace_;
  return object;
}

// -- ScaledObject ------------------------------------------------------------------------------

void review_scaled_object(const Request& request, const AdmissionLookups& lookups,
                          AdmissionOutcome& outcome, Responder& respond) {
  const Json& object = *request.object;
  // The controller removing its finalizer from an object that is going away must never be
  // blocked, even when the object has become invalid meanwhile (keda-compat §3.8).
  if (request.operation == "UPDATE" && request.old_object &&
      finalizer_count(object) < finalizer_count(*request.old_object) &&
      json_member(object, "spec") == json_member(*request.old_object, "spec")) {
    respond.allow();
    return;
  }

  auto decoded = decode_for_review<api::ScaledObject>(request, "ScaledObject",
                                                      &api::decode_scaled_object, outcome, respond);
  if (!decoded) return;
  auto& so = *decoded;
  const auto& ns = so.metadata.namespace_;
  Json so_json = object;  // what the conflict checks read, with the namespace defaulted too
  so_json["metadata"]["namespace"] = ns;

  const auto result =
      api::validate(so, scalers::validation_options(lookups.registry ? *lookups.registry : scalers::Registry::builtin()));
  std::vector<Denial> denials;
  for (const auto& e : result.errors) denials.push_back({reason_for(e), e.str()});

  if (!so.spec.scale_target_ref.name.empty()) {
    const auto others = lookups.scaled_objects ? lookups.scaled_objects(so_json) : std::vector<Json>{};
    const auto hpas = lookups.hpas ? lookups.hpas(so_json) : std::vector<Json>{};
    if (auto c = scaled_object_conflict(so_json, others, hpas, ConflictMode::webhook))
      denials.push_back({c->reason, c->message});
    if (auto c = foreign_hpa_conflict(so_json, hpas)) denials.push_back({c->reason, c->message});
  }

  // KEDA skips this on dry-run: a server-side dry run must not depend on the workload existing.
  if (!request.dry_run)
    for (auto& d : check_container_requests(so, ns, lookups)) denials.push_back(std::move(d));

  auto warnings = strings(result.warnings);
  if (denials.empty())
    respond.allow(std::move(warnings));
  else
    respond.deny(denials.front().reason, join_messages(denials), std::move(warnings));
}

// -- ScaledJob ---------------------------------------------------------------------------------

// KEDA's ScaledJob webhook runs ValidateTriggers and nothing else (the rest is the CRD schema's
// job). validate() holds those rules plus the few without which the adapter refuses to run the
// ScaledJob (a trigger type Ebb does not run, metricType, a name too long for the Jobs' label),
// so every error it reports is denied: an admitted ScaledJob is one the adapter runs. On a real
// API server the schema rejects first, so only those trigger and name rules reach this point.
void review_scaled_job(const Request& request, const AdmissionLookups& lookups,
                       AdmissionOutcome& outcome, Responder& respond) {
  const Json& object = *request.object;
  // KEDA's shortcut for ScaledJobs: its only finalizer removed, the spec unchanged.
  if (request.operation == "UPDATE" && request.old_object && finalizer_count(object) == 0 &&
      finalizer_count(*request.old_object) == 1 &&
      json_member(object, "spec") == json_member(*request.old_object, "spec")) {
    respond.allow();
    return;
  }
  auto sj = decode_for_review<api::ScaledJob>(request, "ScaledJob", &api::decode_scaled_job,
                                              outcome, respond);
  if (!sj) return;

  const auto& registry = lookups.registry ? *lookups.registry : scalers::Registry::builtin();
  const auto result = api::validate(*sj, scalers::validation_options(registry));
  auto warnings = strings(result.warnings);
  if (result.ok()) {
    respond.allow(std::move(warnings));
    return;
  }
  std::vector<Denial> denials;
  for (const auto& e : result.errors) denials.push_back({reason_for(e), e.str()});
  respond.deny(denials.front().reason, join_messages(denials), std::move(warnings));
}

// -- TriggerAuthentication / ClusterTriggerAuthentication --------------------------------------

void review_trigger_authentication(const Request& request, std::string_view expected_kind,
                                   Responder& respond) {
  const Json& object = *request.object;
  // KEDA's shortcut for TA/CTA is narrower than for ScaledObjects: its only finalizer removed.
  if (request.operation == "UPDATE" && request.old_object && finalizer_count(object) == 0 &&
      finalizer_count(*request.old_object) == 1 &&
      json_member(object, "spec") == json_member(*request.old_object, "spec")) {
    respond.allow();
    return;
  }
  const auto kind = json_string(object, {"kind"});
  if (kind != expected_kind) {
    respond.bad_request("expected a " + std::string(expected_kind) + " at this path, got kind '" +
                        kind + "'");
    return;
  }
  api::DecodeOptions decode_options;
  decode_options.strict = false;
  auto decoded = api::decode_trigger_authentication(object, decode_options);
  if (!decoded) {
    respond.bad_request("cannot read the " + std::string(expected_kind) + ": " +
                        joined(decoded.error()));
    return;
  }
  const auto result = api::validate(decoded.value());
  auto warnings = strings(result.warnings);
  if (result.ok())
    respond.allow(std::move(warnings));
  else
    respond.deny("incorrect-trigger-authentication", joined(result.errors), std::move(warnings));
}

enum class Resource {
  scaled_object,
  scaled_job,
  trigger_authentication,
  cluster_trigger_authentication
};

std::optional<Resource> resource_for(std::string_view path) {
  if (path == kScaledObjectWebhookPath) return Resource::scaled_object;
  if (path == kScaledJobWebhookPath) return Resource::scaled_job;
  if (path == kTriggerAuthenticationWebhookPath) return Resource::trigger_authentication;
  if (path == kClusterTriggerAuthenticationWebhookPath)
    return Resource::cluster_trigger_authentication;
  return std::nullopt;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

std::optional<AdmissionOutcome> review(std::string_view path, const Json& admission_review,
                                       const AdmissionLookups& lookups) {
  const auto resource = resource_for(path);
  if (!resource) return std::nullopt;

  AdmissionOutcome outcome;
  Responder respond(outcome);

  const auto& api_version = json_member(admission_review, "apiVersion");
  const auto& kind = json_member(admission_review, "kind");
  const auto& request_json = json_member(admission_review, "request");
  if (!admission_review.is_object()) {
    respond.bad_request("the body is not an AdmissionReview object");
    return outcome;
  }
  if (!api_version.is_null() &&
      (!api_version.is_string() || api_version.get<std::string>() != kAdmissionApiVersion)) {
    respond.bad_request("unsupported AdmissionReview apiVersion " + api_version.dump() +
                        "; this webhook speaks " + std::string(kAdmissionApiVersion));
    return outcome;
  }
  if (!kind.is_null() && (!kind.is_string() || kind.get<std::string>() != kAdmissionKind)) {
    respond.bad_request("expected kind AdmissionReview, got " + kind.dump());
    return outcome;
  }
  if (!request_json.is_object()) {
    respond.bad_request("the AdmissionReview has no request");
    return outcome;
  }

  Request request;
  request.uid = json_string(request_json, {"uid"});
  respond.set_uid(request.uid);
  if (request.uid.empty()) {
    respond.bad_request("the AdmissionReview request has no uid");
    return outcome;
  }
  request.operation = json_string(request_json, {"operation"});
  request.ns = json_string(request_json, {"namespace"});
  const auto& dry_run = json_member(request_json, "dryRun");
  request.dry_run = dry_run.is_boolean() && dry_run.get<bool>();
  outcome.ns = request.ns;
  outcome.action = lower(request.operation);

  if (request.operation == "DELETE" || request.operation == "CONNECT") {
    respond.allow();
    return outcome;
  }
  if (request.operation != "CREATE" && request.operation != "UPDATE") {
    respond.bad_request("unknown operation '" + request.operation + "'");
    return outcome;
  }
  const auto& object = json_member(request_json, "object");
  if (!object.is_object()) {
    respond.bad_request("the AdmissionReview request has no object");
    return outcome;
  }
  request.object = &object;
  if (const auto& old = json_member(request_json, "oldObject"); old.is_object())
    request.old_object = &old;

  try {
    switch (*resource) {
      case Resource::scaled_object:
        review_scaled_object(request, lookups, outcome, respond);
        break;
      case Resource::scaled_job:
        review_scaled_job(request, lookups, outcome, respond);
        break;
      case Resource::trigger_authentication:
        review_trigger_authentication(request, api::kTriggerAuthenticationKind, respond);
        break;
      case Resource::cluster_trigger_authentication:
        review_trigger_authentication(request, api::kClusterTriggerAuthenticationKind, respond);
        break;
    }
  } catch (const std::exception& e) {
    // A lookup (the caller's cache or client) failed: answer rather than drop the request.
    respond.internal_error(std::string("validation could not complete: ") + e.what());
  }
  return outcome;
}

}  // namespace ebb::op
