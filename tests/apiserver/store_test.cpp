// Storage semantics of the test API server, on the engine directly (no sockets).
#include <catch2/catch.hpp>

#include "store.h"

using namespace ebb::testapi;
using namespace std::chrono_literals;

namespace {

ResourceInfo res(Store& s, const std::string& g, const std::string& v, const std::string& p) {
  auto r = s.find(g, v, p);
  REQUIRE(r);
  return *r;
}

json cm(const std::string& name, json data = json::object(), json labels = nullptr) {
  json o = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", data}};
  if (!labels.is_null()) o["metadata"]["labels"] = labels;
  return o;
}

json deployment(const std::string& name, int replicas = 2) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}}},
          {"spec", {{"replicas", replicas}, {"selector", {{"matchLabels", {{"app", name}}}}}}}};
}

std::string rv_of(const json& o) { return o["metadata"]["resourceVersion"]; }

// The engine alone: Deployment/StatefulSet status changes only when a client writes it.
StoreOptions without_controllers() {
  StoreOptions options;
  options.workload_controllers = false;
  return options;
}

json widget_crd(bool scale = true) {
  json versions = json::array({{{"name", "v1"}, {"served", true}, {"storage", true},
                                {"subresources", {{"status", json::object()}}}},
                               {{"name", "v2"}, {"served", true}, {"storage", false}}});
  if (scale)
    versions[0]["subresources"]["scale"] = {{"specReplicasPath", ".spec.size"},
                                            {"statusReplicasPath", ".status.size"},
                                            {"labelSelectorPath", ".status.selector"}};
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          {"metadata", {{"name", "widgets.example.com"}}},
          {"spec", {{"group", "example.com"}, {"scope", "Namespaced"},
                    {"names", {{"plural", "widgets"}, {"singular", "widget"}, {"kind", "Widget"}, {"shortNames", {"wd"}}}},
                    {"versions", versions}}}};
}

}  // namespace

TEST_CASE("create sets uid, creationTimestamp and a cluster-wide monotonic resourceVersion") {
  Store s;
  auto r = res(s, "", "v1", "configmaps");
  auto before = s.resource_version();
  Reply a = s.create(r, "v1", "default", cm("a"));
  REQUIRE(a.code == 201);
  CHECK(a.body["metadata"]["uid"].get<std::string>().size() == 36);
  CHECK(a.body["metadata"].contains("creationTimestamp"));
  CHECK(a.body["kind"] == "ConfigMap");
  CHECK(a.body["metadata"]["namespace"] == "default");
  CHECK(std::stoull(rv_of(a.body)) == before + 1);
  auto d = res(s, "apps", "v1", "deployments");
  Reply b = s.create(d, "v1", "default", deployment("web"));
  CHECK(std::stoull(rv_of(b.body)) == before + 2);
  CHECK(b.body["metadata"]["generation"] == 1);
  CHECK(s.get(r, "v1", "default", "a").body == a.body);
}

TEST_CASE("create errors: AlreadyExists, Invalid, missing namespace, wrong kind") {
  Store s;
  auto r = res(s, "", "v1", "configmaps");
  REQUIRE(s.create(r, "v1", "default", cm("a")).code == 201);
  Reply dup = s.create(r, "v1", "default", cm("a"));
  CHECK(dup.code == 409);
  CHECK(dup.body["reason"] == "AlreadyExists");
  CHECK(dup.body["kind"] == "Status");
  CHECK(dup.body["status"] == "Failure");
  CHECK(dup.body["message"] == "configmaps \"a\" already exists");
  CHECK(dup.body["details"] == json{{"name", "a"}, {"kind", "configmaps"}});

  Reply noname = s.create(r, "v1", "default", {{"metadata", json::object()}});
  CHECK(noname.code == 422);
  CHECK(noname.body["reason"] == "Invalid");
  CHECK(noname.body["details"]["causes"][0]["field"] == "metadata.name");

  CHECK(s.create(r, "v1", "default", cm("Bad_Name")).code == 422);
  Reply wrong = s.create(r, "v1", "default", {{"kind", "Secret"}, {"metadata", {{"name", "x"}}}});
  CHECK(wrong.code == 422);

  Reply nons = s.create(r, "v1", "nope", cm("a"));
  CHECK(nons.code == 404);
  CHECK(nons.body["message"] == "namespaces \"nope\" not found");

  Reply gen = s.create(r, "v1", "default", {{"metadata", {{"generateName", "job-"}}}});
  REQUIRE(gen.code == 201);
  CHECK(gen.body["metadata"]["name"].get<std::string>().rfind("job-", 0) == 0);

  auto d = res(s, "apps", "v1", "deployments");
  Reply nf = s.get(d, "v1", "default", "missing");
  CHECK(nf.code == 404);
  CHECK(nf.body["message"] == "deployments.apps \"missing\" not found");
  CHECK(nf.body["details"] == json{{"name", "missing"}, {"group", "apps"}, {"kind", "deployments"}});
}

