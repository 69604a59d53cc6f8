// The aggregated API front end of ebb-metrics-adapter: authentication, authorization and routing
// for external.metrics.k8s.io/v1beta1, as kube-apiserver's aggregator and the HPA controller
// expect it (keda-compat §5). Transport-free: the process serves handle() on a net::HttpServer
// whose TLS carries two client CA bundles, named kRequestHeaderBundle and kClientCaBundle.
//
// Authentication, in order (as Kubernetes' delegating authenticator):
//   1. A client certificate verified by the requestheader CA bundle whose CN is in
//      allowed_names (any CN when allowed_names is empty): the user is taken from the first
//      non-empty username header, groups from all group headers, extra from the prefix headers.
//      Missing username header -> 401.
//   2. A client certificate verified by the client CA bundle: user = CN, groups = O entries.
//   3. Otherwise 401 (a certificate verified by neither bundle counts as no credentials).
//   Identity headers from anything but case 1 are ignored, never trusted.
// Paths in always_allow_paths (exact, or prefix when ending in '*') skip authentication and
// authorization (defaults /healthz, /readyz, /livez). Everything else needs an authenticated user
// and an Authorizer's yes -> else 403 with a Status naming user, verb and resource.
//
// Routes: GET /apis, /apis/external.metrics.k8s.io, /apis/external.metrics.k8s.io/v1beta1
// (discovery: one placeholder resource "externalmetric", like KEDA), /openapi/v2, /openapi/v3
// and /openapi/v3/apis/external.metrics.k8s.io/v1beta1, /healthz /livez /readyz (and their
// /<check> sub-paths), GET .../v1beta1/namespaces/{ns}/{metric}[?labelSelector=...] ->
// ExternalMetricValueList (keda-compat §5.3), errors as metav1 Status (§5.5). Other paths 404,
// other methods 405, both as Status.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ebb/adapter/provider.h"
#include "ebb/kube/client.h"
#include "ebb/net/http_server.h"
#include "ebb/result.h"

namespace ebb::adapter {

inline constexpr const char* kRequestHeaderBundle = "requestheader";
inline constexpr const char* kClientCaBundle = "client-ca";

struct AuthenticationConfig {
  std::string requestheader_client_ca_pem;  // "" = no front proxy accepted
  std::vector<std::string> requestheader_allowed_names;  // empty = any cert from that CA
  std::vector<std::string> username_headers{"X-Remote-User"};
  std::vector<std::string> group_headers{"X-Remote-Group"};
  std::vector<std::string> extra_headers_prefix{"X-Remote-Extra-"};
  std::string client_ca_pem;  // "" = no direct client certificates accepted
};

// Merges the kube-system/extension-apiserver-authentication ConfigMap (its `data`: keys
// client-ca-file, requestheader-client-ca-file, requestheader-allowed-names,
// requestheader-username-headers, requestheader-group-headers,
// requestheader-extra-headers-prefix; list values are JSON arrays) under `flags`: a value given
// by flag (non-empty) wins. Errors name the key that could not be parsed.
Result<AuthenticationConfig> merge_authentication_configmap(const kube::Object& configmap_data,
                                                            const AuthenticationConfig& flags);

struct UserInfo {
  std::string name;
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;
};

// 401 reasons are strings for the log; the client gets a generic Status.
Result<UserInfo> authenticate(const AuthenticationConfig& config, const net::ServerRequest& request);

// What is being asked, as kube-apiserver's RequestInfo resolver would say.
struct RequestAttributes {
  std::string verb;  // "get", "list" (metric reads are list on resource = metric name)
  bool resource_request = false;
  std::string group, version, resource, ns, name;  // resource requests
  std::string path;                                // non-resource requests ("/apis", "/openapi/v2")
};
// Pure: the attributes of a request (method + path + query).
RequestAttributes request_attributes(const net::ServerRequest& request);

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // true = allowed. An error (SubjectAccessReview failed) is answered 500 — never allowed.
  virtual Result<bool> authorize(const UserInfo& user, const RequestAttributes& attributes) = 0;
};

// authorization.k8s.io/v1 SubjectAccessReview through the adapter's own client, with a cache of
// answers (allowed and denied each for their TTL; 0 disables caching of that answer).
struct SubjectAccessReviewOptions {
  std::chrono::milliseconds allowed_ttl{std::chrono::seconds(10)};
  std::chrono::milliseconds denied_ttl{std::chrono::seconds(10)};
  std::size_t max_entries = 10'000;
};
class SubjectAccessReviewAuthorizer : public Authorizer {
 public:
  SubjectAccessReviewAuthorizer(kube::Client& client, SubjectAccessReviewOptions options = {});
  Result<bool> authorize(const UserInfo& user, const RequestAttributes& attributes) override;
  std::size_t reviews_sent() const;  // for tests and metrics

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

struct ExternalMetricsApiOptions {
  AuthenticationConfig authentication;
  Authorizer* authorizer = nullptr;  // null: every authenticated user is allowed
  std::vector<std::string> always_allow_paths{"/healthz", "/readyz", "/livez"};
  // /readyz and /healthz answer 200 "ok" only while this returns true (e.g. informers synced).
  std::function<bool()> ready;
  // Called once per request after it is answered (method, path, status, user or "", seconds),
  // for logs and metrics. Never sees headers or bodies.
  std::function<void(const std::string& method, const std::string& path, int status, const std::string& user,
                     double seconds)>
      on_request;
};

class ExternalMetricsApi {
 public:
  ExternalMetricsApi(MetricsProvider& provider, ExternalMetricsApiOptions options);
  net::ServerResponse handle(const net::ServerRequest& request);  // thread-safe

 private:
  MetricsProvider& provider_;
  ExternalMetricsApiOptions options_;
};

}  // namespace ebb::adapter
