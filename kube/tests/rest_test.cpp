// RestClient against a scripted transport: retries, Retry-After, auth headers, Status decoding.
#include <catch2/catch.hpp>

#include <deque>

#include "ebb/kube/client.h"
#include "ebb/kube/rest.h"

using namespace ebb;
using namespace ebb::kube;
using namespace std::chrono_literals;

namespace {

struct Step {
  int status = 0;  // 0 = transport failure
  bool sent = true;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class ScriptedTransport final : public Transport {
 public:
  std::deque<Step> steps;
  std::vector<net::HttpRequest> seen;

  Result<net::HttpResponse> send(const net::HttpRequest& request, bool& request_sent) override {
    seen.push_back(request);
    REQUIRE_FALSE(steps.empty());
    Step step = steps.front();
    steps.pop_front();
    request_sent = step.sent;
    if (step.status == 0) return fail("connect 127.0.0.1:1: Connection refused", true);
    net::HttpResponse response;
    response.status = step.status;
    response.body = step.body;
    response.headers = step.headers;
    return response;
  }
  Result<void> stream(const net::HttpRequest&, net::Timeout, const net::HttpStreamHandlers&, bool&) override {
    return fail("not scripted");
  }
};

Config test_config() {
  Config config;
  config.server = "https://api.test:6443";
  config.token = TokenSource::fixed("s3cret-token");
  return config;
}

RestOptions fast_options() {
  RestOptions options;
  options.backoff = Backoff{1ms, 2.0, 5ms, 0.5};
  options.timeout = 5s;
  return options;
}

std::string status_body(int code, const std::string& reason, const std::string& message) {
  return Object{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                {"code", code},     {"reason", reason},    {"message", message}}
      .dump();
}

std::pair<RestClient*, ScriptedTransport*> make(std::unique_ptr<RestClient>& holder, RestOptions options = fast_options()) {
  auto transport = std::make_unique<ScriptedTransport>();
  auto* raw = transport.get();
  holder = std::make_unique<RestClient>(test_config(), options, std::move(transport));
  return {holder.get(), raw};
}

}  // namespace

TEST_CASE("rest: bearer token, JSON headers and query encoding") {
  std::unique_ptr<RestClient> holder;
  auto [rest, transport] = make(holder);
  transport->steps.push_back({200, true, "{}"});
  auto response = rest->call({.method = "POST", .path = "/api/v1/namespaces/a/pods",
                              .query = {{"labelSelector", "app in (x,y)"}}, .body = "{}"});
  REQUIRE(response.ok());
  const auto& request = transport->seen.at(0);
  CHECK(request.url == "https://api.test:6443/api/v1/namespaces/a/pods?labelSelector=app%20in%20%28x%2Cy%29");
  const auto header = [&](const std::string& name) {
    for (const auto& [k, v] : request.headers) {
      if (k == name) return v;
    }
    return std::string();
  };
  CHECK(header("Authorization") == "Bearer s3cret-token");
  CHECK(header("Content-Type") == "application/json");
  CHECK(header("Accept") == "application/json");
}

TEST_CASE("rest: Status bodies become typed errors") {
  std::unique_ptr<RestClient> holder;
  auto [rest, transport] = make(holder);
  transport->steps.push_back({404, true, status_body(404, "NotFound", "pods \"x\" not found")});
  transport->steps.push_back({409, true, status_body(409, "AlreadyExists", "pods \"x\" already exists")});
  transport->steps.push_back({409, true, status_body(409, "Conflict", "the object has been modified")});
  transport->steps.push_back({410, true, status_body(410, "Expired", "too old resource version")});
  transport->steps.push_back({422, true, status_body(422, "Invalid", "spec.replicas: Invalid value")});
  transport->steps.push_back({403, true, "<html>forbidden</html>"});

  auto e404 = rest->call({.path = "/api/v1/namespaces/a/pods/x"});
  REQUIRE_FALSE(e404.ok());
  CHECK(e404.error().not_found());
  CHECK(e404.error().reason == "NotFound");
  CHECK_THAT(e404.error().message, Catch::Contains("GET /api/v1/namespaces/a/pods/x") &&
                                       Catch::Contains("pods \"x\" not found"));
  auto exists = rest->call({.method = "POST", .path = "/p"});
  CHECK(exists.error().already_exists());
  CHECK_FALSE(exists.error().conflict());
  auto conflict = rest->call({.method = "PUT", .path = "/p"});
  CHECK(conflict.error().conflict());
  CHECK_FALSE(conflict.error().already_exists());
  CHECK(rest->call({.path = "/p"}).error().gone());
  CHECK(rest->call({.method = "POST", .path = "/p"}).error().invalid());
  auto forbidden = rest->call({.path = "/p"});
  CHECK(forbidden.error().forbidden());
  CHECK(forbidden.error().reason == "Forbidden");
  for (const auto& request : transport->seen) {
    CHECK(request.url.find("s3cret") == std::string::npos);
  }
}

TEST_CASE("rest: retries 5xx and transport failures for idempotent verbs only") {
  std::unique_ptr<RestClient> holder;
  auto [rest, transport] = make(holder);
  transport->steps = {{503, true, ""}, {0, true, ""}, {500, true, ""}, {200, true, "{\"ok\":1}"}};
  auto get = rest->call({.path = "/x"});
  REQUIRE(get.ok());
  CHECK(transport->seen.size() == 4);
  CHECK(rest->stats().retries == 3);

  transport->seen.clear();
  transport->steps = {{503, true, ""}, {200, true, "{}"}};
  auto post = rest->call({.method = "POST", .path = "/x", .body = "{}"});
  REQUIRE_FALSE(post.ok());
  CHECK(post.error().code == 503);
  CHECK(post.error().transient);
  CHECK(transport->seen.size() == 1);
  transport->steps.clear();

  // A POST whose connection failed mid-request may have been applied: not retried.
  transport->seen.clear();
  transport->steps = {{0, true, ""}};
  auto lost = rest->call({.method = "PATCH", .path = "/x", .body = "{}"});
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.error().transport());
  CHECK(transport->seen.size() == 1);