TEST_CASE("update: 409 on a stale resourceVersion, generation only on spec changes, no-op keeps RV") {
  Store s(without_controllers());
  auto d = res(s, "apps", "v1", "deployments");
  json obj = s.create(d, "v1", "default", deployment("web")).body;
  json stale = obj;

  obj["metadata"]["labels"] = {{"a", "b"}};
  Reply u1 = s.update(d, "v1", "default", "web", obj);
  REQUIRE(u1.code == 200);
  CHECK(u1.body["metadata"]["generation"] == 1);  // metadata change
  CHECK(rv_of(u1.body) != rv_of(stale));

  stale["spec"]["replicas"] = 5;
  Reply c = s.update(d, "v1", "default", "web", stale);
  CHECK(c.code == 409);
  CHECK(c.body["reason"] == "Conflict");
  CHECK(c.body["message"].get<std::string>().find("Operation cannot be fulfilled on deployments.apps \"web\"") == 0);

  json next = u1.body;
  next["spec"]["replicas"] = 5;
  Reply u2 = s.update(d, "v1", "default", "web", next);
  CHECK(u2.body["metadata"]["generation"] == 2);

  Reply same = s.update(d, "v1", "default", "web", u2.body);
  CHECK(rv_of(same.body) == rv_of(u2.body));

  // Unconditional update (no resourceVersion) is allowed for built-ins.
  json uncond = u2.body;
  uncond["metadata"].erase("resourceVersion");
  uncond["spec"]["replicas"] = 6;
  CHECK(s.update(d, "v1", "default", "web", uncond).code == 200);
  json missing = uncond;
  missing["metadata"]["name"] = "nope";
  CHECK(s.update(d, "v1", "default", "nope", missing).code == 404);
  CHECK(s.update(d, "v1", "default", "other", uncond).code == 400);  // name mismatch
}

TEST_CASE("the Deployment controller writes status after each spec change, as on a cluster") {
  Store s;
  auto d = res(s, "apps", "v1", "deployments");
  Reply created = s.create(d, "v1", "default", deployment("web", 2));
  REQUIRE(created.code == 201);
  CHECK_FALSE(created.body.contains("status"));  // the client's own write
  json stored = s.get(d, "v1", "default", "web").body;
  CHECK(stored["status"]["observedGeneration"] == 1);
  CHECK(stored["status"]["replicas"] == 2);
  CHECK(stored["status"]["unavailableReplicas"] == 2);  // no kubelet: never ready
  CHECK(std::stoull(rv_of(stored)) == std::stoull(rv_of(created.body)) + 1);

  // The resourceVersion the client got back is already stale.
  json next = created.body;
  next["spec"]["replicas"] = 3;
  CHECK(s.update(d, "v1", "default", "web", next).code == 409);

  // Scaled to 0: generation 2 observed, the counts gone (omitempty).
  Reply zero = s.patch_scale(d, "default", "web", PatchType::Merge, R"({"spec":{"replicas":0}})");
  REQUIRE(zero.code == 200);
  stored = s.get(d, "v1", "default", "web").body;
  CHECK(stored["status"]["observedGeneration"] == 2);
  CHECK_FALSE(stored["status"].contains("replicas"));

  // A metadata-only change is not a spec change: no controller write.
  const auto before = s.resource_version();
  stored["metadata"]["labels"] = {{"a", "b"}};
  REQUIRE(s.update(d, "v1", "default", "web", stored).code == 200);
  CHECK(s.resource_version() == before + 1);

  // A StatefulSet gets observedGeneration only.
  auto sts = res(s, "apps", "v1", "statefulsets");
  json set = deployment("db", 1);
  set["kind"] = "StatefulSet";
  REQUIRE(s.create(sts, "v1", "default", set).code == 201);
  json stored_set = s.get(sts, "v1", "default", "db").body;
  CHECK(stored_set["status"]["observedGeneration"] == 1);
  CHECK_FALSE(stored_set["status"].contains("replicas"));
}

