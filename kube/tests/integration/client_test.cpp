// kube::Client against an API server: the in-process test API server, or a real cluster when
// EBB_TEST_KUBECONFIG is set (see target.h). [faults] tests need the test server and skip there.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "store.h"
#include "support.h"
#include "target.h"

using namespace ebb;
using namespace ebb::kube;
using namespace std::chrono_literals;
using ebb::testapi::Fault;

namespace {

Object configmap(const std::string& ns, const std::string& name, Object labels = Object::object(),
                 Object data = Object::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
          {"data", data}};
}

Object deployment(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"replicas", 1},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec", {{"containers", {{{"name", "main"}, {"image", "registry.k8s.io/pause:3.9"}}}}}}}}}}};
}

std::vector<std::string> names(const std::vector<Object>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(meta_string(item, "name"));
  std::sort(out.begin(), out.end());
  return out;
}

// Requests in the log whose path ends with `suffix`.
std::vector<testapi::LoggedRequest> logged(testapi::TestApiServer& server, const std::string& method,
                                           const std::string& suffix) {
  std::vector<testapi::LoggedRequest> out;
  for (auto& r : server.request_log()) {
    if (r.method == method && r.path.size() >= suffix.size() &&
        r.path.compare(r.path.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("integration: get, list with label/field selectors and paging") {
  it::Target target;
  auto client = target.client();
  const auto& ns = target.ns();
  auto cm = resources::configmaps();
  REQUIRE(client->create(cm, configmap(ns, "web-1", {{"app", "web"}, {"tier", "front"}})));
  REQUIRE(client->create(cm, configmap(ns, "web-2", {{"app", "web"}})));
  REQUIRE(client->create(cm, configmap(ns, "api-1", {{"app", "api"}})));

  auto got = client->get(cm, ns, "web-1");
  REQUIRE(got);
  CHECK((*got)["metadata"]["labels"]["tier"] == "front");
  CHECK_FALSE(meta_string(*got, "uid").empty());

  auto by_label = [&](const std::string& selector) {
    auto list = client->list(cm, ns, {.label_selector = selector});
    REQUIRE(list);
    std::vector<Object> ours;
    for (auto& item : list->items) {
      if (labels_of(item).count("app")) ours.push_back(item);  // real clusters add kube-root-ca.crt
    }
    return names(ours);
  };
  CHECK(by_label("app=web") == std::vector<std::string>{"web-1", "web-2"});
  CHECK(by_label("app!=web,app") == std::vector<std::string>{"api-1"});
  CHECK(by_label("app in (web,api),!tier") == std::vector<std::string>{"api-1", "web-2"});
  CHECK(by_label("app notin (web)") == std::vector<std::string>{"api-1"});

  auto by_field = client->list(cm, ns, {.field_selector = "metadata.name=web-2"});
  REQUIRE(by_field);
  CHECK(names(by_field->items) == std::vector<std::string>{"web-2"});
  CHECK(by_field->items[0]["kind"] == "ConfigMap");
  CHECK_FALSE(by_field->resource_version.empty());

  auto page = client->list(cm, ns, {.label_selector = "app", .limit = 2});
  REQUIRE(page);
  CHECK(page->items.size() == 2);
  REQUIRE_FALSE(page->continue_token.empty());
  auto rest = client->list(cm, ns, {.label_selector = "app", .limit = 2, .continue_token = page->continue_token});
  REQUIRE(rest);
  CHECK(rest->items.size() == 1);
  CHECK(rest->continue_token.empty());

  auto all = client->list_all(cm, ns, {.label_selector = "app", .limit = 1});
  REQUIRE(all);
  CHECK(names(all->items) == std::vector<std::string>{"api-1", "web-1", "web-2"});
}

TEST_CASE("integration: create, update, patch (merge, JSON, apply) and delete with preconditions") {
  it::Target target;
  auto client = target.client();
  const auto& ns = target.ns();
  auto cm = resources::configmaps();

  auto created = client->create(cm, configmap(ns, "c", {{"app", "x"}}, {{"k", "1"}}), {.field_manager = "ebb-test"});
  REQUIRE(created);
  const std::string uid = meta_string(*created, "uid");

  Object changed = *created;
  changed["data"]["k"] = "2";
  auto updated = client->update(cm, changed);
  REQUIRE(updated);
  CHECK((*updated)["data"]["k"] == "2");
  CHECK(resource_version(*updated) != resource_version(*created));

  // The same stale write again: 409 Conflict, not AlreadyExists.
  auto stale = client->update(cm, changed);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().conflict());
  CHECK_FALSE(stale.error().already_exists());

  auto merged = client->patch(cm, ns, "c", PatchType::merge, {{"metadata", {{"labels", {{"merged", "yes"}}}}}, {"data", {{"k", nullptr}}}});
  REQUIRE(merged);
  CHECK((*merged)["metadata"]["labels"]["merged"] == "yes");
  CHECK((*merged)["metadata"]["labels"]["app"] == "x");
  // Removing the last key empties `data`, and the API server drops an empty map (Go omitempty):
  // the field is gone, not `{}`.
  CHECK_FALSE(merged->contains("data"));

  auto json_patched = client->patch(
      cm, ns, "c", PatchType::json,
      Object::array({{{"op", "add"}, {"path", "/data"}, {"value", {{"j", "v"}}}},
                     {{"op", "test"}, {"path", "/metadata/labels/app"}, {"value", "x"}}}));
  REQUIRE(json_patched);
  CHECK((*json_patched)["data"]["j"] == "v");
  auto failed_test = client->patch(cm, ns, "c", PatchType::json,
                                   Object::array({{{"op", "test"}, {"path", "/data/j"}, {"value", "other"}}}));
  REQUIRE_FALSE(failed_test);
  CHECK(failed_test.error().invalid());

  // Server-side apply: create-or-merge, ownership per manager, conflicts, force.
  Object applied_a{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "applied"}, {"namespace", ns}}},
                   {"data", {{"owner", "a"}, {"a-only", "1"}}}};
  auto first_apply = client->apply(cm, applied_a, "manager-a");
  REQUIRE(first_apply);
  CHECK((*first_apply)["data"]["owner"] == "a");
  Object applied_b = applied_a;
  applied_b["data"] = {{"owner", "b"}};
  auto conflict = client->apply(cm, applied_b, "manager-b");
  REQUIRE_FALSE(conflict);
  CHECK(conflict.error().code == 409);
  CHECK(conflict.error().conflict());
  auto forced = client->apply(cm, applied_b, "manager-b", true);
  REQUIRE(forced);
  CHECK((*forced)["data"]["owner"] == "b");
  CHECK((*forced)["data"]["a-only"] == "1");

  // Delete preconditions: a wrong uid or resourceVersion is a 409 Conflict; the object stays.
  auto wrong_uid = client->remove(cm, ns, "c", {.precondition_uid = "00000000-0000-0000-0000-000000000000"});
  REQUIRE_FALSE(wrong_uid);
  CHECK(wrong_uid.error().conflict());
  auto wrong_rv = client->remove(cm, ns, "c", {.precondition_resource_version = resource_version(*created)});
  REQUIRE_FALSE(wrong_rv);
  CHECK(wrong_rv.error().conflict());
  REQUIRE(client->get(cm, ns, "c"));
  auto deleted = client->remove(cm, ns, "c",
                                {.precondition_uid = uid, .precondition_resource_version = resource_version(*json_patched),
                                 .propagation_policy = "Background"});
  REQUIRE(deleted);
  auto gone = client->get(cm, ns, "c");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().not_found());
}

