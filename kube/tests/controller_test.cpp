// Informer (resume, relist on 410, no duplicates) over a scripted transport, and the work queue.
#include <catch2/catch.hpp>

#include <atomic>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "ebb/kube/informer.h"
#include "ebb/kube/work_queue.h"

using namespace ebb;
using namespace ebb::kube;
using namespace std::chrono_literals;

namespace {

std::string pod(const std::string& name, const std::string& rv, const std::string& app = "web") {
  return Object{{"metadata", {{"name", name}, {"namespace", "n"}, {"resourceVersion", rv}, {"labels", {{"app", app}}}}}}
      .dump();
}
std::string event(const std::string& type, const std::string& object) {
  return R"({"type":")" + type + R"(","object":)" + object + "}\n";
}

// A scripted list that fails as a connection refused would.
constexpr const char* kRefuse = "<refused>";

// Lists and watches scripted in order; records each request's URL.
class FakeApi final : public Transport {
 public:
  struct Watch {
    std::string events;
    bool drop = false;  // end with a transport failure
  };
  std::mutex mutex;
  std::deque<std::string> lists;
  std::deque<Watch> watches;
  std::vector<std::string> urls;

  Result<net::HttpResponse> send(const net::HttpRequest& request, bool& sent) override {
    sent = true;
    std::lock_guard lock(mutex);
    urls.push_back(request.url);
    net::HttpResponse response;
    if (lists.empty()) return fail("no list scripted");
    if (lists.front() == kRefuse) {  // the server is not answering yet
      lists.pop_front();
      return fail("connection refused", true);
    }
    response.status = 200;
    response.body = lists.front();
    lists.pop_front();
    return response;
  }
  Result<void> stream(const net::HttpRequest& request, net::Timeout, const net::HttpStreamHandlers& handlers,
                      bool& sent) override {
    sent = true;
    Watch watch;
    {
      std::lock_guard lock(mutex);
      urls.push_back(request.url);
      if (watches.empty()) {
        watch.events = "";
      } else {
        watch = watches.front();
        watches.pop_front();
      }
    }
    if (watch.events.empty() && !watch.drop) std::this_thread::sleep_for(20ms);  // a quiet, ended watch
    net::HttpResponse head;
    head.status = 200;
    if (!handlers.on_head(head)) return {};
    // Deliver in awkward pieces to exercise the incremental decoder.
    for (std::size_t i = 0; i < watch.events.size(); i += 13) {
      if (!handlers.on_data(std::string_view(watch.events).substr(i, 13))) return {};
    }
    if (watch.drop) return fail("connection reset by peer", true);
    return {};
  }
};

// A client of the scripted API, unthrottled.
Client scripted_client(std::unique_ptr<FakeApi> api, int max_attempts = RestOptions{}.max_attempts) {
  RestOptions rest_options;
  rest_options.qps = 0;
  rest_options.max_attempts = max_attempts;
  Config config;
  config.server = "https://api.test";
  return Client(std::make_shared<RestClient>(config, rest_options, std::move(api)));
}

InformerOptions fast_backoff() {
  InformerOptions options;
  options.backoff = Backoff{1ms, 2.0, 5ms, 0.5};
  return options;
}

}  // namespace