TEST_CASE(
    "empty labels, annotations, finalizers and ConfigMap data are dropped, as Go's omitempty "
    "does") {
  Store s;
  auto c = res(s, "", "v1", "configmaps");
  json obj = cm("c", {{"k", "1"}}, json::object());
  obj["metadata"]["annotations"] = json::object();
  obj["metadata"]["finalizers"] = json::array();
  Reply created = s.create(c, "v1", "default", obj);
  REQUIRE(created.code == 201);
  CHECK_FALSE(created.body["metadata"].contains("labels"));
  CHECK_FALSE(created.body["metadata"].contains("annotations"));
  CHECK_FALSE(created.body["metadata"].contains("finalizers"));
  CHECK(created.body["data"]["k"] == "1");

  Reply emptied = s.patch(c, "v1", "default", "c", PatchType::Merge, R"({"data":{"k":null}})");
  REQUIRE(emptied.code == 200);
  CHECK_FALSE(emptied.body.contains("data"));
  // So a JSON patch must add the map itself, as on a cluster.
  CHECK(s.patch(c, "v1", "default", "c", PatchType::Json,
                R"([{"op":"add","path":"/data/j","value":"v"}])")
            .code == 422);
  CHECK(s.patch(c, "v1", "default", "c", PatchType::Json,
                R"([{"op":"add","path":"/data","value":{"j":"v"}}])")
            .code == 200);
}

TEST_CASE("status subresource: main writes ignore status, status writes ignore the rest") {
  Store s(without_controllers());
  auto d = res(s, "apps", "v1", "deployments");
  json created = deployment("web");
  created["status"] = {{"replicas", 9}};
  json obj = s.create(d, "v1", "default", created).body;
  CHECK_FALSE(obj.contains("status"));  // status is dropped on create

  json st = obj;
  st["status"] = {{"replicas", 3}};
  st["spec"]["replicas"] = 10;
  Reply su = s.update(d, "v1", "default", "web", st, Sub::Status);
  REQUIRE(su.code == 200);
  CHECK(su.body["status"]["replicas"] == 3);
  CHECK(su.body["spec"]["replicas"] == 2);
  CHECK(su.body["metadata"]["generation"] == 1);

  json main = su.body;
  main["status"] = {{"replicas", 100}};
  main["spec"]["replicas"] = 4;
  Reply mu = s.update(d, "v1", "default", "web", main);
  CHECK(mu.body["status"]["replicas"] == 3);
  CHECK(mu.body["spec"]["replicas"] == 4);

  Reply mp = s.patch(d, "v1", "default", "web", PatchType::Merge, R"({"status":{"replicas":7}})");
  CHECK(mp.body["status"]["replicas"] == 3);
  Reply sp = s.patch(d, "v1", "default", "web", PatchType::Merge,
                     R"({"spec":{"replicas":1},"status":{"replicas":7}})", Sub::Status);
  CHECK(sp.body["status"]["replicas"] == 7);
  CHECK(sp.body["spec"]["replicas"] == 4);
}

TEST_CASE("finalizers: delete sets deletionTimestamp, object goes when the last finalizer is removed") {
  Store s;
  auto r = res(s, "", "v1", "configmaps");
  json o = cm("f");
  o["metadata"]["finalizers"] = {"example.com/keep"};
  REQUIRE(s.create(r, "v1", "default", o).code == 201);
  Reply del = s.remove(r, "v1", "default", "f");
  REQUIRE(del.code == 200);
  CHECK(del.body["kind"] == "ConfigMap");
  CHECK(del.body["metadata"].contains("deletionTimestamp"));
  json cur = s.get(r, "v1", "default", "f").body;
  CHECK(cur["metadata"].contains("deletionTimestamp"));

  json more = cur;
  more["metadata"]["finalizers"].push_back("example.com/new");
  CHECK(s.update(r, "v1", "default", "f", more).code == 422);

  cur["metadata"]["finalizers"] = json::array();
  Reply last = s.update(r, "v1", "default", "f", cur);
  CHECK(last.code == 200);
  CHECK(s.get(r, "v1", "default", "f").code == 404);
}

