// The external metrics API front end over real TLS: a net::HttpServer with both client CA
// bundles serving ExternalMetricsApi::handle, called with net::HttpClient and certificates made
// by the openssl command line; SubjectAccessReviews go to the in-process test API server.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "ebb/adapter/external_metrics_api.h"
#include "ebb/kube/client.h"
#include "ebb/net/http_client.h"
#include "ebb/net/http_server.h"
#include "support.h"
#include "test_apiserver.h"

using nlohmann::json;
using namespace ebb;
using namespace ebb::adapter;
using namespace std::chrono_literals;

namespace {

// --- certificates ------------------------------------------------------------------------------

struct Pair {
  std::string cert, key;
};

struct Certs {
  std::string server_ca, server_cert, server_key;
  std::string requestheader_ca;  // the front proxy's CA
  Pair front_proxy;              // CN front-proxy-client, by requestheader_ca
  Pair other_proxy;              // CN other-proxy, by requestheader_ca
  std::string client_ca;         // direct clients' CA
  Pair alice;                    // CN alice, O team-a, O team-b, by client_ca
  Pair stranger;                 // CN front-proxy-client, by a CA nobody trusts
};

class CertMaker {
 public:
  explicit CertMaker(std::string dir) : dir_(std::move(dir)) {
    std::ofstream f(dir_ + "/openssl.cnf");
    f << "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n"
         "[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
         "subjectKeyIdentifier = hash\n"
         "[client]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = "
         "keyid\n";
  }
  // Returns the CA certificate PEM.
  std::string ca(const std::string& name) {
    openssl({"req",
             "-x509",
             "-new",
             "-config",
             cnf(),
             "-extensions",
             "ca",
             "-subj",
             "/CN=" + name,
             "-days",
             "3650",
             "-keyout",
             dir_ + "/" + name + ".key",
             "-out",
             dir_ + "/" + name + ".crt",
             "-newkey",
             "ec",
             "-pkeyopt",
             "ec_paramgen_curve:prime256v1",
             "-nodes"});
    return test::read_file(dir_ + "/" + name + ".crt");
  }
  Pair client(const std::string& ca_name, const std::string& file, const std::string& subject) {
    const std::string base = dir_ + "/" + file;
    openssl({"req", "-new", "-config", cnf(), "-subj", subject, "-keyout", base + ".key", "-out",
             base + ".csr", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"});
    openssl({"x509", "-req", "-in", base + ".csr", "-CA", dir_ + "/" + ca_name + ".crt", "-CAkey",
             dir_ + "/" + ca_name + ".key", "-CAcreateserial", "-days", "3650", "-extfile", cnf(),
             "-extensions", "client", "-out", base + ".crt"});
    return {test::read_file(base + ".crt"), test::read_file(base + ".key")};
  }

 private:
  std::string cnf() const { return dir_ + "/openssl.cnf"; }
  static void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    auto r = test::run_command(args, 30s);
    if (r.exit_code != 0) throw std::runtime_error("openssl " + args[1] + " failed: " + r.err);
  }
  std::string dir_;
};

const Certs& certs() {
  static test::TempDir dir("ebb-api-certs");
  static const Certs c = [] {
    Certs out;
    auto server = test::make_test_certs(dir.path());
    out.server_ca = server.ca_pem;
    out.server_cert = test::read_file(server.server_cert_file);
    out.server_key = test::read_file(server.server_key_file);
    CertMaker maker(dir.path());
    out.requestheader_ca = maker.ca("requestheader-ca");
    out.front_proxy = maker.client("requestheader-ca", "front-proxy", "/CN=front-proxy-client");
    out.other_proxy = maker.client("requestheader-ca", "other-proxy", "/CN=other-proxy");
    out.client_ca = maker.ca("client-ca");
    out.alice = maker.client("client-ca", "alice", "/CN=alice/O=team-a/O=team-b");
    maker.ca("stranger-ca");
    out.stranger = maker.client("stranger-ca", "stranger", "/CN=front-proxy-client");
    return out;
  }();
  return c;
}

// --- an in-test MetricsProvider ----------------------------------------------------------------

const auto kProduced = std::chrono::system_clock::time_point(std::chrono::seconds(1787220000)) +
                       750ms;  // 2026-08-20T10:00:00.750Z

class TestProvider : public MetricsProvider {
 public:
  Result<std::vector<MetricSample>, MetricError> external_metric(
      const MetricQuery& query) override {
    {
      std::lock_guard lock(mutex_);
      queries_.push_back(query);
    }
    if (query.metric == "bad-selector")
      return unexpected(MetricError{400, "BadRequest", "bad selector: no name"});
    if (query.metric == "missing") {
      return unexpected(
          MetricError{404, "NotFound", "scaledobject shop/orders has no metric \"missing\""});
    }
    if (query.metric == "broken") {
      return unexpected(
          MetricError{500, "InternalError", "metric:broken encountered error: connection refused"});
    }
    if (query.metric == "not-ready")
      return unexpected(MetricError{503, "ServiceUnavailable", "caches not synced yet"});
    if (query.metric == "throws") throw std::runtime_error("password=hunter2");
    if (query.metric == "two-values") {
      return std::vector<MetricSample>{{query.metric, "1500m", kProduced},
                                       {query.metric, "3k", kProduced + 1s}};
    }
    return std::vector<MetricSample>{{query.metric, "42", kProduced}};
  }
  std::vector<MetricQuery> queries() const {
    std::lock_guard lock(mutex_);
    return queries_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<MetricQuery> queries_;
};

// Remembers who asked what, and answers from a predicate.
class RecordingAuthorizer : public Authorizer {
 public:
  std::function<bool(const UserInfo&, const RequestAttributes&)> allow = [](auto&, auto&) {
    return true;
  };
  Result<bool> authorize(const UserInfo& user, const RequestAttributes& attributes) override {
    std::lock_guard lock(mutex);
    users.push_back(user);
    asked.push_back(attributes);
    return allow(user, attributes);
  }
  std::mutex mutex;
  std::vector<UserInfo> users;
  std::vector<RequestAttributes> asked;
};

// --- the served API and its callers ------------------------------------------------------------

enum class Who { nobody, front_proxy, other_proxy, alice, stranger };

AuthenticationConfig default_authentication() {
  AuthenticationConfig a;
  a.requestheader_client_ca_pem = certs().requestheader_ca;
  a.requestheader_allowed_names = {"front-proxy-client"};
  a.client_ca_pem = certs().client_ca;
  return a;
}

struct Served {
  TestProvider provider;
  std::unique_ptr<ExternalMetricsApi> api;
  std::unique_ptr<net::HttpServer> server;
  std::map<Who, std::unique_ptr<net::HttpClient>> clients;