  // ... but one whose connection never opened is safe to repeat.
  transport->seen.clear();
  transport->steps = {{0, false, ""}, {0, false, ""}, {201, true, "{}"}};
  CHECK(rest->call({.method = "POST", .path = "/x", .body = "{}"}).ok());
  CHECK(transport->seen.size() == 3);
}

TEST_CASE("rest: 429 is retried for any verb and Retry-After is honoured") {
  std::unique_ptr<RestClient> holder;
  auto [rest, transport] = make(holder);
  transport->steps = {{429, true, status_body(429, "TooManyRequests", "slow down"), {{"Retry-After", "1"}}},
                      {201, true, "{}"}};
  const auto start = Clock::now();
  auto created = rest->call({.method = "POST", .path = "/x", .body = "{}"});
  REQUIRE(created.ok());
  CHECK(Clock::now() - start >= 1s);
  CHECK(transport->seen.size() == 2);
}

TEST_CASE("rest: retries stop at max_attempts and never run past the deadline") {
  std::unique_ptr<RestClient> holder;
  RestOptions options = fast_options();
  options.max_attempts = 3;
  auto [rest, transport] = make(holder, options);
  transport->steps = {{500, true, ""}, {500, true, ""}, {500, true, ""}, {500, true, ""}};
  auto result = rest->call({.path = "/x"});
  REQUIRE_FALSE(result.ok());
  CHECK(transport->seen.size() == 3);

  transport->seen.clear();
  transport->steps = {{429, true, "", {{"Retry-After", "30"}}}, {200, true, "{}"}};
  const auto start = Clock::now();
  auto limited = rest->call({.path = "/x", .timeout = 500ms});
  REQUIRE_FALSE(limited.ok());
  CHECK(limited.error().too_many_requests());
  CHECK(Clock::now() - start < 400ms);  // gave up at once instead of sleeping 30 s
  CHECK(transport->seen.size() == 1);
}

TEST_CASE("rest: a 401 with a token file re-reads the token once") {
  std::unique_ptr<RestClient> holder;
  auto [rest, transport] = make(holder);
  transport->steps = {{401, true, status_body(401, "Unauthorized", "Unauthorized")}};
  auto result = rest->call({.path = "/x"});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().unauthorized());
  CHECK(transport->seen.size() == 1);  // a fixed token cannot change: no retry
}

TEST_CASE("rest: the client-side rate limit paces calls") {
  std::unique_ptr<RestClient> holder;
  RestOptions options = fast_options();
  options.qps = 50;
  options.burst = 5;
  auto [rest, transport] = make(holder, options);
  for (int i = 0; i < 15; ++i) transport->steps.push_back({200, true, "{}"});
  const auto start = Clock::now();
  for (int i = 0; i < 15; ++i) REQUIRE(rest->call({.path = "/x"}).ok());
  // 5 immediate, then 10 more at 50/s = 200 ms.
  CHECK(Clock::now() - start >= 180ms);
  CHECK(rest->stats().throttled_ns > 0);
}