TEST_CASE("integration: typed errors 404, 409 AlreadyExists vs Conflict, 422") {
  it::Target target;
  auto client = target.client();
  const auto& ns = target.ns();
  auto cm = resources::configmaps();

  auto missing = client->get(cm, ns, "nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().not_found());
  CHECK(missing.error().reason == "NotFound");

  REQUIRE(client->create(cm, configmap(ns, "dup")));
  auto again = client->create(cm, configmap(ns, "dup"));
  REQUIRE_FALSE(again);
  CHECK(again.error().already_exists());
  CHECK_FALSE(again.error().conflict());

  auto invalid = client->create(cm, configmap(ns, "Not_A_Valid_Name"));
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().invalid());
  CHECK(invalid.error().reason == "Invalid");
}

TEST_CASE("integration: 410 Gone for a watch from a resourceVersion outside the window", "[faults]") {
  EBB_NEEDS_TEST_SERVER();
  it::Target target(testapi::TestApiServerOptions{.watch_window = 3});
  auto client = target.client();
  const auto& ns = target.ns();
  auto cm = resources::configmaps();
  auto first = client->create(cm, configmap(ns, "w"));
  REQUIRE(first);
  for (int i = 0; i < 5; ++i) REQUIRE(client->patch(cm, ns, "w", PatchType::merge, {{"data", {{"i", std::to_string(i)}}}}));
  auto watched = client->watch(cm, ns, {.resource_version = resource_version(*first)}, [](WatchEvent&) { return true; });
  REQUIRE_FALSE(watched);
  CHECK(watched.error().gone());
  CHECK(watched.error().code == 410);
}