  explicit Served(ExternalMetricsApiOptions options) {
    api = std::make_unique<ExternalMetricsApi>(provider, std::move(options));
    net::HttpServerOptions so;
    so.tls = net::ServerTls{};
    so.tls->cert_pem = certs().server_cert;
    so.tls->key_pem = certs().server_key;
    // The server always knows both bundles; whether each is trusted is the API's configuration.
    so.tls->client_ca_bundles = {{kRequestHeaderBundle, certs().requestheader_ca},
                                 {kClientCaBundle, certs().client_ca}};
    auto started = net::HttpServer::start(
        std::move(so), [this](const net::ServerRequest& r) { return api->handle(r); });
    if (!started) throw std::runtime_error(started.error().message);
    server = std::move(started.value());
  }
  ~Served() { server->stop(1s); }

  net::HttpClient& client(Who who) {
    auto& c = clients[who];
    if (!c) {
      net::HttpClientOptions o;
      o.tls.enabled = true;
      o.tls.ca_pem = certs().server_ca;
      const Pair* pair = nullptr;
      if (who == Who::front_proxy) pair = &certs().front_proxy;
      if (who == Who::other_proxy) pair = &certs().other_proxy;
      if (who == Who::alice) pair = &certs().alice;
      if (who == Who::stranger) pair = &certs().stranger;
      if (pair) {
        o.tls.cert_pem = pair->cert;
        o.tls.key_pem = pair->key;
      }
      c = std::make_unique<net::HttpClient>(o);
    }
    return *c;
  }