TEST_CASE("informer: resume after a drop, skip replays, relist on 410, each change once in order") {
  auto transport = std::make_unique<FakeApi>();
  auto* api = transport.get();
  api->lists.push_back(R"({"metadata":{"resourceVersion":"10"},"items":[)" + pod("a", "10") + "]}");
  api->watches.push_back({event("ADDED", pod("b", "11")) + event("MODIFIED", pod("a", "12")), true});
  // After the drop, once the next watch is open, the informer asks for the server's current
  // version (limit=1): ahead of its 12, so it reads the watch.
  api->lists.push_back(R"({"metadata":{"resourceVersion":"13"},"items":[]})");
  api->watches.push_back({event("MODIFIED", pod("a", "12")) + event("DELETED", pod("b", "13")) +
                              event("BOOKMARK", R"({"metadata":{"resourceVersion":"14"}})"),
                          false});
  // That watch ended cleanly long before its timeoutSeconds (as in a server shutdown): asked
  // again on the next one, which the server then ends with 410.
  api->lists.push_back(R"({"metadata":{"resourceVersion":"14"},"items":[]})");
  api->watches.push_back({event("ERROR", R"({"kind":"Status","code":410,"reason":"Expired","message":"too old"})"), false});
  api->lists.push_back(R"({"metadata":{"resourceVersion":"20"},"items":[)" + pod("a", "15") + "," + pod("c", "16", "api") + "]}");

  Client client = scripted_client(std::move(transport));
  Informer informer(client, resources::pods(), fast_backoff());
  std::mutex mutex;
  std::vector<std::string> seen;
  informer.add_handlers({
      [&](const Object& o) {
        std::lock_guard lock(mutex);
        seen.push_back("add " + meta_string(o, "name") + "@" + resource_version(o));
      },
      [&](const Object& old_object, const Object& o) {
        std::lock_guard lock(mutex);
        seen.push_back("update " + meta_string(o, "name") + "@" + resource_version(old_object) + "->" + resource_version(o));
      },
      [&](const Object& o) {
        std::lock_guard lock(mutex);
        seen.push_back("delete " + meta_string(o, "name"));
      },
  });
  informer.start();
  REQUIRE(informer.wait_for_sync(2s));
  for (int i = 0; i < 200 && informer.last_resource_version() != "20"; ++i) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(50ms);
  informer.stop();

  const std::vector<std::string> expected = {"add a@10", "add b@11", "update a@10->12", "delete b",
                                             "update a@12->15", "add c@16"};
  CHECK(seen == expected);
  CHECK(informer.lists() == 2);
  CHECK(informer.cache().size() == 2);
  CHECK(informer.cache().select(*LabelSelector::parse("app=api")).size() == 1);
  CHECK(informer.cache().by_namespace("n").size() == 2);
  CHECK(informer.cache().select(*LabelSelector::parse("app=web"), "n").size() == 1);
  CHECK(informer.cache().get("n/a").has_value());

  std::vector<std::string> watch_urls;
  for (const auto& url : api->urls) {
    if (url.find("watch=true") != std::string::npos) watch_urls.push_back(url);
  }
  REQUIRE(watch_urls.size() >= 4);
  CHECK_THAT(watch_urls[0], Catch::Contains("resourceVersion=10") && Catch::Contains("allowWatchBookmarks=true"));
  CHECK_THAT(watch_urls[1], Catch::Contains("resourceVersion=12"));  // resumed, not relisted
  CHECK_THAT(watch_urls[2], Catch::Contains("resourceVersion=14"));  // from the bookmark
  CHECK_THAT(watch_urls[3], Catch::Contains("resourceVersion=20"));  // after the relist
  CHECK_THAT(api->urls.front(), Catch::Contains("limit=500"));
  // The requests in order, up to the watch after the relist: a history check after the drop and
  // after the early end, each once its watch was open; none after the 410, which relists.
  std::vector<std::string> kinds;
  for (const auto& url : api->urls) {
    const bool probe = url.find("limit=1&") != std::string::npos || url.ends_with("limit=1");
    kinds.push_back(url.find("watch=true") != std::string::npos ? "watch"
                    : probe                                     ? "probe"
                                                                : "list");
  }
  REQUIRE(kinds.size() >= 8);
  kinds.resize(8);
  CHECK(kinds == std::vector<std::string>{"list", "watch", "watch", "probe", "watch", "probe",
                                          "list", "watch"});
}

TEST_CASE("informer: after a drop, a server whose version is below ours (restored) is relisted") {
  auto transport = std::make_unique<FakeApi>();
  auto* api = transport.get();
  api->lists.push_back(R"({"metadata":{"resourceVersion":"500"},"items":[)" + pod("a", "500") + "]}");
  api->watches.push_back({"", true});  // dropped: the server went away
  // Not answering at first: the question is asked again before any event of a watch is read.
  api->lists.push_back(kRefuse);
  // Back, from an older etcd backup: its current version 40 is below our 500. Resuming the watch
  // at 500 would be accepted and silent; the informer relists instead.
  api->lists.push_back(R"({"metadata":{"resourceVersion":"40"},"items":[]})");
  api->lists.push_back(R"({"metadata":{"resourceVersion":"40"},"items":[)" + pod("b", "39") + "]}");

  // One attempt a request: the informer, not the client, must ask again.
  Client client = scripted_client(std::move(transport), /*max_attempts=*/1);
  Informer informer(client, resources::pods(), fast_backoff());
  std::mutex mutex;
  std::vector<std::string> seen;
  informer.add_handlers({
      [&](const Object& o) {
        std::lock_guard lock(mutex);
        seen.push_back("add " + meta_string(o, "name"));
      },
      nullptr,
      [&](const Object& o) {
        std::lock_guard lock(mutex);
        seen.push_back("delete " + meta_string(o, "name"));
      },
  });
  informer.start();
  REQUIRE(informer.wait_for_sync(2s));
  for (int i = 0; i < 200 && informer.last_resource_version() != "40"; ++i) std::this_thread::sleep_for(10ms);
  informer.stop();
  {
    std::lock_guard lock(mutex);
    CHECK(seen == std::vector<std::string>{"add a", "add b", "delete a"});
  }
  CHECK(informer.lists() == 2);
  CHECK(informer.last_resource_version() == "40");
}