TEST_CASE("client: operations build the right requests") {
  auto transport = std::make_unique<ScriptedTransport>();
  auto* script = transport.get();
  Client client(std::make_shared<RestClient>(test_config(), fast_options(), std::move(transport)));
  const auto request_body = [&](std::size_t i) { return Object::parse(script->seen.at(i).body); };
  const auto header = [&](std::size_t i, const std::string& name) {
    for (const auto& [k, v] : script->seen.at(i).headers) {
      if (k == name) return v;
    }
    return std::string();
  };

  script->steps.push_back({200, true, R"({"metadata":{"resourceVersion":"10","continue":"tok"},"items":[{"metadata":{"name":"a"}}]})"});
  script->steps.push_back({200, true, R"({"metadata":{"resourceVersion":"10"},"items":[{"metadata":{"name":"b"}}]})"});
  auto all = client.list_all(resources::deployments(), "ns1", {.label_selector = "app=x", .limit = 1});
  REQUIRE(all.ok());
  REQUIRE(all->items.size() == 2);
  CHECK(all->items[0]["kind"] == "Deployment");
  CHECK(all->items[1]["apiVersion"] == "apps/v1");
  CHECK(all->resource_version == "10");
  CHECK(script->seen[0].url == "https://api.test:6443/apis/apps/v1/namespaces/ns1/deployments?labelSelector=app%3Dx&limit=1");
  CHECK(script->seen[1].url ==
        "https://api.test:6443/apis/apps/v1/namespaces/ns1/deployments?labelSelector=app%3Dx&limit=1&continue=tok");

  script->steps.push_back({200, true, "{}"});
  REQUIRE(client.apply(resources::configmaps(), {{"metadata", {{"name", "c"}, {"namespace", "n"}}}}, "ebb", true).ok());
  CHECK(script->seen[2].method == "PATCH");
  CHECK(script->seen[2].url == "https://api.test:6443/api/v1/namespaces/n/configmaps/c?force=true&fieldManager=ebb");
  CHECK(header(2, "Content-Type") == "application/apply-patch+yaml");
  CHECK(request_body(2)["kind"] == "ConfigMap");

  script->steps.push_back({200, true, R"({"kind":"Status","status":"Success"})"});
  REQUIRE(client.remove(resources::pods(), "n", "p",
                        {.precondition_uid = "u1", .precondition_resource_version = "7", .propagation_policy = "Foreground"})
              .ok());
  CHECK(script->seen[3].method == "DELETE");
  CHECK(request_body(3)["preconditions"] == Object{{"uid", "u1"}, {"resourceVersion", "7"}});
  CHECK(request_body(3)["propagationPolicy"] == "Foreground");

  script->steps.push_back({200, true, R"({"spec":{"replicas":3},"status":{"replicas":2,"selector":"app=x"},"metadata":{"resourceVersion":"5"}})"});
  auto scale = client.patch_scale(resources::deployments(), "n", "d", 3);
  REQUIRE(scale.ok());
  CHECK(scale->replicas == 3);
  CHECK(scale->status_replicas == 2);
  CHECK(scale->selector == "app=x");
  CHECK(script->seen[4].url == "https://api.test:6443/apis/apps/v1/namespaces/n/deployments/d/scale");
  CHECK(header(4, "Content-Type") == "application/merge-patch+json");

  script->steps.push_back({200, true, "{}"});
  REQUIRE(client.update_scale(resources::statefulsets(), "n", "s", 0, "42").ok());
  CHECK(request_body(5)["metadata"]["resourceVersion"] == "42");
  CHECK(request_body(5)["spec"]["replicas"] == 0);

  CHECK_FALSE(client.create(resources::pods(), {{"metadata", {{"name", "x"}}}}).ok());  // no namespace
  CHECK_FALSE(client.patch(resources::pods(), "n", "x", PatchType::apply, Object::object()).ok());  // no manager
}

TEST_CASE("client: read_modify_write retries on 409 with a fresh read") {
  auto transport = std::make_unique<ScriptedTransport>();
  auto* script = transport.get();
  Client client(std::make_shared<RestClient>(test_config(), fast_options(), std::move(transport)));
  script->steps = {
      {200, true, R"({"metadata":{"name":"a","namespace":"n","resourceVersion":"1"},"data":{"n":"1"}})"},
      {409, true, status_body(409, "Conflict", "the object has been modified")},
      {200, true, R"({"metadata":{"name":"a","namespace":"n","resourceVersion":"2"},"data":{"n":"5"}})"},
      {200, true, R"({"metadata":{"name":"a","namespace":"n","resourceVersion":"3"},"data":{"n":"6"}})"},
  };
  int calls = 0;
  auto written = client.read_modify_write(resources::configmaps(), "n", "a", [&](Object& cm) {
    ++calls;
    cm["data"]["n"] = std::to_string(std::stoi(cm["data"]["n"].get<std::string>()) + 1);
    return true;
  });
  REQUIRE(written.ok());
  CHECK(calls == 2);
  CHECK(Object::parse(script->seen[3].body)["metadata"]["resourceVersion"] == "2");
  CHECK(Object::parse(script->seen[3].body)["data"]["n"] == "6");

  script->seen.clear();
  script->steps = {{200, true, R"({"metadata":{"name":"a","namespace":"n","resourceVersion":"3"}})"},
                   {409, true, status_body(409, "Conflict", "x")},
                   {200, true, R"({"metadata":{"name":"a","namespace":"n","resourceVersion":"4"}})"},
                   {409, true, status_body(409, "Conflict", "x")}};
  auto exhausted = client.read_modify_write(
      resources::configmaps(), "n", "a", [](Object&) { return true; }, {.attempts = 2});
  REQUIRE_FALSE(exhausted.ok());
  CHECK(exhausted.error().conflict());
  CHECK(script->seen.size() == 4);

  script->seen.clear();
  script->steps = {{200, true, R"({"metadata":{"name":"a","namespace":"n","resourceVersion":"4"}})"}};
  CHECK(client.read_modify_write(resources::configmaps(), "n", "a", [](Object&) { return false; }).ok());
  CHECK(script->seen.size() == 1);  // no change, no write
}
