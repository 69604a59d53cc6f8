// The test API server over real HTTP(S): ebb::net::HttpClient for requests, a raw ebb::net::Stream
// decoding chunked watch streams, and kubectl against the standalone binary.
#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

#include "ebb/net/http_client.h"
#include "ebb/net/stream.h"
#include "support.h"
#include "test_apiserver.h"

using namespace ebb::testapi;
using namespace std::chrono_literals;
using ebb::net::HttpClient;
using ebb::net::HttpRequest;
using ebb::net::HttpResponse;

namespace {

struct Api {
  std::string base;
  HttpClient client;
  explicit Api(std::string url, ebb::net::HttpClientOptions o = {}) : base(std::move(url)), client(std::move(o)) {}

  HttpResponse send(const std::string& method, const std::string& path, const std::string& body = "",
                    const std::string& content_type = "application/json", std::chrono::milliseconds timeout = 5s) {
    HttpRequest req;
    req.method = method;
    req.url = base + path;
    req.body = body;
    req.timeout = timeout;
    if (!body.empty()) req.headers.push_back({"Content-Type", content_type});
    auto r = client.send(req);
    INFO(method << " " << path);
    REQUIRE(r.ok());
    return r.value();
  }
  json get(const std::string& path, int expect = 200) { return check(send("GET", path), expect); }
  json post(const std::string& path, const json& body, int expect = 201) {
    return check(send("POST", path, body.dump()), expect);
  }
  json put(const std::string& path, const json& body, int expect = 200) {
    return check(send("PUT", path, body.dump()), expect);
  }
  json patch(const std::string& path, const std::string& ct, const std::string& body, int expect = 200) {
    return check(send("PATCH", path, body, ct), expect);
  }
  json del(const std::string& path, const json& body = nullptr, int expect = 200) {
    return check(send("DELETE", path, body.is_null() ? "" : body.dump()), expect);
  }
  static json check(const HttpResponse& r, int expect) {
    INFO(r.body);
    CHECK(r.status == expect);
    return r.body.empty() ? json() : json::parse(r.body);
  }
};

// Reads a chunked watch response line by line.
class WatchReader {
 public:
  WatchReader(std::uint16_t port, const std::string& path) {
    auto s = ebb::net::Stream::connect("127.0.0.1", port, {}, 2s);
    REQUIRE(s.ok());
    stream_ = std::move(s.value());
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n";
    REQUIRE(stream_->write_all(req, 2s).ok());
    while (raw_.find("\r\n\r\n") == std::string::npos) REQUIRE(fill(2s));
    auto end = raw_.find("\r\n\r\n");
    headers_ = raw_.substr(0, end);
    raw_.erase(0, end + 4);
    status = std::stoi(headers_.substr(9, 3));
  }
  // The next event, or nullopt when the stream ended (or nothing came within `timeout`).
  std::optional<json> next(std::chrono::milliseconds timeout = 3s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (true) {
      decode();
      auto nl = body_.find('\n');
      if (nl != std::string::npos) {
        json e = json::parse(body_.substr(0, nl));
        body_.erase(0, nl + 1);
        return e;
      }
      if (ended || std::chrono::steady_clock::now() >= until) return std::nullopt;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (!fill(std::max(left, 1ms))) {
        if (!stream_->is_open()) ended = true, closed_abruptly = true;
      }
    }
  }
  int status = 0;
  bool ended = false, closed_abruptly = false;

 private:
  bool fill(std::chrono::milliseconds timeout) {
    char buf[8192];
    auto n = stream_->read_some(buf, sizeof buf, timeout);
    if (!n.ok()) return false;
    raw_.append(buf, n.value());
    return true;
  }
  void decode() {
    while (!ended) {
      auto eol = raw_.find("\r\n");
      if (eol == std::string::npos) return;
      std::size_t size = std::stoul(raw_.substr(0, eol), nullptr, 16);
      if (size == 0) {
        ended = true;
        return;
      }
      if (raw_.size() < eol + 2 + size + 2) return;
      body_ += raw_.substr(eol + 2, size);
      raw_.erase(0, eol + 2 + size + 2);
    }
  }
  std::unique_ptr<ebb::net::Stream> stream_;
  std::string raw_, headers_, body_;
};

std::uint16_t port_of(const std::string& url) { return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1))); }

