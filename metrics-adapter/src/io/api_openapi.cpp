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

std::string build_v2() {
  const std::string ref = "#/definitions/";
  auto response = [&](const char* description, const char* schema) {
    return OrderedJson{{"description", description}, {"schema", {{"$ref", ref + schema}}}};
  };
  OrderedJson doc;
  doc["swagger"] = "2.0";
  doc["info"] = info();
  doc["paths"] = OrderedJson::object();
  doc["paths"][kResourcesPath] = {
      {"get",
       {{"description", "get available resources"},
        {"consumes", {"application/json"}},
        {"produces", {"application/json"}},
        {"schemes", {"https"}},
        {"tags", {"externalMetrics_v1beta1"}},
        {"operationId", "getExternalMetricsV1beta1APIResources"},
        {"responses",
         {{"200", response("OK", kResourceList)}, {"401", {{"description", "Unauthorized"}}}}}}}};
  doc["paths"][kMetricPath] = {
      {"get",
       {{"description", "list the values of an external metric in a namespace"},
        {"consumes", {"*/*"}},
        {"produces", {"application/json"}},
        {"schemes", {"https"}},
        {"tags", {"externalMetrics_v1beta1"}},
        {"operationId", "listExternalMetricsV1beta1NamespacedExternalMetricValue"},
        {"responses",
         {{"200", response("OK", kValueList)},
          {"401", {{"description", "Unauthorized"}}},
          {"403", response("Forbidden", kStatus)},
          {"404", response("Not Found", kStatus)},
          {"500", response("Internal Server Error", kStatus)}}},
        {"x-kubernetes-action", "list"},
        {"x-kubernetes-group-version-kind",
         {{"group", kGroup}, {"kind", "ExternalMetricValueList"}, {"version", kVersion}}}}},
      {"parameters",
       OrderedJson::array(
           {{{"name", "namespace"},
             {"in", "path"},
             {"description", "object name and auth scope, such as for teams and projects"},
             {"required", true},
             {"type", "string"},
             {"uniqueItems", true}},
            {{"name", "metricName"},
             {"in", "path"},
             {"description", "the name of the metric (the HPA's external metric name)"},
             {"required", true},
             {"type", "string"},
             {"uniqueItems", true}},
            {{"name", "labelSelector"},
             {"in", "query"},
             {"description", "selects the scaled object (scaledobject.keda.sh/name=<name>)"},
             {"type", "string"},
             {"uniqueItems", true}}})}};
  doc["definitions"] = schemas(ref);
  doc["securityDefinitions"] = {{"BearerToken",
                                 {{"description", "Bearer Token authentication"},
                                  {"type", "apiKey"},
                                  {"name", "authorization"},
                                  {"in", "header"}}}};
  doc["security"] = OrderedJson::array({{{"BearerToken", OrderedJson::array()}}});
  return doc.dump();
}

std::string build_v3() {
  const std::string ref = "#/components/schemas/";
  auto response = [&](const char* description, const char* schema) {
    return OrderedJson{{"description", description},
                       {"content", {{"application/json", {{"schema", {{"$ref", ref + schema}}}}}}}};
  };
  auto param = [](const char* name, const char* in, const char* description, bool required) {
    OrderedJson p = {{"name", name}, {"in", in}, {"description", description}};
    if (required) p["required"] = true;
    p["schema"] = {{"type", "string"}, {"uniqueItems", true}};
    return p;
  };
  OrderedJson doc;
  doc["openapi"] = "3.0.0";
  doc["info"] = info();
  doc["paths"] = OrderedJson::object();
  doc["paths"][kResourcesPath] = {
      {"get",
       {{"tags", {"externalMetrics_v1beta1"}},
        {"description", "get available resources"},
        {"operationId", "getExternalMetricsV1beta1APIResources"},
        {"responses",
         {{"200", response("OK", kResourceList)}, {"401", {{"description", "Unauthorized"}}}}}}}};
  doc["paths"][kMetricPath] = {
      {"get",
       {{"tags", {"externalMetrics_v1beta1"}},
        {"description", "list the values of an external metric in a namespace"},
        {"operationId", "listExternalMetricsV1beta1NamespacedExternalMetricValue"},
        {"responses",
         {{"200", response("OK", kValueList)},
          {"401", {{"description", "Unauthorized"}}},
          {"403", response("Forbidden", kStatus)},
          {"404", response("Not Found", kStatus)},
          {"500", response("Internal Server Error", kStatus)}}},
        {"x-kubernetes-action", "list"},
        {"x-kubernetes-group-version-kind",
         {{"group", kGroup}, {"kind", "ExternalMetricValueList"}, {"version", kVersion}}}}},
      {"parameters",
       OrderedJson::array(
           {param("namespace", "path", "object name and auth scope, such as for teams and projects",
                  true),
            param("metricName", "path", "the name of the metric (the HPA's external metric name)",
                  true),
            param("labelSelector", "query",
                  "selects the scaled object (scaledobject.keda.sh/name=<name>)", false)})}};
  doc["components"] = {{"schemas", schemas(ref)},
                       {"securitySchemes",
                        {{"BearerToken",
                          {{"description", "Bearer Token authentication"},
                           {"type", "apiKey"},
                           {"name", "authorization"},
                           {"in", "header"}}}}}};
  doc["security"] = OrderedJson::array({{{"BearerToken", OrderedJson::array()}}});
  return doc.dump();
}

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
