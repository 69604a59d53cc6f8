// Informer against an API server (target.h): every change reaches the handlers exactly once and
// in order per object, across watch resumes (closed watches) and relists (410 Gone).
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "ebb/kube/informer.h"
#include "support.h"
#include "target.h"

using namespace ebb;
using namespace ebb::kube;
using namespace std::chrono_literals;
using ebb::testapi::Fault;
using ebb::testapi::LoggedRequest;

namespace {

Object configmap(const std::string& ns, const std::string& name, const std::string& v) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"ebb-test", "informer"}}}}},
          {"data", {{"v", v}}}};
}

// Per object key, what the handlers saw: "add 1", "update 1->2", "delete 2" (data.v values).
struct Recorder {
  std::mutex mutex;
  std::map<std::string, std::vector<std::string>> seen;
  int total = 0;

  static std::string v(const Object& o) { return o.value("data", Object::object()).value("v", ""); }
  void record(const Object& o, std::string what) {
    std::lock_guard lock(mutex);
    seen[meta_string(o, "name")].push_back(std::move(what));
    ++total;
  }
  EventHandlers handlers() {
    return {[this](const Object& o) { record(o, "add " + v(o)); },
            [this](const Object& a, const Object& b) { record(b, "update " + v(a) + "->" + v(b)); },
            [this](const Object& o) { record(o, "delete " + v(o)); }};
  }
  int count() {
    std::lock_guard lock(mutex);
    return total;
  }
  std::map<std::string, std::vector<std::string>> snapshot() {
    std::lock_guard lock(mutex);
    return seen;
  }
  bool wait_for(int n, std::chrono::milliseconds limit = 5s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (count() >= n) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
};

InformerOptions options_for(const std::string& ns) {
  InformerOptions options;
  options.namespace_name = ns;
  options.label_selector = "ebb-test=informer";  // real clusters add kube-root-ca.crt to every namespace
  options.page_size = 2;
  options.watch.timeout = 5s;
  options.backoff = Backoff{10ms, 2.0, 100ms, 0.5};
  return options;
}

using History = std::map<std::string, std::vector<std::string>>;

std::uint16_t port_of(const std::string& url) {
  return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// Starts an informer on the ConfigMap "old" of namespace_and_map(..., 20) and returns once a
// change (v 21) came through its watch: a watch is open then.
void start_until_watching(Informer& informer, Recorder& recorder, Client& client,
                          const std::string& ns) {
  informer.start();
  REQUIRE(informer.wait_for_sync(5s));
  REQUIRE(recorder.wait_for(1));
  REQUIRE(client.patch(resources::configmaps(), ns, "old", PatchType::merge,
                       {{"data", {{"v", "21"}}}}));
  REQUIRE(recorder.wait_for(2));
}

// The namespace `ns` and a ConfigMap `name` in it, written `writes` times (data.v 1, 2, ...).
void namespace_and_map(Client& client, const std::string& ns, const std::string& name, int writes) {
  const auto cm = resources::configmaps();
  REQUIRE(client.create(
      resources::namespaces(),
      Object{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}}));
  REQUIRE(client.create(cm, configmap(ns, name, "1")));
  for (int v = 2; v <= writes; ++v)
    REQUIRE(client.patch(cm, ns, name, PatchType::merge, {{"data", {{"v", std::to_string(v)}}}}));
}

}  // namespace

TEST_CASE("informer integration: initial paged list, then adds, updates and deletes once each, in order") {
  it::Target target(testapi::TestApiServerOptions{.bookmark_interval = 100ms});
  auto client = target.client();
  const auto& ns = target.ns();
  auto cm = resources::configmaps();
  for (const char* name : {"p", "q", "r"}) REQUIRE(client->create(cm, configmap(ns, name, "1")));

  Recorder recorder;
  Informer informer(*client, cm, options_for(ns));
  informer.add_handlers(recorder.handlers());
  informer.start();
  REQUIRE(informer.wait_for_sync(5s));
  REQUIRE(recorder.wait_for(3));
  REQUIRE(client->patch(cm, ns, "p", PatchType::merge, {{"data", {{"v", "2"}}}}));
  REQUIRE(client->remove(cm, ns, "q"));
  REQUIRE(client->create(cm, configmap(ns, "s", "1")));
  REQUIRE(client->patch(cm, ns, "s", PatchType::merge, {{"data", {{"v", "2"}}}}));
  REQUIRE(client->patch(cm, ns, "p", PatchType::merge, {{"data", {{"v", "3"}}}}));
  REQUIRE(recorder.wait_for(8));
  std::this_thread::sleep_for(200ms);  // nothing more may arrive
  informer.stop();

  const History expected = {{"p", {"add 1", "update 1->2", "update 2->3"}},
                            {"q", {"add 1", "delete 1"}},
                            {"r", {"add 1"}},
                            {"s", {"add 1", "update 1->2"}}};
  CHECK(recorder.snapshot() == expected);
  CHECK(informer.cache().size() == 3);
  CHECK(informer.cache().by_namespace(ns).size() == 3);
  CHECK(informer.lists() == 1);
}