json cm(const std::string& name, json labels = json::object()) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"labels", labels}}},
          {"data", {{"k", "v"}}}};
}

json deployment(const std::string& name) {
  return {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"metadata", {{"name", name}}},
          {"spec", {{"replicas", 1}, {"selector", {{"matchLabels", {{"app", name}}}}}}}};
}

const std::string kCms = "/api/v1/namespaces/default/configmaps";
const std::string kDeps = "/apis/apps/v1/namespaces/default/deployments";

}  // namespace

TEST_CASE("discovery documents for the built-in groups and for CRDs created through the server") {
  TestApiServer server;
  Api api(server.url());
  CHECK(api.get("/version")["major"] == "1");
  CHECK(api.get("/api")["versions"] == json{"v1"});
  json core = api.get("/api/v1");
  CHECK(core["kind"] == "APIResourceList");
  CHECK(core["groupVersion"] == "v1");
  bool cm_found = false;
  for (auto& r : core["resources"])
    if (r["name"] == "configmaps") cm_found = r["namespaced"] == true && r["shortNames"] == json{"cm"};
  CHECK(cm_found);
  json groups = api.get("/apis");
  std::set<std::string> names;
  for (auto& g : groups["groups"]) names.insert(g["name"]);
  for (auto g : {"apps", "autoscaling", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io",
                 "authorization.k8s.io"})
    CHECK(names.count(g));
  CHECK_FALSE(names.count("keda.sh"));
  CHECK(api.get("/apis/autoscaling")["preferredVersion"]["groupVersion"] == "autoscaling/v2");
  json apps = api.get("/apis/apps/v1");
  json scale;
  for (auto& r : apps["resources"])
    if (r["name"] == "deployments/scale") scale = r;
  CHECK(scale["group"] == "autoscaling");
  CHECK(scale["kind"] == "Scale");
  json nf = api.get("/apis/nope/v1", 404);
  CHECK(nf["reason"] == "NotFound");

  json crd = {{"apiVersion", "apiextensions.k8s.io/v1"}, {"kind", "CustomResourceDefinition"},
              {"metadata", {{"name", "scaledobjects.keda.sh"}}},
              {"spec", {{"group", "keda.sh"}, {"scope", "Namespaced"},
                        {"names", {{"plural", "scaledobjects"}, {"singular", "scaledobject"}, {"kind", "ScaledObject"},
                                   {"shortNames", {"so"}}}},
                        {"versions", {{{"name", "v1alpha1"}, {"served", true}, {"storage", true},
                                       {"subresources", {{"status", json::object()}}}}}}}}};
  api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
  json keda = api.get("/apis/keda.sh/v1alpha1");
  CHECK(keda["resources"][0]["name"] == "scaledobjects");
  CHECK(keda["resources"][1]["name"] == "scaledobjects/status");
  api.post("/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects",
           {{"apiVersion", "keda.sh/v1alpha1"}, {"kind", "ScaledObject"}, {"metadata", {{"name", "so1"}}},
            {"spec", {{"scaleTargetRef", {{"name", "web"}}}}}});
  CHECK(api.get("/apis/keda.sh/v1alpha1/scaledobjects")["items"].size() == 1);
  api.del("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh");
  api.get("/apis/keda.sh/v1alpha1", 404);

  TestApiServerOptions pre;
  pre.preregister_keda = true;
  TestApiServer with_keda(pre);
  Api k(with_keda.url());
  CHECK(k.get("/apis/keda.sh/v1alpha1")["groupVersion"] == "keda.sh/v1alpha1");
}