TEST_CASE("api errors: 'Too large resource version' is told apart from other timeouts") {
  const auto too_large = error_from_response(
      "GET /api/v1/pods", 504,
      R"({"kind":"Status","status":"Failure","message":"Too large resource version: 500, current: 40","reason":"Timeout","details":{"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}],"retryAfterSeconds":1},"code":504})");
  CHECK(too_large.too_large_resource_version());
  CHECK_FALSE(too_large.gone());
  const auto timeout = error_from_response(
      "GET /api/v1/pods", 504, R"({"kind":"Status","message":"request timed out","reason":"Timeout","code":504})");
  CHECK_FALSE(timeout.too_large_resource_version());
}

TEST_CASE("informer: resync re-delivers cached objects as updates") {
  auto transport = std::make_unique<FakeApi>();
  transport->lists.push_back(R"({"metadata":{"resourceVersion":"1"},"items":[)" + pod("a", "1") + "]}");
  Config config;
  config.server = "https://api.test";
  Client client(std::make_shared<RestClient>(config, RestOptions{}, std::move(transport)));
  InformerOptions options;
  options.resync = 50ms;
  Informer informer(client, resources::pods(), options);
  std::atomic<int> resyncs{0};
  informer.add_handlers({nullptr, [&](const Object& a, const Object& b) { resyncs += a == b; }, nullptr});
  informer.start();
  REQUIRE(informer.wait_for_sync(2s));
  std::this_thread::sleep_for(300ms);
  informer.stop();
  CHECK(resyncs >= 2);
}

TEST_CASE("work queue: dedup, never two workers on one key, dirty keys come back") {
  WorkQueue queue;
  queue.add("a");
  queue.add("a");
  queue.add("b");
  CHECK(queue.length() == 2);
  auto first = queue.get();
  REQUIRE(first == "a");
  queue.add("a");  // while processing: marked dirty, not handed out
  CHECK(queue.length() == 1);
  CHECK(queue.get() == "b");
  CHECK(queue.length() == 0);
  queue.done("a");
  CHECK(queue.length() == 1);  // back after done
  CHECK(queue.get() == "a");
  queue.done("a");
  queue.done("b");
  queue.shut_down();
  CHECK_FALSE(queue.get().has_value());
}

TEST_CASE("work queue: per-key exponential backoff capped, forget resets, overall bucket") {
  WorkQueue queue({.base_delay = 5ms, .max_delay = 100ms, .qps = 1000, .burst = 1000});
  CHECK(queue.next_delay("k") == 5ms);
  CHECK(queue.next_delay("k") == 10ms);
  CHECK(queue.next_delay("k") == 20ms);
  CHECK(queue.next_delay("other") == 5ms);
  for (int i = 0; i < 10; ++i) (void)queue.next_delay("k");
  CHECK(queue.next_delay("k") == 100ms);
  CHECK(queue.requeues("k") == 14);
  queue.forget("k");
  CHECK(queue.next_delay("k") == 5ms);

  WorkQueue slow({.base_delay = 1ms, .max_delay = 1000ms, .qps = 10, .burst = 1});
  CHECK(slow.next_delay("a") == 1ms);
  CHECK(slow.next_delay("b") >= 99ms);  // the overall bucket is empty: 1/10 s

  WorkQueue delayed;
  const auto start = Clock::now();
  delayed.add_after("x", 50ms);
  CHECK(delayed.length() == 0);
  CHECK(delayed.get() == "x");
  CHECK(Clock::now() - start >= 45ms);
  delayed.done("x");
}