TEST_CASE("informer integration: resume after closed watches, relist after 410, each change once", "[faults]") {
  EBB_NEEDS_TEST_SERVER();
  it::Target target(testapi::TestApiServerOptions{.watch_window = 8, .bookmark_interval = 100ms});
  auto& server = target.server();
  auto client = target.client();
  const auto& ns = target.ns();
  auto cm = resources::configmaps();
  auto set = [&](const std::string& name, const std::string& v) {
    REQUIRE(client->patch(cm, ns, name, PatchType::merge, {{"data", {{"v", v}}}}));
  };

  Recorder recorder;
  Informer informer(*client, cm, options_for(ns));
  informer.add_handlers(recorder.handlers());
  informer.start();
  REQUIRE(informer.wait_for_sync(5s));
  REQUIRE(client->create(cm, configmap(ns, "a", "1")));
  REQUIRE(client->create(cm, configmap(ns, "b", "1")));
  set("a", "2");
  REQUIRE(recorder.wait_for(3));

  // Phase 1: every watch ends; the informer resumes from its resourceVersion (no relist).
  server.close_watches();
  set("a", "3");
  REQUIRE(client->remove(cm, ns, "b"));
  REQUIRE(client->create(cm, configmap(ns, "c", "1")));
  REQUIRE(recorder.wait_for(6));
  CHECK(informer.lists() == 1);
  CHECK(recorder.snapshot() == History{{"a", {"add 1", "update 1->2", "update 2->3"}},
                                       {"b", {"add 1", "delete 1"}},
                                       {"c", {"add 1"}}});

  // Phase 2: the informer cannot reach the server while more writes than the watch window
  // happen, so its resourceVersion expires: the next watch gets 410 and it relists.
  server.inject({.kind = Fault::Kind::Error, .status = 500, .count = 1'000'000, .method = "^GET$",
                 .path = "/namespaces/" + ns + "/configmaps$"});
  server.close_watches();
  std::this_thread::sleep_for(100ms);
  for (int v = 4; v <= 12; ++v) set("a", std::to_string(v));
  REQUIRE(client->remove(cm, ns, "c"));
  REQUIRE(client->create(cm, configmap(ns, "d", "1")));
  set("d", "2");
  server.clear_faults();
  REQUIRE(recorder.wait_for(9));
  std::this_thread::sleep_for(300ms);  // nothing more may arrive
  informer.stop();

  // While away, intermediate states are not observable: the relist diff reports each object's
  // net change once.
  CHECK(recorder.snapshot() == History{{"a", {"add 1", "update 1->2", "update 2->3", "update 3->12"}},
                                       {"b", {"add 1", "delete 1"}},
                                       {"c", {"add 1", "delete 1"}},
                                       {"d", {"add 2"}}});
  CHECK(informer.lists() == 2);
  CHECK(informer.cache().size() == 2);
  // The relist after 410 reads etcd's current state (no resourceVersion=0, which the first
  // list of the informer sends).
  std::vector<std::string> list_queries;
  for (const auto& r : server.request_log())
    if (r.method == "GET" && r.code == 200 &&
        r.path == "/api/v1/namespaces/" + ns + "/configmaps" &&
        r.query.find("watch") == std::string::npos)
      list_queries.push_back(r.query);
  REQUIRE(list_queries.size() >= 2);
  CHECK(list_queries.front().find("resourceVersion=0") != std::string::npos);
  CHECK(list_queries.back().find("resourceVersion=0") == std::string::npos);
  bool saw_410_watch = false;
  for (const auto& r : server.request_log()) {
    if (r.query.find("watch") != std::string::npos && r.code == 200 && r.path.find("/configmaps") != std::string::npos) {
      saw_410_watch = true;  // the 410 arrives as an ERROR event inside a 200 watch response
    }
  }
  CHECK(saw_410_watch);
}