TEST_CASE("CRUD over HTTP with Status bodies: 201, 409, 404, 422, 400, 415") {
  TestApiServer server;
  Api api(server.url());
  json a = api.post(kCms, cm("a"));
  CHECK(a["metadata"]["resourceVersion"].is_string());
  json dup = api.post(kCms, cm("a"), 409);
  CHECK(dup == json{{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"status", "Failure"},
                    {"message", "configmaps \"a\" already exists"}, {"reason", "AlreadyExists"},
                    {"details", {{"name", "a"}, {"kind", "configmaps"}}}, {"code", 409}});
  api.post(kCms, {{"metadata", {{"name", "UPPER"}}}}, 422);
  api.post("/api/v1/namespaces/missing/configmaps", cm("a"), 404);
  Api::check(api.send("POST", kCms, "{broken"), 400);
  json stale = a;
  a["data"]["k"] = "2";
  json a2 = api.put(kCms + "/a", a);
  CHECK(a2["data"]["k"] == "2");
  stale["data"]["k"] = "3";
  CHECK(api.put(kCms + "/a", stale, 409)["reason"] == "Conflict");
  Api::check(api.send("PATCH", kCms + "/a", "{}", "text/plain"), 415);
  json nf = api.get(kCms + "/zzz", 404);
  CHECK(nf["details"] == json{{"name", "zzz"}, {"kind", "configmaps"}});
  CHECK(api.get("/api/v1/configmaps")["items"].size() == 1);  // across namespaces
  // Preconditions on DELETE.
  api.del(kCms + "/a", {{"preconditions", {{"uid", "wrong"}}}}, 409);
  json ok = api.del(kCms + "/a", {{"preconditions", {{"resourceVersion", a2["metadata"]["resourceVersion"]}}},
                                  {"propagationPolicy", "Background"}});
  CHECK(ok["status"] == "Success");
  api.get(kCms + "/a", 404);
  // deletecollection with a selector.
  api.post(kCms, cm("x", {{"t", "1"}}));
  api.post(kCms, cm("y", {{"t", "1"}}));
  api.post(kCms, cm("z", {{"t", "2"}}));
  CHECK(api.del(kCms + "?labelSelector=t%3D1")["items"].size() == 2);
  CHECK(api.get(kCms)["items"].size() == 1);
  // Namespaces and cluster-scoped resources.
  api.post("/api/v1/namespaces", {{"metadata", {{"name", "team"}}}});
  api.post("/api/v1/namespaces/team/configmaps", cm("c"));
  CHECK(api.get("/api/v1/namespaces/team")["status"]["phase"] == "Active");
  api.del("/api/v1/namespaces/team");
  api.get("/api/v1/namespaces/team", 404);
}

TEST_CASE("finalizers and generation over HTTP") {
  TestApiServer server;
  Api api(server.url());
  json d = deployment("web");
  d["metadata"]["finalizers"] = {"ebb.sh/cleanup"};
  json created = api.post(kDeps, d);
  CHECK(created["metadata"]["generation"] == 1);
  json lab = api.patch(kDeps + "/web", "application/merge-patch+json", R"({"metadata":{"labels":{"a":"b"}}})");
  CHECK(lab["metadata"]["generation"] == 1);
  json spec = api.patch(kDeps + "/web", "application/merge-patch+json", R"({"spec":{"replicas":3}})");
  CHECK(spec["metadata"]["generation"] == 2);
  json del = api.del(kDeps + "/web");
  CHECK(del["kind"] == "Deployment");
  CHECK(del["metadata"].contains("deletionTimestamp"));
  CHECK(api.get(kDeps + "/web")["metadata"].contains("deletionTimestamp"));
  api.patch(kDeps + "/web", "application/json-patch+json", R"([{"op":"remove","path":"/metadata/finalizers"}])");
  api.get(kDeps + "/web", 404);
}