  net::HttpResponse call(Who who, const std::string& method, const std::string& target,
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::HttpRequest request;
    request.method = method;
    request.url = server->url() + target;
    request.headers = std::move(headers);
    request.timeout = 10s;
    auto response = client(who).send(request);
    if (!response) FAIL("request failed: " << response.error().message);
    return std::move(response.value());
  }
  net::HttpResponse get(Who who, const std::string& target,
                        std::vector<std::pair<std::string, std::string>> headers = {}) {
    return call(who, "GET", target, std::move(headers));
  }
};

ExternalMetricsApiOptions options_with(Authorizer* authorizer) {
  ExternalMetricsApiOptions o;
  o.authentication = default_authentication();
  o.authorizer = authorizer;
  return o;
}

const std::string kMetricTarget =
    "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/"
    "s0-redis-orders?labelSelector=scaledobject.keda.sh%2Fname%3Dorders";
const std::vector<std::pair<std::string, std::string>> kHpa = {{"X-Remote-User", "hpa"}};

void check_status(const net::HttpResponse& r, int code, const std::string& reason) {
  INFO(r.body);
  REQUIRE(r.status == code);
  CHECK(r.header("Content-Type").find("application/json") == 0);
  json s = json::parse(r.body);
  CHECK(s["kind"] == "Status");
  CHECK(s["apiVersion"] == "v1");
  CHECK(s["metadata"] == json::object());
  CHECK(s["status"] == "Failure");
  CHECK(s["code"] == code);
  CHECK(s["reason"] == reason);
  CHECK(s["message"].is_string());
}

// Every "$ref" in `doc` names an existing entry under `prefix` ("#/definitions/").
void check_refs_resolve(const json& doc, const json& node, const std::string& prefix,
                        const std::string& table) {
  if (node.is_object()) {
    for (auto& [k, v] : node.items()) {
      if (k == "$ref") {
        REQUIRE(v.is_string());
        const std::string ref = v.get<std::string>();
        REQUIRE(ref.rfind(prefix, 0) == 0);
        INFO(ref);
        json::json_pointer p(table);
        CHECK(doc.at(p).contains(ref.substr(prefix.size())));
      } else {
        check_refs_resolve(doc, v, prefix, table);
      }
    }
  } else if (node.is_array()) {
    for (const auto& v : node) check_refs_resolve(doc, v, prefix, table);
  }
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Authentication

TEST_CASE("front-proxy metric read answers the ExternalMetricValueList of keda-compat 5.3",
          "[adapter][api]") {
  RecordingAuthorizer authz;
  Served s(options_with(&authz));
  auto r = s.get(Who::front_proxy, kMetricTarget,
                 {{"X-Remote-User", "system:serviceaccount:kube-system:horizontal-pod-autoscaler"},
                  {"X-Remote-Group", "system:serviceaccounts"},
                  {"X-Remote-Group", "system:authenticated"},
                  {"X-Remote-Extra-Scopes", "a"},
                  {"X-Remote-Extra-Scopes", "b"},
                  {"X-Remote-Extra-Acme.com%2FProject", "p1"}});
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type").find("application/json") == 0);
  CHECK(
      r.body ==
      R"({"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1","metadata":{},"items":[)"
      R"({"metricName":"s0-redis-orders","metricLabels":null,"timestamp":"2026-08-20T10:00:00Z","value":"42"}]})");

  auto queries = s.provider.queries();
  REQUIRE(queries.size() == 1);
  CHECK(queries[0].ns == "shop");
  CHECK(queries[0].metric == "s0-redis-orders");
  CHECK(queries[0].label_selector == "scaledobject.keda.sh/name=orders");

  REQUIRE(authz.users.size() == 1);
  const UserInfo& u = authz.users[0];
  CHECK(u.name == "system:serviceaccount:kube-system:horizontal-pod-autoscaler");
  CHECK(u.groups == std::vector<std::string>{"system:serviceaccounts", "system:authenticated"});
  CHECK(u.extra.at("scopes") == std::vector<std::string>{"a", "b"});
  CHECK(u.extra.at("acme.com/project") == std::vector<std::string>{"p1"});
  CHECK(u.extra.size() == 2);
  const RequestAttributes& a = authz.asked[0];
  CHECK(a.resource_request);
  CHECK(a.verb == "list");
  CHECK(a.group == "external.metrics.k8s.io");
  CHECK(a.version == "v1beta1");
  CHECK(a.resource == "s0-redis-orders");
  CHECK(a.ns == "shop");
  CHECK(a.name.empty());
}

TEST_CASE("a front-proxy certificate whose CN is not an allowed name gets 401", "[adapter][api]") {
  RecordingAuthorizer authz;
  Served s(options_with(&authz));
  auto r = s.get(Who::other_proxy, kMetricTarget, {{"X-Remote-User", "mallory-user"}});
  check_status(r, 401, "Unauthorized");
  CHECK(r.body.find("mallory-user") == std::string::npos);  // nothing the client sent is echoed
  CHECK(s.provider.queries().empty());
  CHECK(authz.users.empty());
}

TEST_CASE("empty requestheader-allowed-names accepts any CN from the requestheader CA",
          "[adapter][api]") {
  RecordingAuthorizer authz;
  auto options = options_with(&authz);
  options.authentication.requestheader_allowed_names.clear();
  Served s(std::move(options));
  auto r = s.get(Who::other_proxy, kMetricTarget, kHpa);
  REQUIRE(r.status == 200);
  REQUIRE(authz.users.size() == 1);
  CHECK(authz.users[0].name == "hpa");
}

TEST_CASE("a front-proxy request without a username header gets 401", "[adapter][api]") {
  Served s(options_with(nullptr));
  check_status(s.get(Who::front_proxy, kMetricTarget), 401, "Unauthorized");
  check_status(s.get(Who::front_proxy, kMetricTarget,
                     {{"X-Remote-User", ""}, {"X-Remote-Group", "system:masters"}}),
               401, "Unauthorized");
  CHECK(s.provider.queries().empty());
}

TEST_CASE("configured header names replace X-Remote-User and X-Remote-Group", "[adapter][api]") {
  RecordingAuthorizer authz;
  auto options = options_with(&authz);
  options.authentication.username_headers = {"X-Proxy-User", "X-Fallback-User"};
  options.authentication.group_headers = {"X-Proxy-Group"};
  options.authentication.extra_headers_prefix = {"X-Proxy-Extra-"};
  Served s(std::move(options));
  // The default names are no longer identity headers.
  check_status(s.get(Who::front_proxy, kMetricTarget, kHpa), 401, "Unauthorized");
  auto r = s.get(Who::front_proxy, kMetricTarget,
                 {{"X-Fallback-User", "second"},
                  {"X-Proxy-Group", "g1"},
                  {"X-Remote-Group", "ignored"},
                  {"X-Proxy-Extra-Reason", "r"},
                  {"X-Remote-Extra-Other", "ignored"}});
  REQUIRE(r.status == 200);
  REQUIRE(authz.users.size() == 1);
  CHECK(authz.users[0].name == "second");
  CHECK(authz.users[0].groups == std::vector<std::string>{"g1"});
  CHECK(authz.users[0].extra == std::map<std::string, std::vector<std::string>>{{"reason", {"r"}}});
}

TEST_CASE("identity headers from a client-ca certificate are ignored: the user is the CN",
          "[adapter][api]") {
  RecordingAuthorizer authz;
  Served s(options_with(&authz));
  auto r = s.get(Who::alice, kMetricTarget,
                 {{"X-Remote-User", "admin"},
                  {"X-Remote-Group", "system:masters"},
                  {"X-Remote-Extra-Scopes", "all"}});
  REQUIRE(r.status == 200);
  REQUIRE(authz.users.size() == 1);
  CHECK(authz.users[0].name == "alice");
  CHECK(authz.users[0].groups == std::vector<std::string>{"team-a", "team-b"});
  CHECK(authz.users[0].extra.empty());
}

TEST_CASE("no client certificate, or one from an unknown CA, gets 401", "[adapter][api]") {
  Served s(options_with(nullptr));
  check_status(s.get(Who::nobody, kMetricTarget, kHpa), 401, "Unauthorized");
  check_status(s.get(Who::stranger, kMetricTarget, kHpa), 401, "Unauthorized");
  check_status(s.get(Who::nobody, "/apis"), 401, "Unauthorized");
  check_status(s.get(Who::nobody, "/openapi/v2"), 401, "Unauthorized");
  CHECK(s.provider.queries().empty());
}

TEST_CASE("a CA left out of the configuration is not trusted even when the TLS layer verified it",
          "[adapter][api]") {
  SECTION("no requestheader CA configured: front-proxy certificates are no identity") {
    auto options = options_with(nullptr);
    options.authentication.requestheader_client_ca_pem.clear();
    Served s(std::move(options));
    check_status(s.get(Who::front_proxy, kMetricTarget, kHpa), 401, "Unauthorized");
    CHECK(s.get(Who::alice, kMetricTarget).status == 200);
  }
  SECTION("no client CA configured: direct client certificates are no identity") {
    auto options = options_with(nullptr);
    options.authentication.client_ca_pem.clear();
    Served s(std::move(options));
    check_status(s.get(Who::alice, kMetricTarget), 401, "Unauthorized");
    CHECK(s.get(Who::front_proxy, kMetricTarget, kHpa).status == 200);
  }
}

TEST_CASE("always-allow paths answer without credentials, others do not", "[adapter][api]") {
  RecordingAuthorizer authz;
  authz.allow = [](auto&, auto&) { return false; };
  bool ready = true;
  auto options = options_with(&authz);
  options.ready = [&] { return ready; };
  Served s(std::move(options));
  for (const char* p : {"/healthz", "/livez", "/readyz"}) {
    auto r = s.get(Who::nobody, p);
    INFO(p);
    CHECK(r.status == 200);
    CHECK(r.body == "ok");
  }
  CHECK(authz.asked.empty());  // no authorization for them either
  // Exact matches only: a sub-path needs credentials (and here, the authorizer's yes).
  check_status(s.get(Who::nobody, "/healthz/ping"), 401, "Unauthorized");
  check_status(s.get(Who::alice, "/healthz/ping"), 403, "Forbidden");

  ready = false;
  CHECK(s.get(Who::nobody, "/readyz").status == 500);
  CHECK(s.get(Who::nobody, "/healthz").status == 500);
  CHECK(s.get(Who::nobody, "/livez").status == 200);
  auto verbose = s.get(Who::nobody, "/readyz?verbose");
  CHECK(verbose.status == 500);
  CHECK(verbose.body.find("[+]ping ok") != std::string::npos);
  CHECK(verbose.body.find("[-]ready failed") != std::string::npos);
}

TEST_CASE("health sub-paths and prefix always-allow patterns", "[adapter][api]") {
  bool ready = false;
  auto options = options_with(nullptr);
  options.always_allow_paths = {"/healthz*", "/livez*", "/readyz*"};
  options.ready = [&] { return ready; };
  Served s(std::move(options));
  CHECK(s.get(Who::nobody, "/healthz/ping").body == "ok");
  CHECK(s.get(Who::nobody, "/livez/ping").status == 200);
  CHECK(s.get(Who::nobody, "/readyz/ping").status == 200);
  CHECK(s.get(Who::nobody, "/readyz/ready").status == 500);
  CHECK(s.get(Who::nobody, "/livez/ready").status == 404);
  CHECK(s.get(Who::nobody, "/readyz/nonsense").status == 404);
  ready = true;
  CHECK(s.get(Who::nobody, "/readyz/ready").status == 200);
  auto verbose = s.get(Who::nobody, "/healthz?verbose=true");
  CHECK(verbose.status == 200);
  CHECK(verbose.body == "[+]ping ok\n[+]ready ok\nhealthz check passed\n");
  // The prefix pattern does not open anything else.
  check_status(s.get(Who::nobody, "/apis"), 401, "Unauthorized");
}

// ------------------------------------------------------------------------------------------------
// Authorization by SubjectAccessReview

namespace {

struct SarServer {
  std::mutex mutex;
  std::vector<json> specs;
  std::function<bool(const json&)> policy = [](const json&) { return true; };
  std::unique_ptr<testapi::TestApiServer> api;
  std::unique_ptr<kube::Client> client;

  SarServer() {
    testapi::TestApiServerOptions o;
    o.access_policy = [this](const json& spec) {
      std::lock_guard lock(mutex);
      specs.push_back(spec);
      return policy(spec);
    };
    api = std::make_unique<testapi::TestApiServer>(o);
    kube::Config config;
    config.server = api->url();
    config.token = kube::TokenSource::fixed("adapter-token");
    client = std::make_unique<kube::Client>(config);
  }
  std::vector<json> seen() {
    std::lock_guard lock(mutex);
    return specs;
  }
  std::size_t logged_reviews() const {
    std::size_t n = 0;
    for (const auto& r : api->request_log())
      n += r.path == "/apis/authorization.k8s.io/v1/subjectaccessreviews";
    return n;
  }
};

}  // namespace

TEST_CASE("SubjectAccessReview decides: allowed 200, denied 403 naming user, verb and resource",
          "[adapter][api]") {
  SarServer sar;
  sar.policy = [](const json& spec) {
    return spec.value("user", "") == "hpa" &&
           spec.value("resourceAttributes", json::object()).value("resource", "") ==
               "s0-redis-orders";
  };
  SubjectAccessReviewAuthorizer authz(*sar.client);
  Served s(options_with(&authz));

  auto ok = s.get(Who::front_proxy, kMetricTarget,
                  {{"X-Remote-User", "hpa"},
                   {"X-Remote-Group", "system:authenticated"},
                   {"X-Remote-Extra-Scopes", "x"}});
  REQUIRE(ok.status == 200);
  auto specs = sar.seen();
  REQUIRE(specs.size() == 1);
  CHECK(specs[0]["user"] == "hpa");
  CHECK(specs[0]["groups"] == json::array({"system:authenticated"}));
  CHECK(specs[0]["extra"] == json{{"scopes", {"x"}}});
  CHECK(specs[0]["resourceAttributes"] == json{{"verb", "list"},
                                               {"group", "external.metrics.k8s.io"},
                                               {"version", "v1beta1"},
                                               {"resource", "s0-redis-orders"},
                                               {"namespace", "shop"}});
  CHECK_FALSE(specs[0].contains("nonResourceAttributes"));

  auto denied =
      s.get(Who::front_proxy, "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/s1-other",
            {{"X-Remote-User", "hpa"}});
  check_status(denied, 403, "Forbidden");
  json body = json::parse(denied.body);
  CHECK(body["message"] ==
        "s1-other.external.metrics.k8s.io is forbidden: User \"hpa\" cannot list resource "
        "\"s1-other\" in API group "
        "\"external.metrics.k8s.io\" in the namespace \"shop\"");
  CHECK(body["details"] == json{{"group", "external.metrics.k8s.io"}, {"kind", "s1-other"}});
  CHECK(s.provider.queries().size() == 1);  // the denied read never reached the provider

  // Discovery is a non-resource request.
  auto discovery = s.get(Who::alice, "/openapi/v2");
  check_status(discovery, 403, "Forbidden");
  CHECK(json::parse(discovery.body)["message"] ==
        "forbidden: User \"alice\" cannot get path \"/openapi/v2\"");
  specs = sar.seen();
  REQUIRE(specs.size() == 3);
  CHECK(specs[2]["user"] == "alice");
  CHECK(specs[2]["groups"] == json::array({"team-a", "team-b"}));
  CHECK(specs[2]["nonResourceAttributes"] == json{{"path", "/openapi/v2"}, {"verb", "get"}});
  CHECK_FALSE(specs[2].contains("resourceAttributes"));
  CHECK(authz.reviews_sent() == 3);
  CHECK(sar.logged_reviews() == 3);
}

TEST_CASE("SubjectAccessReview answers are cached for their TTL, per question and user",
          "[adapter][api]") {
  SarServer sar;
  sar.policy = [](const json& spec) { return spec.value("user", "") != "denied-user"; };
  SubjectAccessReviewOptions o;
  // Long enough for a loaded machine to make the cached requests well inside it.
  o.allowed_ttl = 2s;
  o.denied_ttl = 2s;
  SubjectAccessReviewAuthorizer authz(*sar.client, o);
  Served s(options_with(&authz));

  REQUIRE(s.get(Who::front_proxy, kMetricTarget, kHpa).status == 200);
  REQUIRE(s.get(Who::front_proxy, kMetricTarget, kHpa).status == 200);
  CHECK(authz.reviews_sent() == 1);
  CHECK(sar.logged_reviews() == 1);
  CHECK(s.provider.queries().size() == 2);

  // Another user, another group set, another metric or namespace: each is its own question.
  REQUIRE(s.get(Who::front_proxy, kMetricTarget, {{"X-Remote-User", "hpa2"}}).status == 200);
  REQUIRE(
      s.get(Who::front_proxy, kMetricTarget, {{"X-Remote-User", "hpa"}, {"X-Remote-Group", "g"}})
          .status == 200);
  REQUIRE(s.get(Who::front_proxy,
                "/apis/external.metrics.k8s.io/v1beta1/namespaces/other/s0-redis-orders", kHpa)
              .status == 200);
  REQUIRE(
      s.get(Who::front_proxy, "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/s1-x", kHpa)
          .status == 200);
  CHECK(authz.reviews_sent() == 5);

  // Denials are cached too.
  check_status(s.get(Who::front_proxy, kMetricTarget, {{"X-Remote-User", "denied-user"}}), 403,
               "Forbidden");
  check_status(s.get(Who::front_proxy, kMetricTarget, {{"X-Remote-User", "denied-user"}}), 403,
               "Forbidden");
  CHECK(authz.reviews_sent() == 6);

  std::this_thread::sleep_for(2500ms);
  REQUIRE(s.get(Who::front_proxy, kMetricTarget, kHpa).status == 200);
  check_status(s.get(Who::front_proxy, kMetricTarget, {{"X-Remote-User", "denied-user"}}), 403,
               "Forbidden");
  CHECK(authz.reviews_sent() == 8);
  CHECK(sar.logged_reviews() == 8);
}

TEST_CASE("SubjectAccessReview TTL 0 never caches that answer", "[adapter][api]") {
  SarServer sar;
  sar.policy = [](const json& spec) { return spec.value("user", "") != "denied-user"; };
  SECTION("allowed not cached, denied cached") {
    SubjectAccessReviewAuthorizer authz(
        *sar.client, {.allowed_ttl = 0ms, .denied_ttl = 60s, .max_entries = 100});
    Served s(options_with(&authz));
    for (int i = 0; i < 3; ++i) REQUIRE(s.get(Who::front_proxy, kMetricTarget, kHpa).status == 200);
    CHECK(authz.reviews_sent() == 3);
    for (int i = 0; i < 3; ++i)
      REQUIRE(s.get(Who::front_proxy, kMetricTarget, {{"X-Remote-User", "denied-user"}}).status ==
              403);
    CHECK(authz.reviews_sent() == 4);
  }
  SECTION("denied not cached, allowed cached") {
    SubjectAccessReviewAuthorizer authz(
        *sar.client, {.allowed_ttl = 60s, .denied_ttl = 0ms, .max_entries = 100});
    Served s(options_with(&authz));
    for (int i = 0; i < 3; ++i) REQUIRE(s.get(Who::front_proxy, kMetricTarget, kHpa).status == 200);
    CHECK(authz.reviews_sent() == 1);
    for (int i = 0; i < 3; ++i)
      REQUIRE(s.get(Who::front_proxy, kMetricTarget, {{"X-Remote-User", "denied-user"}}).status ==
              403);
    CHECK(authz.reviews_sent() == 4);
  }
}

TEST_CASE("the SubjectAccessReview cache is bounded, oldest answers leave first",
          "[adapter][api]") {
  SarServer sar;
  SubjectAccessReviewAuthorizer authz(*sar.client,
                                      {.allowed_ttl = 60s, .denied_ttl = 60s, .max_entries = 2});
  RequestAttributes attributes{.verb = "get", .resource_request = false, .path = "/apis"};
  auto ask = [&](const std::string& user) {
    auto r = authz.authorize(UserInfo{user, {}, {}}, attributes);
    REQUIRE(r.ok());
    CHECK(*r);
  };
  ask("a");
  ask("b");
  ask("a");
  ask("b");
  CHECK(authz.reviews_sent() == 2);
  ask("c");  // evicts a
  ask("b");
  CHECK(authz.reviews_sent() == 3);
  ask("a");
  CHECK(authz.reviews_sent() == 4);
}

TEST_CASE("an unreachable SubjectAccessReview server answers 500, never allows", "[adapter][api]") {
  const std::uint16_t port = test::free_port();  // nothing listens there
  kube::Config config;
  config.server = "http://127.0.0.1:" + std::to_string(port);
  config.token = kube::TokenSource::fixed("adapter-token");
  kube::RestOptions rest;
  rest.timeout = 2s;
  rest.max_attempts = 1;
  kube::Client client(config, rest);
  SubjectAccessReviewAuthorizer authz(client);
  Served s(options_with(&authz));

  auto r = s.get(Who::front_proxy, kMetricTarget, kHpa);
  check_status(r, 500, "InternalError");
  CHECK(r.body.find("adapter-token") == std::string::npos);
  CHECK(s.provider.queries().empty());
  // Failures are not cached as answers: the next request asks again.
  check_status(s.get(Who::front_proxy, kMetricTarget, kHpa), 500, "InternalError");
  CHECK(authz.reviews_sent() == 2);

  auto direct =
      authz.authorize(UserInfo{"hpa", {}, {}}, RequestAttributes{.verb = "get", .path = "/apis"});
  REQUIRE_FALSE(direct.ok());
  CHECK(direct.error().message.find("SubjectAccessReview") != std::string::npos);
}

// ------------------------------------------------------------------------------------------------
// Routes and documents

TEST_CASE("discovery documents are what the aggregator needs", "[adapter][api]") {
  Served s(options_with(nullptr));
  auto groups = s.get(Who::alice, "/apis");
  REQUIRE(groups.status == 200);
  json g = json::parse(groups.body);
  CHECK(g["kind"] == "APIGroupList");
  CHECK(g["apiVersion"] == "v1");
  REQUIRE(g["groups"].size() == 1);
  const json version = {{"groupVersion", "external.metrics.k8s.io/v1beta1"},
                        {"version", "v1beta1"}};
  CHECK(g["groups"][0]["name"] == "external.metrics.k8s.io");
  CHECK(g["groups"][0]["versions"] == json::array({version}));
  CHECK(g["groups"][0]["preferredVersion"] == version);

  auto group = s.get(Who::alice, "/apis/external.metrics.k8s.io");
  REQUIRE(group.status == 200);
  json gr = json::parse(group.body);
  CHECK(gr["kind"] == "APIGroup");
  CHECK(gr["apiVersion"] == "v1");
  CHECK(gr["name"] == "external.metrics.k8s.io");
  CHECK(gr["versions"] == json::array({version}));
  CHECK(gr["preferredVersion"] == version);

  for (const char* p :
       {"/apis/external.metrics.k8s.io/v1beta1", "/apis/external.metrics.k8s.io/v1beta1/"}) {
    auto resources = s.get(Who::alice, p);
    REQUIRE(resources.status == 200);
    json rl = json::parse(resources.body);
    CHECK(rl["kind"] == "APIResourceList");
    CHECK(rl["apiVersion"] == "v1");
    CHECK(rl["groupVersion"] == "external.metrics.k8s.io/v1beta1");
    REQUIRE(rl["resources"].size() == 1);
    const json& r = rl["resources"][0];
    CHECK(r["name"] == "externalmetric");
    CHECK(r["namespaced"] == true);
    CHECK(r["kind"] == "ExternalMetricValueList");
    CHECK(r["verbs"] == json::array({"get"}));
    CHECK(r["singularName"] == "");
  }
}

TEST_CASE("OpenAPI v2 and v3 documents are valid and describe ExternalMetricValueList",
          "[adapter][api]") {
  Served s(options_with(nullptr));
  const std::string list =
      "io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList";
  const std::string value = "io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValue";
  const std::string metric_path =
      "/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metricName}";

  auto v2 = s.get(Who::alice, "/openapi/v2");
  REQUIRE(v2.status == 200);
  json doc = json::parse(v2.body);
  CHECK(doc["swagger"] == "2.0");
  CHECK(doc["info"]["title"].is_string());
  CHECK(doc["info"]["version"].is_string());
  REQUIRE(doc["paths"].contains(metric_path));
  const json& op = doc["paths"][metric_path]["get"];
  CHECK(op["responses"]["200"]["schema"]["$ref"] == "#/definitions/" + list);
  CHECK(op["x-kubernetes-group-version-kind"] == json{{"group", "external.metrics.k8s.io"},
                                                      {"kind", "ExternalMetricValueList"},
                                                      {"version", "v1beta1"}});
  std::set<std::string> params;
  for (const auto& p : doc["paths"][metric_path]["parameters"])
    params.insert(p["name"].get<std::string>());
  CHECK(params == std::set<std::string>{"namespace", "metricName", "labelSelector"});
  REQUIRE(doc["definitions"].contains(list));
  REQUIRE(doc["definitions"].contains(value));
  CHECK(doc["definitions"][list]["x-kubernetes-group-version-kind"][0]["kind"] ==
        "ExternalMetricValueList");
  CHECK(doc["definitions"][value]["properties"].contains("metricLabels"));
  CHECK(doc["definitions"][value]["required"] ==
        json::array({"metricName", "metricLabels", "timestamp", "value"}));
  check_refs_resolve(doc, doc, "#/definitions/", "/definitions");

  auto index = s.get(Who::alice, "/openapi/v3");
  REQUIRE(index.status == 200);
  json idx = json::parse(index.body);
  REQUIRE(idx["paths"].size() == 1);
  const std::string url = idx["paths"]["apis/external.metrics.k8s.io/v1beta1"]["serverRelativeURL"];
  CHECK(url.rfind("/openapi/v3/apis/external.metrics.k8s.io/v1beta1?hash=", 0) == 0);
  auto v3 = s.get(Who::alice, url);
  REQUIRE(v3.status == 200);
  CHECK(v3.header("ETag").find(url.substr(url.find("hash=") + 5)) != std::string::npos);
  json d3 = json::parse(v3.body);
  CHECK(d3["openapi"].get<std::string>().rfind("3.0", 0) == 0);
  REQUIRE(d3["paths"].contains(metric_path));
  CHECK(d3["paths"][metric_path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
          ["$ref"] == "#/components/schemas/" + list);
  REQUIRE(d3["components"]["schemas"].contains(list));
  check_refs_resolve(d3, d3, "#/components/schemas/", "/components/schemas");
  // The v3 path parameters carry schemas, not v2's bare types.
  for (const auto& p : d3["paths"][metric_path]["parameters"])
    CHECK(p["schema"]["type"] == "string");
}

TEST_CASE("unknown paths get 404, other methods 405, both as Status", "[adapter][api]") {
  Served s(options_with(nullptr));
  for (const char* p : {"/nothing", "/apis/other.group", "/apis/external.metrics.k8s.io/v1",
                        "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop",
                        "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/metric/extra",
                        "/apis/external.metrics.k8s.io/v1beta1/s0-cluster-scoped"}) {
    INFO(p);
    check_status(s.get(Who::alice, p), 404, "NotFound");
  }
  check_status(s.call(Who::alice, "POST", kMetricTarget), 405, "MethodNotAllowed");
  check_status(s.call(Who::alice, "DELETE", kMetricTarget), 405, "MethodNotAllowed");
  check_status(s.call(Who::alice, "POST", "/apis"), 405, "MethodNotAllowed");
  check_status(s.call(Who::alice, "PUT", "/openapi/v2"), 405, "MethodNotAllowed");
  CHECK(s.provider.queries().empty());
}

TEST_CASE("provider answers: several items, and each error kind as a Status with its code",
          "[adapter][api]") {
  Served s(options_with(nullptr));
  const std::string base = "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/";
  auto two = s.get(Who::alice, base + "two-values");
  REQUIRE(two.status == 200);
  json list = json::parse(two.body);
  REQUIRE(list["items"].size() == 2);
  CHECK(list["items"][0]["value"] == "1500m");
  CHECK(list["items"][1]["value"] == "3k");
  CHECK(list["items"][1]["timestamp"] == "2026-08-20T10:00:01Z");
  CHECK(list["items"][1]["metricLabels"].is_null());

  struct Case {
    const char* metric;
    int code;
    const char* reason;
    const char* message;
  };
  for (const Case& c :
       {Case{"bad-selector", 400, "BadRequest", "bad selector: no name"},
        Case{"missing", 404, "NotFound", "scaledobject shop/orders has no metric \"missing\""},
        Case{"broken", 500, "InternalError", "metric:broken encountered error: connection refused"},
        Case{"not-ready", 503, "ServiceUnavailable", "caches not synced yet"}}) {
    INFO(c.metric);
    auto r =
        s.get(Who::alice, base + c.metric + "?labelSelector=scaledobject.keda.sh%2Fname%3Dorders");
    check_status(r, c.code, c.reason);
    CHECK(json::parse(r.body)["message"] == c.message);
  }
  auto thrown = s.get(Who::alice, base + "throws");
  check_status(thrown, 500, "InternalError");
  CHECK(thrown.body.find("hunter2") == std::string::npos);

  // The selector is passed through raw, whatever it says.
  REQUIRE(s.get(Who::alice, base + "s0-x?labelSelector=a%20in%20(b%2Cc),!d").status == 200);
  CHECK(s.provider.queries().back().label_selector == "a in (b,c),!d");
  REQUIRE(s.get(Who::alice, base + "S0-Mixed-Case").status == 200);
  CHECK(s.provider.queries().back().metric == "S0-Mixed-Case");
  CHECK(s.provider.queries().back().label_selector.empty());
}

TEST_CASE("on_request sees method, path, status and user of every answered request",
          "[adapter][api]") {
  struct Seen {
    std::string method, path, user;
    int status;
    double seconds;
  };
  std::mutex mutex;
  std::vector<Seen> seen;
  auto options = options_with(nullptr);
  options.on_request = [&](const std::string& m, const std::string& p, int status,
                           const std::string& u, double sec) {
    std::lock_guard lock(mutex);
    seen.push_back({m, p, u, status, sec});
  };
  Served s(std::move(options));
  REQUIRE(s.get(Who::front_proxy, kMetricTarget, kHpa).status == 200);
  REQUIRE(s.get(Who::nobody, kMetricTarget, kHpa).status == 401);
  REQUIRE(s.get(Who::nobody, "/livez").status == 200);
  std::lock_guard lock(mutex);
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].path == "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/s0-redis-orders");
  CHECK(seen[0].status == 200);
  CHECK(seen[0].user == "hpa");
  CHECK(seen[0].seconds >= 0);
  CHECK(seen[1].status == 401);
  CHECK(seen[1].user.empty());
  CHECK(seen[2].path == "/livez");
  CHECK(seen[2].status == 200);
}

// ------------------------------------------------------------------------------------------------
// request_attributes (pure)

TEST_CASE("request_attributes resolves requests as kube-apiserver's RequestInfo does",
          "[adapter][api]") {
  auto attrs = [](const std::string& method, const std::string& path,
                  std::vector<std::pair<std::string, std::string>> query = {}) {
    net::ServerRequest r;
    r.method = method;
    r.path = path;
    r.target = path;
    r.query = std::move(query);
    return request_attributes(r);
  };
  auto metric =
      attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/s0-redis-orders",
            {{"labelSelector", "scaledobject.keda.sh/name=orders"}});
  CHECK(metric.resource_request);
  CHECK(metric.verb == "list");
  CHECK(metric.group == "external.metrics.k8s.io");
  CHECK(metric.version == "v1beta1");
  CHECK(metric.resource == "s0-redis-orders");
  CHECK(metric.ns == "shop");
  CHECK(metric.name.empty());