TEST_CASE("integration: Deployment status and scale subresources") {
  it::Target target;
  auto client = target.client();
  const auto& ns = target.ns();
  auto deploy = resources::deployments();
  auto created = client->create(deploy, deployment(ns, "d"));
  REQUIRE(created);
  CHECK((*created)["spec"]["replicas"] == 1);

  // The status subresource changes only status (retried: a real controller writes it too).
  auto with_status = client->read_modify_write(deploy, ns, "d", [](Object& o) {
    o["status"]["replicas"] = 7;
    o["spec"]["replicas"] = 5;  // ignored by /status
    return true;
  }, {.status = true});
  REQUIRE(with_status);
  CHECK((*with_status)["status"]["replicas"] == 7);
  CHECK((*with_status)["spec"]["replicas"] == 1);
  // And a main-resource update ignores status.
  auto main_update = client->read_modify_write(deploy, ns, "d", [](Object& o) {
    o["status"]["replicas"] = 99;
    o["metadata"]["labels"]["touched"] = "yes";
    return true;
  });
  REQUIRE(main_update);
  CHECK((*main_update)["metadata"]["labels"]["touched"] == "yes");
  CHECK((*main_update)["status"].value("replicas", 0) != 99);

  // A conditional scale write with the resourceVersion just read: the Deployment controller may
  // write status in between (it does after every spec change), so a 409 means read again.
  auto scale = client->get_scale(deploy, ns, "d");
  REQUIRE(scale);
  CHECK(scale->replicas == 1);
  CHECK(scale->raw["kind"] == "Scale");
  auto scaled = client->update_scale(deploy, ns, "d", 3, scale->resource_version);
  for (int attempt = 0; attempt < 10 && !scaled && scaled.error().conflict(); ++attempt) {
    std::this_thread::sleep_for(100ms);
    scale = client->get_scale(deploy, ns, "d");
    REQUIRE(scale);
    scaled = client->update_scale(deploy, ns, "d", 3, scale->resource_version);
  }
  REQUIRE(scaled);
  CHECK(scaled->replicas == 3);
  auto stale = client->update_scale(deploy, ns, "d", 4, scale->resource_version);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().conflict());
  auto patched = client->patch_scale(deploy, ns, "d", 2);
  REQUIRE(patched);
  CHECK(patched->replicas == 2);
  auto after = client->get(deploy, ns, "d");
  REQUIRE(after);
  CHECK((*after)["spec"]["replicas"] == 2);
  CHECK((*after)["metadata"]["generation"].get<int>() >= 3);
  auto negative = client->update_scale(deploy, ns, "d", -1);
  REQUIRE_FALSE(negative);
  CHECK(negative.error().invalid());
}