TEST_CASE("status and scale subresources over HTTP") {
  TestApiServer server;
  Api api(server.url());
  api.post(kDeps, deployment("web"));
  json st = api.put(kDeps + "/web/status",
                    {{"metadata", {{"name", "web"}}}, {"spec", {{"replicas", 9}}}, {"status", {{"replicas", 1}}}});
  CHECK(st["status"]["replicas"] == 1);
  CHECK(st["spec"]["replicas"] == 1);
  json ignored = api.patch(kDeps + "/web", "application/merge-patch+json", R"({"status":{"replicas":5}})");
  CHECK(ignored["status"]["replicas"] == 1);
  api.get(kCms + "/x/status", 404);  // configmaps have no status subresource

  json scale = api.get(kDeps + "/web/scale");
  CHECK(scale["kind"] == "Scale");
  CHECK(scale["spec"]["replicas"] == 1);
  CHECK(scale["status"]["replicas"] == 1);
  CHECK(scale["status"]["selector"] == "app=web");
  scale["spec"]["replicas"] = 3;
  CHECK(api.put(kDeps + "/web/scale", scale)["spec"]["replicas"] == 3);
  CHECK(api.put(kDeps + "/web/scale", scale, 409)["reason"] == "Conflict");
  CHECK(api.patch(kDeps + "/web/scale", "application/merge-patch+json", R"({"spec":{"replicas":0}})")["spec"]["replicas"] == 0);
  CHECK(api.get(kDeps + "/web")["spec"]["replicas"] == 0);
  api.post("/apis/apps/v1/namespaces/default/statefulsets",
           {{"metadata", {{"name", "db"}}}, {"spec", {{"replicas", 2}, {"selector", {{"matchLabels", {{"app", "db"}}}}}}}});
  CHECK(api.get("/apis/apps/v1/namespaces/default/statefulsets/db/scale")["spec"]["replicas"] == 2);

  json crd = {{"apiVersion", "apiextensions.k8s.io/v1"}, {"kind", "CustomResourceDefinition"},
              {"metadata", {{"name", "workers.example.com"}}},
              {"spec", {{"group", "example.com"}, {"scope", "Namespaced"},
                        {"names", {{"plural", "workers"}, {"kind", "Worker"}}},
                        {"versions", {{{"name", "v1"}, {"served", true}, {"storage", true},
                                       {"subresources", {{"status", json::object()},
                                                         {"scale", {{"specReplicasPath", ".spec.count"},
                                                                    {"statusReplicasPath", ".status.count"}}}}}}}}}}};
  api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
  const std::string w = "/apis/example.com/v1/namespaces/default/workers";
  api.post(w, {{"apiVersion", "example.com/v1"}, {"kind", "Worker"}, {"metadata", {{"name", "w"}}}, {"spec", {{"count", 1}}}});
  CHECK(api.patch(w + "/w/scale", "application/merge-patch+json", R"({"spec":{"replicas":4}})")["spec"]["replicas"] == 4);
  CHECK(api.get(w + "/w")["spec"]["count"] == 4);
}

TEST_CASE("list selectors and paging over HTTP") {
  TestApiServer server;
  Api api(server.url());
  for (int i = 0; i < 7; ++i) api.post(kCms, cm("c" + std::to_string(i), {{"n", std::to_string(i % 3)}}));
  CHECK(api.get(kCms + "?labelSelector=n%20in%20(0%2C1)")["items"].size() == 5);
  CHECK(api.get(kCms + "?labelSelector=n!%3D0")["items"].size() == 4);
  CHECK(api.get(kCms + "?labelSelector=!n")["items"].size() == 0);
  CHECK(api.get(kCms + "?fieldSelector=metadata.name%3Dc3")["items"].size() == 1);
  api.get(kCms + "?fieldSelector=data.k%3Dv", 400);
  std::vector<std::string> seen;
  std::string cont;
  int pages = 0;
  do {
    json page = api.get(kCms + "?limit=3" + (cont.empty() ? "" : "&continue=" + ebb::net::url_escape_component(cont)));
    for (auto& i : page["items"]) seen.push_back(i["metadata"]["name"]);
    cont = page["metadata"].value("continue", "");
    ++pages;
    if (pages == 1) api.post(kCms, cm("late"));
  } while (!cont.empty());
  CHECK(pages == 3);
  CHECK(seen == std::vector<std::string>{"c0", "c1", "c2", "c3", "c4", "c5", "c6"});
}