  auto watch =
      attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/m", {{"watch", "true"}});
  CHECK(watch.verb == "watch");
  auto named = attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/m/obj");
  CHECK(named.verb == "get");
  CHECK(named.name == "obj");
  auto cluster = attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/m");
  CHECK(cluster.resource_request);
  CHECK(cluster.verb == "list");
  CHECK(cluster.resource == "m");
  CHECK(cluster.ns.empty());
  auto post = attrs("POST", "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/m");
  CHECK(post.verb == "create");
  auto del = attrs("DELETE", "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/m");
  CHECK(del.verb == "deletecollection");
  auto ns = attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop");
  CHECK(ns.resource == "namespaces");
  CHECK(ns.name == "shop");
  CHECK(ns.verb == "get");
  auto core = attrs("GET", "/api/v1/namespaces/shop/pods");
  CHECK(core.resource_request);
  CHECK(core.group.empty());
  CHECK(core.version == "v1");
  CHECK(core.resource == "pods");
  CHECK(core.verb == "list");

  for (const char* p :
       {"/apis", "/apis/external.metrics.k8s.io", "/apis/external.metrics.k8s.io/v1beta1",
        "/openapi/v2", "/openapi/v3/apis/external.metrics.k8s.io/v1beta1", "/healthz/ping", "/"}) {
    INFO(p);
    auto a = attrs("GET", p);
    CHECK_FALSE(a.resource_request);
    CHECK(a.verb == "get");
    CHECK(a.path == p);
  }
  CHECK(attrs("POST", "/apis").verb == "post");
}

// ------------------------------------------------------------------------------------------------
// The extension-apiserver-authentication ConfigMap

TEST_CASE("merge_authentication_configmap reads what kube-apiserver publishes, flags win",
          "[adapter][api]") {
  testapi::TestApiServerOptions o;
  o.extension_apiserver_authentication = json{
      {"client-ca-file", certs().client_ca},
      {"requestheader-client-ca-file", certs().requestheader_ca},
      {"requestheader-allowed-names", R"(["front-proxy-client"])"},
      {"requestheader-username-headers", R"(["X-Remote-User"])"},
      {"requestheader-group-headers", R"(["X-Remote-Group"])"},
      {"requestheader-extra-headers-prefix", R"(["X-Remote-Extra-"])"},
  };
  testapi::TestApiServer apiserver(o);
  kube::Config config;
  config.server = apiserver.url();
  config.token = kube::TokenSource::fixed("adapter-token");
  kube::Client client(config);
  auto cm = client.get(kube::resources::configmaps(), "kube-system",
                       "extension-apiserver-authentication");
  REQUIRE(cm.ok());
  const kube::Object data = cm.value()["data"];

  SECTION("empty flags take everything from the ConfigMap, and it works over TLS") {
    AuthenticationConfig flags;
    auto merged = merge_authentication_configmap(data, flags);
    REQUIRE(merged.ok());
    CHECK(merged->client_ca_pem == certs().client_ca);
    CHECK(merged->requestheader_client_ca_pem == certs().requestheader_ca);
    CHECK(merged->requestheader_allowed_names == std::vector<std::string>{"front-proxy-client"});
    CHECK(merged->username_headers == std::vector<std::string>{"X-Remote-User"});

    RecordingAuthorizer authz;
    ExternalMetricsApiOptions options;
    options.authentication = *merged;
    options.authorizer = &authz;
    Served s(std::move(options));
    REQUIRE(s.get(Who::front_proxy, kMetricTarget, kHpa).status == 200);
    REQUIRE(s.get(Who::alice, kMetricTarget).status == 200);
    check_status(s.get(Who::other_proxy, kMetricTarget, kHpa), 401, "Unauthorized");
    REQUIRE(authz.users.size() == 2);
    CHECK(authz.users[0].name == "hpa");
    CHECK(authz.users[1].name == "alice");
  }
  SECTION("values given by flag win") {
    AuthenticationConfig flags;
    flags.client_ca_pem = "FLAG-CA";
    flags.requestheader_allowed_names = {"my-proxy"};
    flags.username_headers = {"X-My-User"};
    auto merged = merge_authentication_configmap(data, flags);
    REQUIRE(merged.ok());
    CHECK(merged->client_ca_pem == "FLAG-CA");
    CHECK(merged->requestheader_client_ca_pem == certs().requestheader_ca);
    CHECK(merged->requestheader_allowed_names == std::vector<std::string>{"my-proxy"});
    CHECK(merged->username_headers == std::vector<std::string>{"X-My-User"});
  }
  SECTION("header lists from the ConfigMap replace flags left at their defaults") {
    kube::Object custom = data;
    custom["requestheader-username-headers"] = R"(["X-Proxy-User","X-Remote-User"])";
    custom["requestheader-group-headers"] = "[]";
    auto merged = merge_authentication_configmap(custom, AuthenticationConfig{});
    REQUIRE(merged.ok());
    CHECK(merged->username_headers == std::vector<std::string>{"X-Proxy-User", "X-Remote-User"});
    CHECK(merged->group_headers ==
          std::vector<std::string>{"X-Remote-Group"});  // an empty list changes nothing
    // The whole ConfigMap object is understood as well as its data.
    auto whole = merge_authentication_configmap(cm.value(), AuthenticationConfig{});
    REQUIRE(whole.ok());
    CHECK(whole->client_ca_pem == certs().client_ca);
  }
}

TEST_CASE("merge_authentication_configmap errors name the key that could not be parsed",
          "[adapter][api]") {
  AuthenticationConfig flags;
  for (const char* key : {"requestheader-allowed-names", "requestheader-username-headers",
                          "requestheader-group-headers", "requestheader-extra-headers-prefix"}) {
    INFO(key);
    auto bad = merge_authentication_configmap(json{{key, "front-proxy-client"}}, flags);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find(key) != std::string::npos);
    auto not_strings = merge_authentication_configmap(json{{key, "[1,2]"}}, flags);
    REQUIRE_FALSE(not_strings.ok());
    CHECK(not_strings.error().message.find(key) != std::string::npos);
  }
  auto not_string = merge_authentication_configmap(json{{"client-ca-file", 5}}, flags);
  REQUIRE_FALSE(not_string.ok());
  CHECK(not_string.error().message.find("client-ca-file") != std::string::npos);
  // An absent ConfigMap (no data) leaves the flags as they are.
  auto empty = merge_authentication_configmap(json::object(), flags);
  REQUIRE(empty.ok());
  CHECK(empty->client_ca_pem.empty());
  CHECK(empty->username_headers == flags.username_headers);
}

// ------------------------------------------------------------------------------------------------
// authenticate() on requests as the TLS layer describes them

TEST_CASE("authenticate follows the union of Kubernetes authenticators", "[adapter][api]") {
  AuthenticationConfig config = default_authentication();
  auto request = [](std::string cn, std::vector<std::string> orgs,
                    std::vector<std::string> verified_by,
                    std::vector<std::pair<std::string, std::string>> headers) {
    net::ServerRequest r;
    r.method = "GET";
    r.path = "/apis";
    r.headers = std::move(headers);
    r.peer = net::PeerCertificate{std::move(cn), std::move(orgs), std::move(verified_by)};
    return r;
  };
  const std::vector<std::string> both = {kRequestHeaderBundle, kClientCaBundle};

  // A certificate both CAs verify: a front proxy when its name is allowed and it names a user...
  auto proxied =
      authenticate(config, request("front-proxy-client", {"o"}, both, {{"x-remote-user", "hpa"}}));
  REQUIRE(proxied.ok());
  CHECK(proxied->name == "hpa");
  CHECK(proxied->groups.empty());
  // ...else the certificate's own identity, never the headers.
  auto direct =
      authenticate(config, request("other-proxy", {"o"}, both, {{"X-Remote-User", "hpa"}}));
  REQUIRE(direct.ok());
  CHECK(direct->name == "other-proxy");
  CHECK(direct->groups == std::vector<std::string>{"o"});
  auto no_user = authenticate(config, request("front-proxy-client", {}, both, {}));
  REQUIRE(no_user.ok());
  CHECK(no_user->name == "front-proxy-client");

  // Verified by the requestheader CA only.
  auto refused = authenticate(
      config, request("other-proxy", {}, {kRequestHeaderBundle}, {{"X-Remote-User", "hpa"}}));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("requestheader-allowed-names") != std::string::npos);
  REQUIRE_FALSE(
      authenticate(config, request("front-proxy-client", {}, {kRequestHeaderBundle}, {})).ok());
  // The first non-empty username header, in configured order; groups from all group headers.
  config.username_headers = {"X-A", "X-B"};
  config.group_headers = {"X-G1", "X-G2"};
  auto ordered = authenticate(
      config, request("front-proxy-client", {}, {kRequestHeaderBundle},
                      {{"X-B", "b"}, {"X-A", ""}, {"X-A", "a"}, {"X-G2", "g2"}, {"X-G1", "g1"}}));
  REQUIRE(ordered.ok());
  CHECK(ordered->name == "a");
  CHECK(ordered->groups == std::vector<std::string>{"g1", "g2"});