TEST_CASE(
    "informer integration: the first list may come from the watch cache, a failed one falls back "
    "to the paged read",
    "[faults]") {
  EBB_NEEDS_TEST_SERVER();
  it::Target target(testapi::TestApiServerOptions{.bookmark_interval = 100ms});
  auto& server = target.server();
  auto client = target.client();
  const auto& ns = target.ns();
  auto cm = resources::configmaps();
  for (const char* name : {"p", "q", "r"}) REQUIRE(client->create(cm, configmap(ns, name, "1")));
  const std::string path = "/api/v1/namespaces/" + ns + "/configmaps";
  auto lists = [&] {
    std::vector<LoggedRequest> out;
    for (const auto& r : server.request_log())
      if (r.method == "GET" && r.path == path && r.query.find("watch") == std::string::npos)
        out.push_back(r);
    return out;
  };
  // A new informer up to its first sync and the three adds; returns how many lists it made.
  auto sync_once = [&](Recorder& recorder) {
    Informer informer(*client, cm, options_for(ns));
    informer.add_handlers(recorder.handlers());
    informer.start();
    REQUIRE(informer.wait_for_sync(5s));
    REQUIRE(recorder.wait_for(3));
    informer.stop();
    return informer.lists();
  };

  SECTION("resourceVersion=0 on the first list only") {
    Recorder recorder;
    sync_once(recorder);
    const auto requests = lists();
    REQUIRE_FALSE(requests.empty());
    CHECK(requests.front().query.find("resourceVersion=0") != std::string::npos);
  }
  SECTION("the watch-cache list fails: the same relist reads again, paged and consistent") {
    // An answer the client does not retry (a 5xx would be retried as the same read).
    server.inject({.kind = Fault::Kind::Error,
                   .status = 400,
                   .count = 1,
                   .method = "^GET$",
                   .path = path + "$"});
    Recorder recorder;
    CHECK(sync_once(recorder) == 1);  // one relist, two reads: no backoff in between
    const auto requests = lists();
    REQUIRE(requests.size() >= 2);
    CHECK(requests[0].code == 400);
    CHECK(requests[0].query.find("resourceVersion=0") != std::string::npos);
    for (std::size_t i = 1; i < requests.size(); ++i) {
      CHECK(requests[i].code == 200);
      CHECK(requests[i].query.find("resourceVersion=0") == std::string::npos);
    }
    CHECK(recorder.snapshot() == History{{"p", {"add 1"}}, {"q", {"add 1"}}, {"r", {"add 1"}}});
  }
}