TEST_CASE("patch types over HTTP, including server-side apply") {
  TestApiServer server;
  Api api(server.url());
  api.post(kCms, cm("p"));
  CHECK(api.patch(kCms + "/p", "application/merge-patch+json", R"({"data":{"m":"1"}})")["data"]["m"] == "1");
  CHECK(api.patch(kCms + "/p", "application/strategic-merge-patch+json", R"({"data":{"s":"1"}})")["data"]["s"] == "1");
  CHECK(api.patch(kCms + "/p", "application/json-patch+json",
                  R"([{"op":"test","path":"/data/m","value":"1"},{"op":"add","path":"/data/j","value":"1"}])")["data"]["j"] == "1");
  api.patch(kCms + "/p", "application/json-patch+json", R"([{"op":"test","path":"/data/m","value":"0"}])", 422);
  std::string cfg = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: \"1\"\n";
  api.patch(kCms + "/applied", "application/apply-patch+yaml", cfg, 400);  // no fieldManager
  CHECK(api.patch(kCms + "/applied?fieldManager=ebb", "application/apply-patch+yaml", cfg, 201)["data"]["a"] == "1");
  std::string other = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: \"2\"\n";
  CHECK(api.patch(kCms + "/applied?fieldManager=other", "application/apply-patch+yaml", other, 409)["reason"] == "Conflict");
  CHECK(api.patch(kCms + "/applied?fieldManager=other&force=true", "application/apply-patch+yaml", other)["data"]["a"] == "2");
}

TEST_CASE("watch streams: events, bookmarks, 410 Gone, timeoutSeconds, close and the /watch/ prefix") {
  TestApiServerOptions o;
  o.watch_window = 5;
  o.bookmark_interval = 200ms;
  TestApiServer server(o);
  Api api(server.url());
  auto port = port_of(server.url());
  json a = api.post(kCms, cm("a", {{"w", "y"}}));
  std::string rv = a["metadata"]["resourceVersion"];

  WatchReader w(port, kCms + "?watch=1&labelSelector=w%3Dy&resourceVersion=" + rv);
  CHECK(w.status == 200);
  api.post(kCms, cm("b", {{"w", "y"}}));
  api.post(kCms, cm("ignored", {{"w", "n"}}));
  api.patch(kCms + "/b", "application/merge-patch+json", R"({"data":{"k":"2"}})");
  api.del(kCms + "/b");
  std::vector<std::string> seen;
  while (seen.size() < 3) {
    auto e = w.next();
    REQUIRE(e);
    seen.push_back((*e)["type"].get<std::string>() + ":" + (*e)["object"]["metadata"]["name"].get<std::string>());
  }
  CHECK(seen == std::vector<std::string>{"ADDED:b", "MODIFIED:b", "DELETED:b"});

  WatchReader initial(port, kCms + "?watch=true&allowWatchBookmarks=true");
  auto first = initial.next();
  REQUIRE(first);
  CHECK((*first)["type"] == "ADDED");
  CHECK((*first)["object"]["metadata"]["name"] == "a");
  auto more = initial.next();  // "ignored" is the other object
  REQUIRE(more);
  auto bm = initial.next(2s);
  REQUIRE(bm);
  CHECK((*bm)["type"] == "BOOKMARK");
  CHECK((*bm)["object"]["kind"] == "ConfigMap");
  CHECK((*bm)["object"]["metadata"]["resourceVersion"].is_string());

  for (int i = 0; i < 6; ++i) api.post(kCms, cm("n" + std::to_string(i)));
  WatchReader old(port, kCms + "?watch=1&resourceVersion=" + rv);
  auto err = old.next();
  REQUIRE(err);
  CHECK((*err)["type"] == "ERROR");
  CHECK((*err)["object"]["code"] == 410);
  CHECK((*err)["object"]["reason"] == "Expired");
  CHECK_FALSE(old.next());
  CHECK(old.ended);

  WatchReader timed(port, "/api/v1/watch/namespaces/default/configmaps?timeoutSeconds=1&resourceVersion=" +
                              std::to_string(server.store().resource_version()));
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(timed.next(4s));
  CHECK(timed.ended);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);

  WatchReader closing(port, kCms + "?watch=1&resourceVersion=" + std::to_string(server.store().resource_version()));
  server.close_watches();
  CHECK_FALSE(closing.next(2s));
  CHECK(closing.ended);
}

