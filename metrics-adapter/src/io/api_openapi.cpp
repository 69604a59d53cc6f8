// The documents the external metrics API serves besides metric values: discovery (what
// kube-apiserver's aggregator checks to mark the APIService available), the OpenAPI v2 and v3
// documents it merges into the cluster's, and the metav1 Status error body.
#include <cstdint>
#include <cstdio>

#include "api_internal.h"

namespace ebb::adapter::detail {

namespace {

const char* const kValueList =
    "io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList";
const char* const kValue = "io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValue";
const char* const kQuantity = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const char* const kTime = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
const char* const kListMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const char* const kResourceList = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";
const char* const kResource = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResource";
const char* const kStatus = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const char* const kStatusDetails = "io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails";
const char* const kStatusCause = "io.k8s.apimachinery.pkg.apis.meta.v1.StatusCause";

OrderedJson group_version_entry() {
  return {{"groupVersion", kGroupVersion}, {"version", kVersion}};
}

OrderedJson group_object() {
  return {{"name", kGroup},
          {"versions", OrderedJson::array({group_version_entry()})},
          {"preferredVersion", group_version_entry()}};
}

OrderedJson string_property(const char* description) {
  return {{"description", description}, {"type", "string"}};
}

// The schemas both OpenAPI versions share; `ref` is "#/definitions/" (v2) or
// "#/components/schemas/" (v3).
OrderedJson schemas(const std::string& ref) {
  auto to = [&](const char* name) { return OrderedJson{{"$ref", ref + name}}; };
  OrderedJson s = OrderedJson::object();
  s[kValueList] = {
      {"description",
       "ExternalMetricValueList is a list of values for a given metric for some set labels"},
      {"type", "object"},
      {"required", {"items"}},
      {"properties",
       {{"apiVersion",
         string_property(
             "APIVersion defines the versioned schema of this representation of an object.")},
        {"items",
         {{"description", "value of the metric matching a given set of labels"},
          {"type", "array"},
          {"items", to(kValue)}}},
        {"kind",
         string_property(
             "Kind is a string value representing the REST resource this object represents.")},
        {"metadata", to(kListMeta)}}},
      {"x-kubernetes-group-version-kind",
       OrderedJson::array(
           {{{"group", kGroup}, {"kind", "ExternalMetricValueList"}, {"version", kVersion}}})}};
  s[kValue] = {
      {"description",
       "ExternalMetricValue is a metric value for external metric. A single metric value is "
       "identified "
       "by metric name and a set of string labels. For one metric there can be multiple values "
       "with "
       "different sets of labels."},
      {"type", "object"},
      {"required", {"metricName", "metricLabels", "timestamp", "value"}},
      {"properties",
       {{"metricLabels",
         {{"description", "a set of labels that identify a single time series for the metric"},
          {"type", "object"},
          {"additionalProperties", {{"type", "string"}}}}},
        {"metricName", string_property("the name of the metric")},
        {"timestamp", to(kTime)},
        {"value", to(kQuantity)},
        {"window",
         {{"description",
           "the window ([Timestamp-Window, Timestamp]) from which these metrics were calculated"},
          {"type", "integer"},
          {"format", "int64"}}}}}};
  s[kQuantity] = {{"description",
                   "A Kubernetes quantity: a fixed-point number with an optional suffix (\"42\", "
                   "\"250m\", \"1k\")."},
                  {"type", "string"}};
  s[kTime] = {{"description", "Time in RFC 3339 form, second precision."},
              {"type", "string"},
              {"format", "date-time"}};
  s[kListMeta] = {
      {"description", "ListMeta describes metadata that synthetic resources must have."},
      {"type", "object"},
      {"properties",
       {{"continue",
         string_property(
             "continue may be set if the user set a limit on the number of items returned.")},
        {"remainingItemCount",
         {{"description",
           "the number of subsequent items in the list which are not included in this list "
           "response"},
          {"type", "integer"},
          {"format", "int64"}}},
        {"resourceVersion", string_property("the server's internal version of this object")},
        {"selfLink", string_property("Deprecated: selfLink is a legacy read-only field.")}}}};
  s[kResource] = {
      {"description", "APIResource specifies the name of a resource and whether it is namespaced."},
      {"type", "object"},
      {"required", {"name", "singularName", "namespaced", "kind", "verbs"}},
      {"properties",
       {{"categories", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"group", string_property("the preferred group of the resource")},
        {"kind", string_property("the kind for the resource")},
        {"name", string_property("the plural name of the resource")},
        {"namespaced", {{"description", "whether a resource is namespaced"}, {"type", "boolean"}}},
        {"shortNames", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"singularName", string_property("the singular name of the resource")},
        {"storageVersionHash", string_property("a hash of the storage version")},
        {"verbs",
         {{"description", "the list of supported verbs"},
          {"type", "array"},
          {"items", {{"type", "string"}}}}},
        {"version", string_property("the preferred version of the resource")}}}};
  s[kResourceList] = {
      {"description",
       "APIResourceList is a list of APIResource, used to expose the name of the resources "
       "supported in "
       "a specific group and version."},
      {"type", "object"},
      {"required", {"groupVersion", "resources"}},
      {"properties",
       {{"apiVersion", string_property("APIVersion of this representation")},
        {"groupVersion", string_property("the group and version this APIResourceList is for")},
        {"kind", string_property("Kind of this representation")},
        {"resources", {{"type", "array"}, {"items", to(kResource)}}}}},
      {"x-kubernetes-group-version-kind",
       OrderedJson::array({{{"group", ""}, {"kind", "APIResourceList"}, {"version", "v1"}}})}};
  s[kStatusCause] = {
      {"description", "StatusCause provides more information about an api.Status failure."},
      {"type", "object"},
      {"properties",
       {{"field", string_property("the field of the resource that caused the error")},
        {"message", string_property("a human-readable description of the cause")},
        {"reason", string_property("a machine-readable description of the cause")}}}};
  s[kStatusDetails] = {
      {"description",
       "StatusDetails is a set of additional properties that MAY be set by the server."},
      {"type", "object"},
      {"properties",
       {{"causes", {{"type", "array"}, {"items", to(kStatusCause)}}},
        {"group", string_property("the group attribute of the resource")},
        {"kind", string_property("the kind attribute of the resource")},
        {"name", string_property("the name attribute of the resource")},
        {"retryAfterSeconds", {{"type", "integer"}, {"format", "int32"}}},
        {"uid", string_property("the UID of the resource")}}}};
  s[kStatus] = {
      {"description", "Status is a return value for calls that do not return other objects."},
      {"type", "object"},
      {"properties",
       {{"apiVersion", string_property("APIVersion of this representation")},
        {"code",
         {{"description", "Suggested HTTP return code"}, {"type", "integer"}, {"format", "int32"}}},
        {"details", to(kStatusDetails)},
        {"kind", string_property("Kind of this representation")},
        {"message", string_property("A human-readable description of the status")},
        {"metadata", to(kListMeta)},
        {"reason",
         string_property("A machine-readable description of why this operation is Failure")},
        {"status", string_property("Status of the operation: Success or Failure")}}},
      {"x-kubernetes-group-version-kind",
       OrderedJson::array({{{"group", ""}, {"kind", "Status"}, {"version", "v1"}}})}};
  return s;
}

const std::string kMetricPath =
    std::string(kGroupVersionPath) + "/namespaces/{namespace}/{metricName}";
const std::string kResourcesPath = std::string(kGroupVersionPath) + "/";

OrderedJson info() {
  return {{"title", "Ebb external metrics API"},
          {"description", "external.metrics.k8s.io/v1beta1 as served by ebb-metrics-adapter"},
          {"version", kVersion}};
}

// The two OpenAPI dialects kube-apiserver fetches differ in where schemas live, how a response
// and a parameter refer to them, and a few fields only Swagger 2.0 has; the paths are the same.
struct Dialect {
  bool swagger2 = false;
  std::string ref() const { return swagger2 ? "#/definitions/" : "#/components/schemas/"; }
  OrderedJson response(const char* description, const char* schema) const {
    if (swagger2) return {{"description", description}, {"schema", {{"$ref", ref() + schema}}}};
    return {{"description", description}, {"content", {{"application/json", {{"schema", {{"$ref", ref() + schema}}}}}}}};
  }
  OrderedJson param(const char* name, const char* in, const char* description, bool required) const {
    OrderedJson p = {{"name", name}, {"in", in}, {"description", description}};
    if (required) p["required"] = true;
    if (swagger2) {
      p["type"] = "string";
      p["uniqueItems"] = true;
    } else {
      p["schema"] = {{"type", "string"}, {"uniqueItems", true}};
    }
    return p;
  }
  // What every operation starts with; Swagger 2.0 also lists media types and schemes.
  OrderedJson operation(const char* description, const char* operation_id, const char* consumes) const {
    OrderedJson op = {{"description", description}};
    if (swagger2) {
      op["consumes"] = {consumes};
      op["produces"] = {"application/json"};
      op["schemes"] = {"https"};
    }
    op["tags"] = {"externalMetrics_v1beta1"};
    op["operationId"] = operation_id;
    return op;
  }
};

std::string build(const Dialect& d) {
  OrderedJson doc;
  if (d.swagger2)
    doc["swagger"] = "2.0";
  else
    doc["openapi"] = "3.0.0";
  doc["info"] = info();
  doc["paths"] = OrderedJson::object();
  auto resources = d.operation("get available resources", "getExternalMetricsV1beta1APIResources", "application/json");
  resources["responses"] = {{"200", d.response("OK", kResourceList)}, {"401", {{"description", "Unauthorized"}}}};
  doc["paths"][kResourcesPath] = {{"get", resources}};
  auto list = d.operation("list the values of an external metric in a namespace",
                          "listExternalMetricsV1beta1NamespacedExternalMetricValue", "*/*");
  list["responses"] = {{"200", d.response("OK", kValueList)},
                       {"401", {{"description", "Unauthorized"}}},
                       {"403", d.response("Forbidden", kStatus)},
                       {"404", d.response("Not Found", kStatus)},
                       {"500", d.response("Internal Server Error", kStatus)}};
  list["x-kubernetes-action"] = "list";
  list["x-kubernetes-group-version-kind"] = {{"group", kGroup}, {"kind", "ExternalMetricValueList"}, {"version", kVersion}};
  doc["paths"][kMetricPath] = {
      {"get", list},
      {"parameters",
       OrderedJson::array(
           {d.param("namespace", "path", "object name and auth scope, such as for teams and projects", true),
            d.param("metricName", "path", "the name of the metric (the HPA's external metric name)", true),
            d.param("labelSelector", "query", "selects the scaled object (scaledobject.keda.sh/name=<name>)",
                    false)})}};
  const OrderedJson bearer = {{"BearerToken",
                               {{"description", "Bearer Token authentication"},
                                {"type", "apiKey"},
                                {"name", "authorization"},
                                {"in", "header"}}}};
  if (d.swagger2) {
    doc["definitions"] = schemas(d.ref());
    doc["securityDefinitions"] = bearer;
  } else {
    doc["components"] = {{"schemas", schemas(d.ref())}, {"securitySchemes", bearer}};
  }
  doc["security"] = OrderedJson::array({{{"BearerToken", OrderedJson::array()}}});
  return doc.dump();
}

std::string build_v2() { return build(Dialect{.swagger2 = true}); }
std::string build_v3() { return build(Dialect{.swagger2 = false}); }

// FNV-1a, 64 bits: the index only needs a content hash that changes with the document.
std::string content_hash(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char out[17];
  std::snprintf(out, sizeof(out), "%016llX", static_cast<unsigned long long>(h));
  return out;
}

}  // namespace

std::string status_body(int code, const std::string& reason, const std::string& message,
                        const OrderedJson& details) {
  OrderedJson s;
  s["kind"] = "Status";
  s["apiVersion"] = "v1";
  s["metadata"] = OrderedJson::object();
  s["status"] = "Failure";
  s["message"] = message;
  if (!reason.empty()) s["reason"] = reason;
  if (!details.is_null()) s["details"] = details;
  s["code"] = code;
  return s.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string api_group_list() {
  OrderedJson doc;
  doc["kind"] = "APIGroupList";
  doc["apiVersion"] = "v1";
  doc["groups"] = OrderedJson::array({group_object()});
  return doc.dump();
}

std::string api_group() {
  OrderedJson doc;
  doc["kind"] = "APIGroup";
  doc["apiVersion"] = "v1";
  const OrderedJson group = group_object();
  for (const auto& [k, v] : group.items()) doc[k] = v;
  return doc.dump();
}

std::string api_resource_list() {
  OrderedJson doc;
  doc["kind"] = "APIResourceList";
  doc["apiVersion"] = "v1";
  doc["groupVersion"] = kGroupVersion;
  // Metric names are not enumerated: one placeholder resource, as KEDA (and the
  // custom-metrics-apiserver library's default provider) serve it.
  doc["resources"] = OrderedJson::array({{{"name", "externalmetric"},
                                          {"singularName", ""},
                                          {"namespaced", true},
                                          {"kind", "ExternalMetricValueList"},
                                          {"verbs", {"get"}}}});
  return doc.dump();
}

const std::string& openapi_v2() {
  static const std::string doc = build_v2();
  return doc;
}

const std::string& openapi_v3_group_version() {
  static const std::string doc = build_v3();
  return doc;
}

const std::string& openapi_v3_group_version_hash() {
  static const std::string hash = content_hash(openapi_v3_group_version());
  return hash;
}

std::string openapi_v3_index() {
  OrderedJson doc;
  doc["paths"] = OrderedJson::object();
  doc["paths"]["apis/external.metrics.k8s.io/v1beta1"] = {
      {"serverRelativeURL",
       std::string(kOpenApiV3GroupVersionPath) + "?hash=" + openapi_v3_group_version_hash()}};
  return doc.dump();
}

}  // namespace ebb::adapter::detail