TEST_CASE("informer integration: stop() on a quiet watch returns at once, not at the watch's timeout") {
  // No bookmarks from the test server during the test (a real cluster sends one about a minute).
  it::Target target(testapi::TestApiServerOptions{.bookmark_interval = std::chrono::hours(1)});
  auto client = target.client();
  auto options = options_for(target.ns());
  options.watch.timeout = 60s;
  options.watch.idle_timeout = 90s;
  Informer informer(*client, resources::configmaps(), options);
  informer.start();
  REQUIRE(informer.wait_for_sync(5s));
  std::this_thread::sleep_for(500ms);  // the watch is open and nothing happens
  CHECK(informer.watches() == 1);
  const auto start = std::chrono::steady_clock::now();
  informer.stop();
  const auto took = std::chrono::steady_clock::now() - start;
  INFO("stop() took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(took < 1s);
  CHECK(informer.watches() == 1);  // ended by the cancel, not by a watch that ended and resumed
}

TEST_CASE(
    "informer integration: a server back with less history (restarted empty, etcd restored) is "
    "relisted, not watched blind",
    "[faults]") {
  EBB_NEEDS_TEST_SERVER();
  // Two test servers one after the other on the same port: the second starts its
  // resourceVersions from scratch, below the version the informer holds from the first.
  auto first = std::make_unique<testapi::TestApiServer>();
  const std::string url = first->url();
  const auto port = port_of(url);
  Config config;
  config.server = url;
  config.token = TokenSource::fixed("test-token");
  const std::string ns = "ebb-it-went-back";
  auto cm = resources::configmaps();
  Client client(config);
  namespace_and_map(client, ns, "old", 20);

  Recorder recorder;
  Informer informer(client, cm, options_for(ns));
  informer.add_handlers(recorder.handlers());
  // The watch is open on the first server when it stops (the case here is a watch that resumes;
  // the first watch after a list is not checked).
  start_until_watching(informer, recorder, client, ns);
  const auto held = std::stoull(informer.last_resource_version());

  first->stop();
  first.reset();
  testapi::TestApiServer second(testapi::TestApiServerOptions{.port = port});
  Client fresh(config);
  namespace_and_map(fresh, ns, "new", 1);
  const auto created = fresh.get(cm, ns, "new");
  REQUIRE(created);
  REQUIRE(std::stoull(meta_string(*created, "resourceVersion")) < held);

  // Resuming the watch from `held` would be accepted and stay silent: the informer must notice
  // the server went back, relist, and report "old" gone and "new" there.
  const bool arrived = recorder.wait_for(4, 15s);
  std::string second_log;
  for (const auto& r : second.request_log())
    second_log +=
        "\n  " + r.method + " " + r.path + "?" + r.query + " -> " + std::to_string(r.code);
  INFO("held " << held << ", watches " << informer.watches() << ", lists " << informer.lists()
               << ", second server:" << second_log);
  CHECK(arrived);
  informer.stop();
  CHECK(recorder.snapshot() ==
        History{{"old", {"add 20", "update 20->21", "delete 21"}}, {"new", {"add 1"}}});
  CHECK(informer.lists() == 2);
  CHECK(informer.cache().size() == 1);
}

TEST_CASE(
    "informer integration: a watch the server ends early (a shutdown) is not resumed blind on a "
    "replacement with less history behind the same address",
    "[faults]") {
  EBB_NEEDS_TEST_SERVER();
  // kube-apiserver closes its watches cleanly when it shuts down, and the informer resumes at
  // once. A proxy stands for the service address: it moves to a second, newer server before the
  // first ends its watches, so the resumed watch reaches the second one. Its resourceVersions
  // are below the one the informer holds, and a watch from there would be accepted and silent.
  // The first server stays up here (a real one would be on its way out); the informer's client
  // keeps no idle connections, so none of its requests can reach the first server on an old one.
  testapi::TestApiServer first, second;
  test::TcpProxy address("127.0.0.1", port_of(first.url()));
  Config config;
  config.server = "http://127.0.0.1:" + std::to_string(address.port());
  config.token = TokenSource::fixed("test-token");
  Config config_second = config;
  config_second.server = second.url();
  const std::string ns = "ebb-it-early-end";
  auto cm = resources::configmaps();
  RestOptions no_keep_alive;
  no_keep_alive.max_idle_per_host = 0;
  Client client(config, no_keep_alive), direct_to_second(config_second);
  namespace_and_map(client, ns, "old", 20);
  namespace_and_map(direct_to_second, ns, "new", 1);

  Recorder recorder;
  auto options = options_for(ns);
  options.watch.timeout = 60s;  // so the end below is early, not a timeout
  Informer informer(client, cm, options);
  informer.add_handlers(recorder.handlers());
  start_until_watching(informer, recorder, client, ns);  // for close_watches() below
  const auto held = std::stoull(informer.last_resource_version());
  const auto created = direct_to_second.get(cm, ns, "new");
  REQUIRE(created);
  REQUIRE(std::stoull(meta_string(*created, "resourceVersion")) < held);

  address.retarget("127.0.0.1", port_of(second.url()));
  first.close_watches();  // a clean end, as in a graceful shutdown; the old connection stays up

  CHECK(recorder.wait_for(4, 15s));
  informer.stop();
  CHECK(recorder.snapshot() ==
        History{{"old", {"add 20", "update 20->21", "delete 21"}}, {"new", {"add 1"}}});
  CHECK(informer.lists() == 2);
  CHECK(informer.cache().size() == 1);
  CHECK(informer.watches() >= 2);
}

TEST_CASE(
    "informer integration: a watch the server runs to its timeout is resumed at once, without a "
    "history check",
    "[faults]") {
  EBB_NEEDS_TEST_SERVER();
  it::Target target;
  auto& server = target.server();
  auto client = target.client();
  const auto& ns = target.ns();
  auto cm = resources::configmaps();
  REQUIRE(client->create(cm, configmap(ns, "a", "1")));
  const std::string path = "/api/v1/namespaces/" + ns + "/configmaps";
  auto count = [&](bool watches) {
    int n = 0;
    for (const auto& r : server.request_log())
      if (r.method == "GET" && r.path == path &&
          (r.query.find("watch=true") != std::string::npos) == watches)
        ++n;
    return n;
  };

  Recorder recorder;
  auto options = options_for(ns);
  options.watch.timeout = 1s;
  Informer informer(*client, cm, options);
  informer.add_handlers(recorder.handlers());
  informer.start();
  REQUIRE(informer.wait_for_sync(5s));
  const auto lists_after_sync = count(false);
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (informer.watches() < 4 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(20ms);
  REQUIRE(informer.watches() >= 4);  // three watches ran to their timeout and were resumed
  // A change made now still arrives, through the resumed watch.
  REQUIRE(client->patch(cm, ns, "a", PatchType::merge, {{"data", {{"v", "2"}}}}));
  CHECK(recorder.wait_for(2));
  informer.stop();
  CHECK(count(false) == lists_after_sync);  // no list between the watches
  CHECK(informer.lists() == 1);
  CHECK(recorder.snapshot() == History{{"a", {"add 1", "update 1->2"}}});
}