TEST_CASE("fault injection: errors, 429 with Retry-After, timeouts, drops, pauses, closed watches") {
  TestApiServer server;
  Api api(server.url());
  auto port = port_of(server.url());
  server.inject({.kind = Fault::Kind::Error, .status = 500, .count = 2});
  CHECK(api.send("GET", kCms).status == 500);
  CHECK(api.send("GET", kCms).status == 500);
  CHECK(api.send("GET", kCms).status == 200);

  server.inject({.kind = Fault::Kind::Error, .status = 429, .retry_after_seconds = 3, .method = "^POST$", .path = "configmaps"});
  CHECK(api.send("GET", kCms).status == 200);  // does not match
  auto limited = api.send("POST", kCms, cm("r").dump());
  CHECK(limited.status == 429);
  CHECK(limited.header("Retry-After") == "3");
  CHECK(json::parse(limited.body)["reason"] == "TooManyRequests");
  CHECK(api.send("POST", kCms, cm("r").dump()).status == 201);

  server.inject({.kind = Fault::Kind::Timeout, .hang = 3s});
  HttpRequest slow{.method = "GET", .url = server.url() + kCms, .timeout = 500ms};
  CHECK_FALSE(api.client.send(slow).ok());

  server.inject({.kind = Fault::Kind::Drop});
  HttpRequest dropped{.method = "GET", .url = server.url() + kCms + "?x=1", .timeout = 2s};
  CHECK_FALSE(api.client.send(dropped).ok());
  CHECK(api.send("GET", kCms).status == 200);

  server.pause(600ms);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(api.send("GET", kCms).status == 200);
  CHECK(std::chrono::steady_clock::now() - t0 >= 500ms);

  WatchReader w(port, kCms + "?watch=1&resourceVersion=" + std::to_string(server.store().resource_version()));
  server.drop_connections();
  CHECK_FALSE(w.next(2s));
  CHECK(w.closed_abruptly);
  CHECK(api.send("GET", kCms).status == 200);
  server.inject({.kind = Fault::Kind::Error, .status = 503, .count = 5});
  server.clear_faults();
  CHECK(api.send("GET", kCms).status == 200);
}

TEST_CASE("the request log records method, path, query, content type, body and response code") {
  TestApiServer server;
  Api api(server.url());
  server.clear_request_log();
  api.post(kDeps, deployment("web"));
  api.patch(kDeps + "/web/scale?fieldManager=ebb", "application/merge-patch+json", R"({"spec":{"replicas":1}})");
  server.inject({.status = 500, .path = "/nothing"});
  api.get("/nothing", 500);
  auto log = server.request_log();
  REQUIRE(log.size() == 3);
  CHECK(log[0].method == "POST");
  CHECK(log[0].code == 201);
  CHECK(log[1].method == "PATCH");
  CHECK(log[1].path == kDeps + "/web/scale");
  CHECK(log[1].query == "fieldManager=ebb");
  CHECK(log[1].content_type == "application/merge-patch+json");
  CHECK(json::parse(log[1].body)["spec"]["replicas"] == 1);
  CHECK(log[1].code == 200);
  CHECK(log[2].code == 500);
  json over_http = api.get("/_test/requests");  // control requests are not logged themselves
  CHECK(over_http.size() == 3);
  CHECK(over_http[1]["contentType"] == "application/merge-patch+json");
  api.del("/_test/requests");
  CHECK(server.request_log().empty());
}

TEST_CASE("SubjectAccessReview is answered from the test policy") {
  TestApiServerOptions o;
  o.access_policy = [](const json& spec) { return spec.value("user", "") == "alice"; };
  TestApiServer server(o);
  Api api(server.url());
  const std::string p = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
  json sar = {{"apiVersion", "authorization.k8s.io/v1"}, {"kind", "SubjectAccessReview"},
              {"spec", {{"user", "alice"}, {"resourceAttributes", {{"verb", "get"}}}}}};
  CHECK(api.post(p, sar)["status"]["allowed"] == true);
  sar["spec"]["user"] = "bob";
  CHECK(api.post(p, sar)["status"]["allowed"] == false);
}

