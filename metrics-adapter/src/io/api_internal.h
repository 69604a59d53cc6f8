// Pieces shared by the external metrics API's translation units (api_*.cpp): the documents it
// serves (discovery, OpenAPI) and the metav1 Status body. Not part of the public interface.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ebb::adapter::detail {

inline constexpr const char* kGroup = "external.metrics.k8s.io";
inline constexpr const char* kVersion = "v1beta1";
inline constexpr const char* kGroupVersion = "external.metrics.k8s.io/v1beta1";
inline constexpr const char* kGroupPath = "/apis/external.metrics.k8s.io";
inline constexpr const char* kGroupVersionPath = "/apis/external.metrics.k8s.io/v1beta1";
inline constexpr const char* kOpenApiV3GroupVersionPath =
    "/openapi/v3/apis/external.metrics.k8s.io/v1beta1";

// Go's encoding/json writes struct fields in declaration order; clients comparing raw bodies
// with KEDA's (golden tests) see the same order from us.
using OrderedJson = nlohmann::ordered_json;

// metav1.Status with status Failure; `reason` omitted when empty (as the generic apiserver does
// for errors without one).
std::string status_body(int code, const std::string& reason, const std::string& message,
                        const OrderedJson& details = nullptr);

// Discovery: APIGroupList (/apis), APIGroup (/apis/<group>), APIResourceList
// (/apis/<group>/<version>).
std::string api_group_list();
std::string api_group();
std::string api_resource_list();

// OpenAPI: the Swagger 2.0 document (/openapi/v2), the v3 index (/openapi/v3) and the
// group-version v3 document. The index links the document with a hash of its content, as
// kube-apiserver's aggregator expects.
const std::string& openapi_v2();
const std::string& openapi_v3_group_version();
const std::string& openapi_v3_group_version_hash();
std::string openapi_v3_index();

}  // namespace ebb::adapter::detail