  // Verified by nobody, or no certificate at all; a client certificate without a CN.
  REQUIRE_FALSE(authenticate(config, request("alice", {}, {}, {{"X-Remote-User", "hpa"}})).ok());
  net::ServerRequest bare;
  bare.path = "/apis";
  REQUIRE_FALSE(authenticate(config, bare).ok());
  REQUIRE_FALSE(authenticate(config, request("", {"team-a"}, {kClientCaBundle}, {})).ok());
}

TEST_CASE("concurrent reads through the SubjectAccessReview authorizer", "[adapter][api]") {
  SarServer sar;
  SubjectAccessReviewAuthorizer authz(*sar.client);
  Served s(options_with(&authz));
  std::atomic<int> ok{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      net::HttpClientOptions o;
      o.tls.enabled = true;
      o.tls.ca_pem = certs().server_ca;
      o.tls.cert_pem = certs().front_proxy.cert;
      o.tls.key_pem = certs().front_proxy.key;
      net::HttpClient client(o);
      for (int i = 0; i < 15; ++i) {
        net::HttpRequest r;
        r.url = s.server->url() + kMetricTarget;
        r.headers = {{"X-Remote-User", "hpa-" + std::to_string(t % 2)}};
        r.timeout = 10s;
        auto answer = client.send(r);
        (answer.ok() && answer->status == 200 ? ok : other)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 90);
  CHECK(other == 0);
  // Two users, one question each: concurrent first requests may each ask, later ones are cached.
  CHECK(authz.reviews_sent() >= 2);
  CHECK(authz.reviews_sent() <= 6);
  CHECK(s.provider.queries().size() == 90);
}