TEST_CASE("delete: preconditions, Status Success for built-ins, the object for custom resources") {
  Store s;
  auto r = res(s, "", "v1", "configmaps");
  json o = s.create(r, "v1", "default", cm("p")).body;
  Reply bad_uid = s.remove(r, "v1", "default", "p", {{"preconditions", {{"uid", "nope"}}}});
  CHECK(bad_uid.code == 409);
  CHECK(bad_uid.body["message"].get<std::string>().find("Precondition failed: UID") != std::string::npos);
  CHECK(s.remove(r, "v1", "default", "p", {{"preconditions", {{"resourceVersion", "1"}}}}).code == 409);
  Reply ok = s.remove(r, "v1", "default", "p",
                      {{"preconditions", {{"uid", o["metadata"]["uid"]}, {"resourceVersion", rv_of(o)}}},
                       {"propagationPolicy", "Foreground"}});
  CHECK(ok.code == 200);
  CHECK(ok.body["status"] == "Success");
  CHECK(ok.body["details"]["uid"] == o["metadata"]["uid"]);
  CHECK(s.remove(r, "v1", "default", "p").code == 404);
}

TEST_CASE("label and field selectors") {
  std::vector<LabelRequirement> reqs;
  std::string err;
  REQUIRE(parse_label_selector("app=web,tier in (a, b),env!=prod,!legacy,team,x==y,z notin (q)", reqs, err));
  CHECK(reqs.size() == 7);
  json labels = {{"app", "web"}, {"tier", "b"}, {"team", "t"}, {"x", "y"}};
  CHECK(labels_match(reqs, labels));
  labels["legacy"] = "1";
  CHECK_FALSE(labels_match(reqs, labels));
  CHECK_FALSE(parse_label_selector("app in (a", reqs, err));
  CHECK_FALSE(parse_label_selector("a=b c", reqs, err));

  Store s;
  auto r = res(s, "", "v1", "configmaps");
  s.create(r, "v1", "default", cm("a", {}, {{"app", "web"}, {"tier", "front"}}));
  s.create(r, "v1", "default", cm("b", {}, {{"app", "web"}, {"tier", "back"}}));
  s.create(r, "v1", "default", cm("c", {}, {{"app", "db"}}));
  s.create(r, "v1", "kube-system", cm("d", {}, {{"app", "web"}}));
  auto names = [&](const std::string& ns, const std::string& ls, const std::string& fs = "") {
    ListOptions lo;
    lo.label_selector = ls;
    lo.field_selector = fs;
    Reply l = s.list(r, "v1", ns, lo);
    REQUIRE(l.code == 200);
    std::vector<std::string> out;
    for (auto& i : l.body["items"]) out.push_back(i["metadata"]["name"]);
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(names("default", "app=web") == V{"a", "b"});
  CHECK(names("", "app==web") == V{"a", "b", "d"});
  CHECK(names("default", "app!=web") == V{"c"});
  CHECK(names("default", "tier in (front,x)") == V{"a"});
  CHECK(names("default", "tier notin (front)") == V{"b", "c"});
  CHECK(names("default", "tier") == V{"a", "b"});
  CHECK(names("default", "!tier") == V{"c"});
  CHECK(names("", "", "metadata.name=b") == V{"b"});
  CHECK(names("", "", "metadata.namespace=kube-system") == V{"d"});
  CHECK(names("", "app=web", "metadata.namespace!=kube-system") == V{"a", "b"});
  ListOptions bad;
  bad.field_selector = "spec.foo=bar";
  CHECK(s.list(r, "v1", "", bad).code == 400);
  bad = {};
  bad.label_selector = "app in (";
  CHECK(s.list(r, "v1", "", bad).code == 400);
}

TEST_CASE("list paging with limit/continue serves a stable snapshot") {
  Store s;
  auto r = res(s, "", "v1", "configmaps");
  for (int i = 0; i < 5; ++i) s.create(r, "v1", "default", cm("cm" + std::to_string(i)));
  ListOptions lo;
  lo.limit = 2;
  Reply p1 = s.list(r, "v1", "default", lo);
  REQUIRE(p1.body["items"].size() == 2);
  CHECK(p1.body["kind"] == "ConfigMapList");
  CHECK(p1.body["metadata"]["remainingItemCount"] == 3);
  std::string list_rv = p1.body["metadata"]["resourceVersion"];
  s.create(r, "v1", "default", cm("cm9"));  // not visible to the paged list
  s.remove(r, "v1", "default", "cm4");      // still visible to the paged list
  lo.continue_token = p1.body["metadata"]["continue"];
  Reply p2 = s.list(r, "v1", "default", lo);
  CHECK(p2.body["items"][0]["metadata"]["name"] == "cm2");
  CHECK(p2.body["metadata"]["resourceVersion"] == list_rv);
  lo.continue_token = p2.body["metadata"]["continue"];
  Reply p3 = s.list(r, "v1", "default", lo);
  CHECK(p3.body["items"].size() == 1);
  CHECK(p3.body["items"][0]["metadata"]["name"] == "cm4");
  CHECK_FALSE(p3.body["metadata"].contains("continue"));
  lo.continue_token = "garbage!";
  CHECK(s.list(r, "v1", "default", lo).code == 400);
}

TEST_CASE("a continue token expires once its resourceVersion leaves the window") {
  StoreOptions opt;
  opt.watch_window = 3;
  Store s(opt);
  auto r = res(s, "", "v1", "configmaps");
  for (int i = 0; i < 3; ++i) s.create(r, "v1", "default", cm("cm" + std::to_string(i)));
  ListOptions lo;
  lo.limit = 1;
  Reply p1 = s.list(r, "v1", "default", lo);
  for (int i = 0; i < 5; ++i) s.create(r, "v1", "default", cm("x" + std::to_string(i)));
  lo.continue_token = p1.body["metadata"]["continue"];
  Reply p2 = s.list(r, "v1", "default", lo);
  CHECK(p2.code == 410);
  CHECK(p2.body["reason"] == "Expired");
}

TEST_CASE("watch: initial state, events from a resourceVersion, selector transitions, 410, close") {
  StoreOptions opt;
  opt.watch_window = 10;
  Store s(opt);
  auto r = res(s, "", "v1", "configmaps");
  json a = s.create(r, "v1", "default", cm("a", {}, {{"w", "1"}})).body;
  auto deadline = [] { return std::chrono::steady_clock::now() + 200ms; };

  WatchOptions all;
  auto w0 = std::get<std::unique_ptr<Watch>>(s.watch(r, "v1", "default", all));
  auto ev = w0->next(deadline());
  REQUIRE(ev.size() == 1);
  CHECK(ev[0]["type"] == "ADDED");
  CHECK(ev[0]["object"]["kind"] == "ConfigMap");

  WatchOptions from;
  from.resource_version = rv_of(a);
  from.label_selector = "w=1";
  auto w = std::get<std::unique_ptr<Watch>>(s.watch(r, "v1", "default", from));
  CHECK(w->next(deadline()).empty());
  json b = s.create(r, "v1", "default", cm("b", {}, {{"w", "1"}})).body;
  s.create(r, "v1", "default", cm("c", {}, {{"w", "2"}}));  // filtered out
  b["data"] = {{"k", "v"}};
  b = s.update(r, "v1", "default", "b", b).body;
  b["metadata"]["labels"]["w"] = "2";  // leaves the selector: DELETED
  s.update(r, "v1", "default", "b", b);
  s.remove(r, "v1", "default", "a");
  std::vector<std::string> types;
  for (int i = 0; i < 5 && types.size() < 4; ++i)
    for (auto& e : w->next(deadline())) types.push_back(e["type"].get<std::string>() + ":" + e["object"]["metadata"]["name"].get<std::string>());
  CHECK(types == std::vector<std::string>{"ADDED:b", "MODIFIED:b", "DELETED:b", "DELETED:a"});
  json bm = w->bookmark();
  CHECK(bm["type"] == "BOOKMARK");
  CHECK(bm["object"]["metadata"]["resourceVersion"] == std::to_string(s.resource_version()));

  for (int i = 0; i < 12; ++i) s.create(r, "v1", "default", cm("n" + std::to_string(i)));
  WatchOptions old;
  old.resource_version = rv_of(a);
  auto wg = std::get<std::unique_ptr<Watch>>(s.watch(r, "v1", "default", old));
  auto g = wg->next(deadline());
  REQUIRE(g.size() == 1);
  CHECK(g[0]["type"] == "ERROR");
  CHECK(g[0]["object"]["code"] == 410);
  CHECK(g[0]["object"]["reason"] == "Expired");
  CHECK(wg->closed());

  WatchOptions now;
  now.resource_version = std::to_string(s.resource_version());
  auto wc = std::get<std::unique_ptr<Watch>>(s.watch(r, "v1", "", now));
  s.close_watches();
  CHECK(wc->next(deadline()).empty());
  CHECK(wc->closed());
}

TEST_CASE("patch types: merge, JSON patch with test, strategic as merge, server-side apply") {
  Store s;
  auto r = res(s, "", "v1", "configmaps");
  s.create(r, "v1", "default", cm("p", {{"a", "1"}, {"b", "2"}}));
  Reply m = s.patch(r, "v1", "default", "p", PatchType::Merge, R"({"data":{"a":null,"c":"3"}})");
  CHECK(m.body["data"] == json{{"b", "2"}, {"c", "3"}});
  Reply j = s.patch(r, "v1", "default", "p", PatchType::Json,
                    R"([{"op":"test","path":"/data/b","value":"2"},{"op":"replace","path":"/data/b","value":"x"}])");
  CHECK(j.code == 200);
  CHECK(j.body["data"]["b"] == "x");
  Reply jf = s.patch(r, "v1", "default", "p", PatchType::Json, R"([{"op":"test","path":"/data/b","value":"2"}])");
  CHECK(jf.code == 422);
  CHECK(s.patch(r, "v1", "default", "p", PatchType::Merge, "{not json").code == 400);
  Reply st = s.patch(r, "v1", "default", "p", PatchType::Strategic, R"({"$patch":"merge","data":{"d":"4"}})");
  CHECK(st.body["data"]["d"] == "4");
  CHECK_FALSE(st.body.contains("$patch"));
  // A patch carrying a stale resourceVersion is a conflict.
  CHECK(s.patch(r, "v1", "default", "p", PatchType::Merge, R"({"metadata":{"resourceVersion":"1"}})").code == 409);
  CHECK(s.patch(r, "v1", "default", "nope", PatchType::Merge, "{}").code == 404);

  // Server-side apply: create, update by the same manager, conflict with another, force.
  auto d = res(s, "apps", "v1", "deployments");
  std::string cfg = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    team: a\n"
                    "spec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app: web\n";
  Reply c = s.patch(d, "v1", "default", "web", PatchType::Apply, cfg, Sub::Main, "ebb");
  CHECK(c.code == 201);
  CHECK(c.body["spec"]["replicas"] == 3);
  CHECK(s.patch(d, "v1", "default", "web", PatchType::Apply, cfg, Sub::Main, "").code == 400);
  Reply other = s.patch(d, "v1", "default", "web", PatchType::Apply,
                        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 5\n",
                        Sub::Main, "hpa");
  CHECK(other.code == 409);
  CHECK(other.body["reason"] == "Conflict");
  CHECK(other.body["details"]["causes"][0]["field"] == ".spec.replicas");
  Reply forced = s.patch(d, "v1", "default", "web", PatchType::Apply,
                         "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 5\n",
                         Sub::Main, "hpa", true);
  CHECK(forced.code == 200);
  CHECK(forced.body["spec"]["replicas"] == 5);
  CHECK(forced.body["metadata"]["generation"] == 2);
  // ebb drops its label and replicas: the label goes, replicas (now owned by "hpa") stays.
  Reply dropped = s.patch(d, "v1", "default", "web", PatchType::Apply,
                          "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
                          "spec:\n  selector:\n    matchLabels:\n      app: web\n",
                          Sub::Main, "ebb");
  CHECK(dropped.code == 200);
  CHECK_FALSE(dropped.body["metadata"].contains("labels"));
  CHECK(dropped.body["spec"]["replicas"] == 5);
}

TEST_CASE("scale subresource for deployments") {
  Store s(without_controllers());
  auto d = res(s, "apps", "v1", "deployments");
  json obj = s.create(d, "v1", "default", deployment("web", 2)).body;
  Reply g = s.get_scale(d, "default", "web");
  REQUIRE(g.code == 200);
  CHECK(g.body["kind"] == "Scale");
  CHECK(g.body["apiVersion"] == "autoscaling/v1");
  CHECK(g.body["spec"]["replicas"] == 2);
  CHECK(g.body["status"]["selector"] == "app=web");
  json sc = g.body;
  sc["spec"]["replicas"] = 4;
  Reply u = s.update_scale(d, "default", "web", sc);
  CHECK(u.code == 200);
  CHECK(u.body["spec"]["replicas"] == 4);
  CHECK(s.get(d, "v1", "default", "web").body["spec"]["replicas"] == 4);
  CHECK(s.get(d, "v1", "default", "web").body["metadata"]["generation"] == 2);
  CHECK(s.update_scale(d, "default", "web", sc).code == 409);  // stale RV
  sc["metadata"].erase("resourceVersion");
  sc["spec"]["replicas"] = -1;
  CHECK(s.update_scale(d, "default", "web", sc).code == 422);
  Reply p = s.patch_scale(d, "default", "web", PatchType::Merge, R"({"spec":{"replicas":0}})");
  CHECK(p.body["spec"]["replicas"] == 0);
  CHECK(s.get_scale(d, "default", "nope").code == 404);
}

TEST_CASE("CRDs: served versions, scope, status and scale subresources with custom paths") {
  Store s;
  auto crds = res(s, "apiextensions.k8s.io", "v1", "customresourcedefinitions");
  json bad = widget_crd();
  bad["metadata"]["name"] = "wrong";
  CHECK(s.create(crds, "v1", "", bad).code == 422);
  Reply c = s.create(crds, "v1", "", widget_crd());
  REQUIRE(c.code == 201);
  CHECK(c.body["status"]["conditions"][1]["type"] == "Established");
  auto w = res(s, "example.com", "v1", "widgets");
  CHECK(w.has_status);
  CHECK(w.has_scale);
  CHECK(w.namespaced);
  CHECK(s.find("example.com", "v2", "widgets"));
  json obj = {{"apiVersion", "example.com/v1"}, {"kind", "Widget"}, {"metadata", {{"name", "w1"}}},
              {"spec", {{"size", 2}}}, {"status", {{"size", 5}}}};
  Reply cw = s.create(w, "v1", "default", obj);
  REQUIRE(cw.code == 201);
  CHECK_FALSE(cw.body.contains("status"));
  // Custom resources need a resourceVersion on update.
  json noRv = cw.body;
  noRv["metadata"].erase("resourceVersion");
  CHECK(s.update(w, "v1", "default", "w1", noRv).code == 422);
  json st = cw.body;
  st["status"] = {{"size", 1}, {"selector", "app=w"}};
  REQUIRE(s.update(w, "v1", "default", "w1", st, Sub::Status).code == 200);
  Reply sc = s.get_scale(w, "default", "w1");
  CHECK(sc.body["spec"]["replicas"] == 2);
  CHECK(sc.body["status"]["replicas"] == 1);
  CHECK(sc.body["status"]["selector"] == "app=w");
  Reply ps = s.patch_scale(w, "default", "w1", PatchType::Merge, R"({"spec":{"replicas":7}})");
  CHECK(ps.code == 200);
  CHECK(s.get(w, "v2", "default", "w1").body["spec"]["size"] == 7);
  CHECK(s.get(w, "v2", "default", "w1").body["apiVersion"] == "example.com/v2");
  ListOptions lo;
  Reply l = s.list(w, "v1", "default", lo);
  CHECK(l.body["items"][0]["kind"] == "Widget");  // custom resource lists carry kind
  Reply del = s.remove(w, "v1", "default", "w1");
  CHECK(del.body["kind"] == "Widget");  // and DELETE returns the object
  s.create(w, "v1", "default", obj);
  REQUIRE(s.remove(crds, "v1", "", "widgets.example.com").code == 200);
  CHECK_FALSE(s.find("example.com", "v1", "widgets"));
}

TEST_CASE("namespaces: default ones exist, deleting one removes its contents and waits for finalizers") {
  Store s;
  auto nsr = res(s, "", "v1", "namespaces");
  CHECK(s.get(nsr, "v1", "", "default").code == 200);
  CHECK(s.get(nsr, "v1", "", "kube-system").code == 200);
  REQUIRE(s.create(nsr, "v1", "", {{"metadata", {{"name", "t1"}}}}).code == 201);
  auto r = res(s, "", "v1", "configmaps");
  s.create(r, "v1", "t1", cm("plain"));
  json held = cm("held");
  held["metadata"]["finalizers"] = {"x/y"};
  s.create(r, "v1", "t1", held);
  Reply d = s.remove(nsr, "v1", "", "t1");
  CHECK(d.code == 200);
  CHECK(d.body["status"]["phase"] == "Terminating");
  CHECK(s.get(r, "v1", "t1", "plain").code == 404);
  CHECK(s.create(r, "v1", "t1", cm("late")).code == 403);
  json h = s.get(r, "v1", "t1", "held").body;
  h["metadata"]["finalizers"] = json::array();
  s.update(r, "v1", "t1", "held", h);
  CHECK(s.get(nsr, "v1", "", "t1").code == 404);
}

TEST_CASE("keda.sh can be pre-registered, and the authentication ConfigMap hook") {
  StoreOptions opt;
  opt.preregister_keda = true;
  opt.extension_apiserver_authentication = json{{"client-ca-file", "PEM"}};
  Store s(opt);
  auto so = res(s, "keda.sh", "v1alpha1", "scaledobjects");
  CHECK(so.short_names == std::vector<std::string>{"so"});
  CHECK(so.has_status);
  auto cta = res(s, "keda.sh", "v1alpha1", "clustertriggerauthentications");
  CHECK_FALSE(cta.namespaced);
  auto r = res(s, "", "v1", "configmaps");
  CHECK(s.get(r, "v1", "kube-system", "extension-apiserver-authentication").body["data"]["client-ca-file"] == "PEM");
  Store plain;
  CHECK_FALSE(plain.find("keda.sh", "v1alpha1", "scaledobjects"));
}

TEST_CASE(
    "events.k8s.io/v1: required fields and byte limits are enforced on create, as kube-apiserver "
    "does") {
  Store s;
  auto ev = res(s, "events.k8s.io", "v1", "events");
  json event = {
      {"apiVersion", "events.k8s.io/v1"},
      {"kind", "Event"},
      {"metadata", {{"name", "so.1"}}},
      {"eventTime", "2026-01-01T00:00:00.000000Z"},
      {"reportingController", "keda.sh/ebb-operator"},
      {"reportingInstance", "ebb-operator-0"},
      {"action", "ScaledObjectCheckFailed"},
      {"reason", "ScaledObjectCheckFailed"},
      {"note", "no listName"},
      {"type", "Warning"},
      {"regarding", {{"kind", "ScaledObject"}, {"name", "so"}, {"namespace", "default"}}}};
  CHECK(s.create(ev, "v1", "default", event).code == 201);

  json long_action = event;
  long_action["metadata"]["name"] = "so.2";
  long_action["action"] = std::string(129, 'a');
  Reply refused = s.create(ev, "v1", "default", long_action);
  CHECK(refused.code == 422);
  CHECK(refused.body["message"].get<std::string>().find("action: Invalid value") !=
        std::string::npos);

  json long_note = event;
  long_note["metadata"]["name"] = "so.3";
  long_note["note"] = std::string(1025, 'n');
  CHECK(s.create(ev, "v1", "default", long_note).code == 422);

  json missing = event;
  missing["metadata"]["name"] = "so.4";
  missing.erase("reportingController");
  missing["type"] = "Info";
  Reply both = s.create(ev, "v1", "default", missing);
  CHECK(both.code == 422);
  CHECK(both.body["details"]["causes"].size() == 2);
}