TEST_CASE("integration: read_modify_write retries a real 409 race with a fresh read") {
  it::Target target;
  auto client = target.client();
  auto rival = target.client();
  const auto& ns = target.ns();
  auto cm = resources::configmaps();
  REQUIRE(client->create(cm, configmap(ns, "counter", {}, {{"a", "0"}, {"b", "0"}})));

  int calls = 0;
  auto result = client->read_modify_write(cm, ns, "counter", [&](Object& o) {
    ++calls;
    if (calls == 1) {
      // Another writer gets in between our read and our write.
      auto other = rival->patch(cm, ns, "counter", PatchType::merge, {{"data", {{"b", "1"}}}});
      REQUIRE(other);
    }
    o["data"]["a"] = "1";
    return true;
  });
  REQUIRE(result);
  CHECK(calls == 2);
  CHECK((*result)["data"]["a"] == "1");
  CHECK((*result)["data"]["b"] == "1");  // the rival's write survived: we re-read

  // No change wanted: no write.
  auto unchanged = client->read_modify_write(cm, ns, "counter", [](Object&) { return false; });
  REQUIRE(unchanged);
  CHECK(resource_version(*unchanged) == resource_version(*result));

  // Concurrent increments all land.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      auto own = target.client();
      for (int i = 0; i < 5; ++i) {
        auto r = own->read_modify_write(cm, ns, "counter", [](Object& o) {
          o["data"]["n"] = std::to_string(std::stoi(o["data"].value("n", "0")) + 1);
          return true;
        }, {.attempts = 50});
        if (!r) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  auto final = client->get(cm, ns, "counter");
  REQUIRE(final);
  CHECK((*final)["data"]["n"] == "15");
}

TEST_CASE("integration: 500s retried for GET only, 429 retried for POST after Retry-After", "[faults]") {
  EBB_NEEDS_TEST_SERVER();
  it::Target target;
  auto& server = target.server();
  RestOptions options;
  options.backoff = Backoff{10ms, 2.0, 50ms, 0.5};
  auto client = target.client(options);
  const auto& ns = target.ns();
  auto cm = resources::configmaps();
  REQUIRE(client->create(cm, configmap(ns, "r")));

  server.clear_request_log();
  server.inject({.kind = Fault::Kind::Error, .status = 500, .count = 2, .method = "^GET$", .path = "/configmaps/r$"});
  auto got = client->get(cm, ns, "r");
  REQUIRE(got);
  auto gets = logged(server, "GET", "/configmaps/r");
  REQUIRE(gets.size() == 3);
  CHECK(gets[0].code == 500);
  CHECK(gets[1].code == 500);
  CHECK(gets[2].code == 200);

  // A POST may have been applied: a 500 is not retried.
  server.clear_request_log();
  server.inject({.kind = Fault::Kind::Error, .status = 500, .count = 1, .method = "^POST$"});
  auto failed = client->create(cm, configmap(ns, "p"));
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == 500);
  CHECK(logged(server, "POST", "/configmaps").size() == 1);

  // 429: not run by the server, so any verb is retried, no sooner than Retry-After.
  server.clear_request_log();
  server.inject({.kind = Fault::Kind::Error, .status = 429, .retry_after_seconds = 1, .count = 1, .method = "^POST$"});
  const auto start = std::chrono::steady_clock::now();
  auto created = client->create(cm, configmap(ns, "p"));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE(created);
  auto posts = logged(server, "POST", "/configmaps");
  REQUIRE(posts.size() == 2);
  CHECK(posts[0].code == 429);
  CHECK(posts[1].code == 201);
  CHECK(elapsed >= 1s);
  CHECK(elapsed < 3s);
  CHECK(client->rest().stats().retries >= 1);
}