TEST_CASE("HTTPS with a self-signed certificate, and plain HTTP beside it") {
  TestApiServerOptions o;
  o.tls_self_signed = true;
  o.http_port = 0;
  TestApiServer server(o);
  REQUIRE(server.url().rfind("https://", 0) == 0);
  ebb::net::HttpClientOptions co;
  co.tls.ca_pem = server.ca_pem();
  Api tls(server.https_url(), co);
  tls.post(kCms, cm("secure"));
  Api plain(server.http_url());
  CHECK(plain.get(kCms + "/secure")["metadata"]["name"] == "secure");
  Api untrusted(server.https_url());
  HttpRequest req{.method = "GET", .url = server.https_url() + "/version"};
  CHECK_FALSE(untrusted.client.send(req).ok());
}

TEST_CASE("standalone binary: control endpoints over HTTP, and a kubectl round trip") {
  ebb::test::TempDir dir("ebb-apiserver");
  auto port = ebb::test::free_port();
  auto proc = ebb::test::Process::start({EBB_TEST_APISERVER_BIN, "--port", std::to_string(port), "--watch-window", "50"},
                                        dir.path() + "/server.log");
  REQUIRE(ebb::test::wait_for_port(port, 5s));
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  Api api(url);
  api.post("/_test/faults", {{"type", "error"}, {"code", 429}, {"count", 1}, {"retryAfterSeconds", 2}}, 200);
  auto r = api.send("GET", "/api/v1/namespaces");
  CHECK(r.status == 429);
  CHECK(r.header("Retry-After") == "2");
  api.post("/_test/faults", {{"type", "bogus"}}, 400);
  api.del("/_test/requests");

  std::ofstream(dir.path() + "/config") << "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n"
                                           "    server: " << url << "\nusers:\n- name: u\n  user:\n    token: test\n"
                                           "contexts:\n- name: c\n  context:\n    cluster: t\n    user: u\n"
                                           "    namespace: default\ncurrent-context: c\n";
  std::ofstream(dir.path() + "/cm.yaml") << "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n"
                                            "  labels:\n    app: demo\ndata:\n  a: \"1\"\n";
  auto kubectl = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/env", "HOME=" + dir.path(), "KUBECONFIG=" + dir.path() + "/config",
                                  "kubectl"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto res = ebb::test::run_command(argv, 60s);
    INFO(res.out << res.err);
    CHECK(res.exit_code == 0);
    return res.out;
  };
  CHECK(kubectl({"apply", "--validate=false", "-f", dir.path() + "/cm.yaml"}).find("created") != std::string::npos);
  CHECK(kubectl({"get", "configmap", "demo", "-o", "jsonpath={.data.a}"}) == "1");
  CHECK(kubectl({"get", "cm", "-l", "app=demo", "-o", "name"}) == "configmap/demo\n");
  CHECK(kubectl({"apply", "--server-side", "--validate=false", "-f", dir.path() + "/cm.yaml"}).find("serverside-applied") !=
        std::string::npos);
  kubectl({"create", "deployment", "web", "--image=nginx"});
  kubectl({"scale", "deployment", "web", "--replicas=3"});
  CHECK(kubectl({"get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"}) == "3");
  CHECK(kubectl({"delete", "cm", "demo"}).find("deleted") != std::string::npos);
  json log = api.get("/_test/requests");
  bool saw_scale = false, saw_apply = false;
  for (auto& e : log) {
    saw_scale |= e["path"] == "/apis/apps/v1/namespaces/default/deployments/web/scale" && e["method"] == "PATCH";
    saw_apply |= e["contentType"] == "application/apply-patch+yaml";
  }
  CHECK(saw_scale);
  CHECK(saw_apply);
  proc.stop();
}