TEST_CASE("integration: the rate limiter does not throttle below its limits") {
  it::Target target;
  const auto& ns = target.ns();
  auto cm = resources::configmaps();
  {
    auto defaults = target.client();
    REQUIRE(defaults->create(cm, configmap(ns, "rl")));
    for (int i = 0; i < 100; ++i) REQUIRE(defaults->get(cm, ns, "rl"));
    // Nothing beyond bookkeeping noise: no request waited for a token.
    CHECK(defaults->rest().stats().throttled_ns < std::chrono::nanoseconds(5ms).count());
  }
  // A small bucket: within the burst no wait; beyond it, calls are paced at qps.
  RestOptions small;
  small.qps = 20;
  small.burst = 10;
  auto limited = target.client(small);
  for (int i = 0; i < 10; ++i) REQUIRE(limited->get(cm, ns, "rl"));
  CHECK(limited->rest().stats().throttled_ns < std::chrono::nanoseconds(20ms).count());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) REQUIRE(limited->get(cm, ns, "rl"));
  CHECK(std::chrono::steady_clock::now() - start >= 350ms);  // ~10 tokens at 20/s
}

TEST_CASE("integration: discovery finds the keda.sh ScaledObject CRD created at runtime") {
  it::Target target;
  auto client = target.client();
  const auto& ns = target.ns();
  auto crds = resources::custom_resource_definitions();
  const GroupVersionKind gvk{"keda.sh", "v1alpha1", "ScaledObject"};

  // The CRD users install (crds/), not a laxer one of the test's own: its schema decides what
  // the server accepts, on the test API server as on a cluster.
  const auto documents = testapi::yaml_documents(
      test::read_file(test::source_dir() + "/crds/keda.sh_scaledobjects.yaml"));
  REQUIRE(documents.size() == 1);
  const Object& crd = documents.front();
  REQUIRE(crd["metadata"]["name"] == "scaledobjects.keda.sh");
  bool created_here = false;
  if (auto existing = client->get(crds, "", "scaledobjects.keda.sh"); !existing) {
    REQUIRE(existing.error().not_found());
    // Not there yet: discovery says so (and caches nothing wrong).
    auto before = client->discovery().resource_for(gvk);
    REQUIRE_FALSE(before);
    CHECK(before.error().not_found());
    REQUIRE(client->create(crds, crd));
    created_here = true;
  }
  // A real server needs a moment to establish the CRD; a miss refetches the group version.
  ApiResult<Resource> found = api_fail(0, "", "not tried");
  for (int i = 0; i < 100; ++i) {
    found = client->discovery().resource_for(gvk);
    if (found) break;
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(found);
  CHECK(found->resource == "scaledobjects");
  CHECK(found->namespaced);
  CHECK(found->has_subresource("status"));
  auto by_group = client->discovery().resource_for("keda.sh", "ScaledObject");
  REQUIRE(by_group);
  CHECK(by_group->version == "v1alpha1");

  Object so{{"apiVersion", "keda.sh/v1alpha1"},
            {"kind", "ScaledObject"},
            {"metadata", {{"name", "so"}, {"namespace", ns}}},
            {"spec", {{"scaleTargetRef", {{"name", "d"}}}, {"triggers", Object::array()}}}};
  // The schema requires at least one trigger.
  auto no_triggers = client->create(*found, so);
  REQUIRE_FALSE(no_triggers);
  CHECK(no_triggers.error().invalid());
  so["spec"]["triggers"] = Object::array(
      {{{"type", "redis"}, {"metadata", {{"address", "redis:6379"}, {"listName", "jobs"}}}}});
  auto so_created = client->create(*found, so);
  REQUIRE(so_created);
  auto so_list = client->list(*found, ns);
  REQUIRE(so_list);
  REQUIRE(so_list->items.size() == 1);
  CHECK(so_list->items[0]["kind"] == "ScaledObject");
  REQUIRE(client->remove(*found, ns, "so"));
  if (created_here) REQUIRE(client->remove(crds, "", "scaledobjects.keda.sh"));
}
