// Pure pieces: token bucket, backoff, selectors, paths, discovery parsing, watch decoding.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "ebb/json.h"
#include "ebb/kube/client.h"
#include "ebb/kube/discovery.h"
#include "ebb/kube/informer.h"
#include "ebb/kube/rate_limit.h"
#include "ebb/kube/resource.h"
#include "encoding.h"
#include "text_packer.h"

using namespace ebb::kube;
using namespace std::chrono_literals;

TEST_CASE("token bucket: burst, then qps, reservations queue in order") {
  const auto t0 = Clock::time_point{} + 1000s;
  TokenBucket bucket(10, 3, t0);
  CHECK(bucket.reserve(t0) == 0ns);
  CHECK(bucket.reserve(t0) == 0ns);
  CHECK(bucket.reserve(t0) == 0ns);
  CHECK(bucket.reserve(t0) == 100ms);  // fourth waits one token at 10/s
  CHECK(bucket.reserve(t0) == 200ms);  // fifth queues behind it
  bucket.cancel(t0);                   // the fifth gives up
  CHECK(bucket.reserve(t0 + 200ms) == 0ns);
  // Idle time refills at most `burst` tokens.
  const auto later = t0 + 100s;
  for (int i = 0; i < 3; ++i) CHECK(bucket.reserve(later) == 0ns);
  CHECK(bucket.reserve(later) > 0ns);

  TokenBucket unlimited(0, 1, t0);
  for (int i = 0; i < 100; ++i) CHECK(unlimited.reserve(t0) == 0ns);
}

TEST_CASE("backoff: exponential, capped, jittered within bounds") {
  Backoff backoff{100ms, 2.0, 1000ms, 0.5};
  CHECK(backoff.max_delay(0) == 100ms);
  CHECK(backoff.max_delay(3) == 800ms);
  CHECK(backoff.max_delay(10) == 1000ms);
  std::mt19937_64 rng(42);
  bool varied = false;
  auto previous = backoff.delay(4, rng);
  for (int i = 0; i < 200; ++i) {
    const auto d = backoff.delay(4, rng);
    CHECK(d >= 500ms);
    CHECK(d <= 1000ms);
    varied |= d != previous;
  }
  CHECK(varied);
}

TEST_CASE("retry-after parsing") {
  CHECK(parse_retry_after("3") == std::chrono::seconds(3));
  CHECK(parse_retry_after(" 0 ") == std::chrono::seconds(0));
  CHECK_FALSE(parse_retry_after("").has_value());
  CHECK_FALSE(parse_retry_after("-1").has_value());
  CHECK_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  CHECK(is_idempotent("PUT"));
  CHECK_FALSE(is_idempotent("POST"));
  CHECK_FALSE(is_idempotent("PATCH"));
}

TEST_CASE("paths for namespaced, cluster-scoped, all-namespaces and subresources") {
  CHECK(resource_path(resources::pods(), "ns", "p") == "/api/v1/namespaces/ns/pods/p");
  CHECK(resource_path(resources::pods(), "", "") == "/api/v1/pods");
  CHECK(resource_path(resources::deployments(), "ns", "d", "scale") == "/apis/apps/v1/namespaces/ns/deployments/d/scale");
  CHECK(resource_path(Resource{"example.com", "v1", "widgets", "Widget", true, {"status"}}, "ns", "so", "status") ==
        "/apis/example.com/v1/namespaces/ns/widgets/so/status");
  CHECK(resource_path(resources::namespaces(), "ignored", "kube-system") == "/api/v1/namespaces/kube-system");
  CHECK(resource_path(resources::custom_resource_definitions(), "", "x.y") ==
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.y");
  CHECK(GroupVersion::parse("apps/v1") == GroupVersion{"apps", "v1"});
  CHECK(GroupVersion::parse("v1").str() == "v1");
  const Object pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}, {"namespace", "n"}}}};
  CHECK(object_key(pod) == "n/p");
  CHECK(GroupVersionKind::of(pod) == GroupVersionKind{"", "v1", "Pod"});
  CHECK(split_key("n/p") == std::pair<std::string, std::string>{"n", "p"});
  CHECK(split_key("node1") == std::pair<std::string, std::string>{"", "node1"});
}

TEST_CASE("label selectors: parse, match, render") {
  const std::map<std::string, std::string> labels{{"app", "web"}, {"tier", "front"}};
  const auto matches = [&](const char* text) {
    auto selector = LabelSelector::parse(text);
    REQUIRE(selector.ok());
    return selector->matches(labels);
  };
  CHECK(matches(""));
  CHECK(matches("app=web"));
  CHECK(matches("app==web,tier"));
  CHECK_FALSE(matches("app!=web"));
  CHECK(matches("missing!=x"));
  CHECK(matches("app in (api, web)"));
  CHECK_FALSE(matches("app notin (web)"));
  CHECK(matches("!missing"));
  CHECK_FALSE(matches("!app"));
  CHECK_FALSE(matches("app=web,env"));
  CHECK_FALSE(LabelSelector::parse("app in web").ok());
  CHECK_FALSE(LabelSelector::parse("app in (web").ok());
  CHECK_FALSE(LabelSelector::parse("app ~ web").ok());
  CHECK(LabelSelector::parse("a=b, c notin (d,e),!f,g")->str() == "a=b,c notin (d,e),!f,g");

  auto from_json = LabelSelector::from_json(Object::parse(R"({"matchLabels":{"app":"web"},
      "matchExpressions":[{"key":"tier","operator":"In","values":["front","back"]},{"key":"x","operator":"DoesNotExist"}]})"));
  REQUIRE(from_json.ok());
  CHECK(from_json->matches(labels));
  CHECK(from_json->str() == "app=web,tier in (front,back),!x");
  CHECK_FALSE(LabelSelector::from_json(Object::parse(R"({"matchExpressions":[{"key":"a","operator":"In"}]})")).ok());
}

TEST_CASE("discovery documents: resources, subresources, preferred versions") {
  const auto list = Object::parse(R"({"kind":"APIResourceList","groupVersion":"apps/v1","resources":[
    {"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment","verbs":["get"]},
    {"name":"deployments/scale","namespaced":true,"group":"autoscaling","version":"v1","kind":"Scale"},
    {"name":"deployments/status","namespaced":true,"kind":"Deployment"},
    {"name":"controllerrevisions","namespaced":true,"kind":"ControllerRevision"}]})");
  const auto parsed = parse_resource_list(list, {"apps", "v1"});
  REQUIRE(parsed.size() == 2);
  CHECK(parsed[0].resource == "deployments");
  CHECK(parsed[0].group == "apps");
  CHECK(parsed[0].has_subresource("scale"));
  CHECK(parsed[0].has_subresource("status"));
  CHECK_FALSE(parsed[1].has_subresource("scale"));

  const auto groups = Object::parse(R"({"kind":"APIGroupList","groups":[
    {"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},
    {"name":"keda.sh","versions":[{"groupVersion":"keda.sh/v1alpha1","version":"v1alpha1"}]}]})");
  const auto preferred = parse_preferred_versions(groups);
  CHECK(preferred.at("apps") == "v1");
  CHECK(preferred.at("keda.sh") == "v1alpha1");
}

TEST_CASE("watch decoder: events split anywhere, bookmarks, errors") {
  const std::string stream =
      R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}})" "\n"
      R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"5"}}})" "\n"
      R"({"type":"DELETED","object":{"metadata":{"name":"a","resourceVersion":"6"}}})" "\n";
  for (std::size_t piece : {1u, 2u, 7u, 64u, 1000u}) {
    WatchDecoder decoder;
    std::vector<WatchEvent> events;
    for (std::size_t i = 0; i < stream.size(); i += piece) {
      REQUIRE(decoder.feed(std::string_view(stream).substr(i, piece), events).ok());
    }
    REQUIRE(events.size() == 3);
    CHECK(events[0].type == WatchEventType::added);
    CHECK(events[1].type == WatchEventType::bookmark);
    CHECK(resource_version(events[1].object) == "5");
    CHECK(events[2].type == WatchEventType::deleted);
    CHECK(decoder.pending_bytes() == 0);
  }
  WatchDecoder decoder;
  std::vector<WatchEvent> events;
  REQUIRE(decoder.feed(R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})" "\n{\"ty", events).ok());
  CHECK(events.size() == 1);
  CHECK(events[0].type == WatchEventType::error);
  CHECK(decoder.pending_bytes() == 4);
  CHECK_FALSE(decoder.feed("pe\":\"WHAT\"}\n", events).ok());
  CHECK_FALSE(WatchDecoder().feed("not json\n", events).ok());
  const auto gone = error_from_response("watch", 200, events[0].object.dump());
  CHECK(gone.code == 410);
  CHECK(gone.gone());
}

TEST_CASE("encoding helpers: base64 and Kubernetes times") {
  using namespace ebb::kube::detail;
  CHECK(base64_encode("hello") == "aGVsbG8=");
  CHECK(base64_decode("aGVsbG8=") == "hello");
  CHECK(base64_decode("aGVs\nbG8") == "hello");
  CHECK_FALSE(base64_decode("a$==").has_value());
  const auto t = parse_time("2024-05-01T10:00:00.123456Z");
  REQUIRE(t.has_value());
  CHECK(format_micro_time(*t) == "2024-05-01T10:00:00.123456Z");
  CHECK(format_time(*t) == "2024-05-01T10:00:00Z");
  CHECK(parse_time("2024-05-01T12:00:00+02:00") == parse_time("2024-05-01T10:00:00Z"));
  CHECK_FALSE(parse_time("yesterday").has_value());
}

TEST_CASE("object cache: a parse still held is handed out again, a newer version is parsed anew") {
  ObjectCache cache;
  cache.add_index("target", [](const Object& o) {
    return std::vector<std::string>{ebb::json_string(o, {"spec", "target"})};
  });
  auto object = [](const std::string& rv, const std::string& target) {
    return Object{{"metadata", {{"namespace", "ns"}, {"name", "a"}, {"resourceVersion", rv}}},
                  {"spec", {{"target", target}}}};
  };
  cache.upsert(object("1", "d1"));

  auto first = cache.find("ns/a");
  REQUIRE(first);
  CHECK(cache.find("ns/a").get() == first.get());
  auto by_index = cache.indexed("target", "d1");
  REQUIRE(by_index.size() == 1);
  CHECK(by_index.front().get() == first.get());
  CHECK(cache.all().front().get() == first.get());

  // An update: readers get the new object; the old one stays what it was for its holder.
  auto previous = cache.upsert(object("2", "d2"));
  REQUIRE(previous);
  CHECK(previous.get() == first.get());
  auto second = cache.find("ns/a");
  REQUIRE(second);
  CHECK(second.get() != first.get());
  CHECK(ebb::json_string(*second, {"spec", "target"}) == "d2");
  CHECK(ebb::json_string(*first, {"spec", "target"}) == "d1");
  CHECK(cache.indexed("target", "d1").empty());
  CHECK(cache.indexed("target", "d2").front().get() == second.get());

  // Released by every reader: the next read parses the text again, with the same content.
  second.reset();
  by_index.clear();
  auto third = cache.find("ns/a");
  REQUIRE(third);
  CHECK(ebb::json_string(*third, {"metadata", "resourceVersion"}) == "2");

  auto erased = cache.erase("ns/a");
  CHECK(erased.get() == third.get());
  CHECK_FALSE(cache.find("ns/a"));
}

TEST_CASE("object cache: namespaces and indexes follow upserts and erases") {
  ObjectCache cache;
  auto object = [](const std::string& ns, const std::string& name,
                   std::vector<std::string> targets) {
    return Object{{"metadata", {{"namespace", ns}, {"name", name}, {"resourceVersion", "1"}}},
                  {"spec", {{"targets", targets}}}};
  };
  cache.upsert(object("ns-with-a-long-name", "a-name-longer-than-fifteen", {"t1", "t2"}));
  // Filed after objects exist, and named again: the second function replaces the first.
  cache.add_index("target", [](const Object&) { return std::vector<std::string>{"stale"}; });
  cache.add_index("target", [](const Object& o) {
    std::vector<std::string> out;
    for (const auto& t : o["spec"]["targets"]) out.push_back(t.get<std::string>());
    return out;
  });
  cache.add_index("first-target", [](const Object& o) {
    return std::vector<std::string>{
        o["spec"]["targets"].empty() ? "" : o["spec"]["targets"][0].get<std::string>()};
  });
  const std::string a = "ns-with-a-long-name/a-name-longer-than-fifteen";
  CHECK(cache.index_counts("target") == std::map<std::string, std::size_t>{{"t1", 1}, {"t2", 1}});
  CHECK(cache.indexed_keys("target", "t2") == std::vector<std::string>{a});

  cache.upsert(object("ns-with-a-long-name", "b", {"t2", "t2", "t3"}));  // t2 twice: filed once
  cache.upsert(object("other", "c", {"t1"}));
  CHECK(cache.index_counts("target") ==
        std::map<std::string, std::size_t>{{"t1", 2}, {"t2", 2}, {"t3", 1}});
  CHECK(cache.indexed_keys("target", "t2") == std::vector<std::string>{a, "ns-with-a-long-name/b"});
  CHECK(cache.namespace_counts() ==
        std::map<std::string, std::size_t>{{"ns-with-a-long-name", 2}, {"other", 1}});

  // An update moves the object between values; a value nobody has any more is gone.
  cache.upsert(object("ns-with-a-long-name", "a-name-longer-than-fifteen", {"t3"}));
  CHECK(cache.index_counts("target") ==
        std::map<std::string, std::size_t>{{"t1", 1}, {"t2", 1}, {"t3", 2}});
  CHECK(cache.index_counts("first-target") ==
        std::map<std::string, std::size_t>{{"t1", 1}, {"t2", 1}, {"t3", 1}});
  CHECK(cache.indexed_keys("target", "t1") == std::vector<std::string>{"other/c"});
  // The same values again: still filed, once.
  cache.upsert(object("ns-with-a-long-name", "a-name-longer-than-fifteen", {"t3"}));
  CHECK(cache.indexed_keys("target", "t3") == std::vector<std::string>{a, "ns-with-a-long-name/b"});

  cache.erase("other/c");
  CHECK(cache.index_counts("target") == std::map<std::string, std::size_t>{{"t2", 1}, {"t3", 2}});
  CHECK(cache.namespace_counts() == std::map<std::string, std::size_t>{{"ns-with-a-long-name", 2}});
  CHECK(cache.in_namespace("other").empty());
  CHECK(cache.in_namespace("ns-with-a-long-name").size() == 2);
  cache.erase(a);
  cache.erase("ns-with-a-long-name/b");
  CHECK(cache.index_counts("target").empty());
  CHECK(cache.index_counts("first-target").empty());
  CHECK(cache.namespace_counts().empty());
  CHECK(cache.indexed_keys("target", "t3").empty());
  CHECK(cache.indexed_keys("no-such-index", "t3").empty());
}

TEST_CASE("object cache: a namespace lists its own objects, not those of a longer name") {
  ObjectCache cache;
  auto object = [](const std::string& ns, const std::string& name) {
    Object o{{"metadata", {{"name", name}, {"resourceVersion", "1"}}}};
    if (!ns.empty()) o["metadata"]["namespace"] = ns;
    return o;
  };
  auto names = [](const std::vector<ObjectPtr>& objects) {
    std::vector<std::string> out;
    for (const auto& o : objects) out.push_back((*o)["metadata"]["name"].get<std::string>());
    return out;
  };
  // "ns" is a prefix of "ns-x" and "ns0" ('0' sorts right after '/'); cluster-scoped objects
  // ("a", "z") sort around the namespaced keys.
  for (const auto& [ns, name] : std::vector<std::pair<std::string, std::string>>{
           {"ns", "b"}, {"ns-x", "c"}, {"ns0", "d"}, {"ns", "a"}, {"", "a"}, {"", "z"}, {"n", "e"}})
    cache.upsert(object(ns, name));
  CHECK(names(cache.in_namespace("ns")) == std::vector<std::string>{"a", "b"});
  CHECK(names(cache.in_namespace("ns-x")) == std::vector<std::string>{"c"});
  CHECK(names(cache.in_namespace("ns0")) == std::vector<std::string>{"d"});
  CHECK(names(cache.in_namespace("n")) == std::vector<std::string>{"e"});
  CHECK(names(cache.in_namespace("")) == std::vector<std::string>{"a", "z"});
  CHECK(cache.in_namespace("nx").empty());
  CHECK(cache.namespace_counts() ==
        std::map<std::string, std::size_t>{{"", 2}, {"n", 1}, {"ns", 2}, {"ns-x", 1}, {"ns0", 1}});
  cache.erase("ns/a");
  cache.erase("a");
  cache.upsert(object("ns", "b"));  // an update is not a second object
  CHECK(names(cache.in_namespace("ns")) == std::vector<std::string>{"b"});
  CHECK(names(cache.in_namespace("")) == std::vector<std::string>{"z"});
  CHECK(cache.namespace_counts() ==
        std::map<std::string, std::size_t>{{"", 1}, {"n", 1}, {"ns", 1}, {"ns-x", 1}, {"ns0", 1}});
}

TEST_CASE("object cache: objects are stored compressed and read back exactly as cached") {
  ObjectCache cache;
  // ScaledObject-like objects that differ where real ones do: names, uids, versions, times,
  // plus one with non-ASCII text and one far larger than the first object (the dictionary).
  auto object = [](int i) {
    const std::string n = std::to_string(i);
    return Object{
        {"apiVersion", "keda.sh/v1alpha1"},
        {"kind", "ScaledObject"},
        {"metadata",
         {{"namespace", "ns" + std::to_string(i % 3)},
          {"name", "so-" + n},
          {"uid", "6f1c2a3e-" + std::to_string(i * 7919 % 10007) + "-4b5c-" +
                      std::to_string(i * 31 % 977)},
          {"resourceVersion", std::to_string(100000 + i * 13)}}},
        {"spec",
         {{"scaleTargetRef", {{"name", "app-" + n}}},
          {"triggers",
           Object::array({{{"type", "redis"}, {"metadata", {{"listName", "queue-" + n}}}}})}}},
        {"status",
         {{"conditions",
           Object::array(
               {{{"type", "Ready"},
                 {"status", "True"},
                 {"reason", "ScaledObjectReady"},
                 {"message", "ScaledObject is defined correctly and is ready for scaling"},
                 {"lastTransitionTime", "2026-12-07T12:00:0" + std::to_string(i % 10) + "Z"}}})}}}};
  };
  std::vector<Object> objects;
  std::size_t text_bytes = 0, big_packed = 0;
  for (int i = 0; i < 300; ++i) {
    objects.push_back(object(i));
    if (i == 7)
      objects.back()["metadata"]["annotations"] = {
          {"note", "Grüße, 日本語, \u00e9 and \"quotes\""}};
    if (i == 11) objects.back()["spec"]["big"] = std::string(200 * 1024, 'x');
    const auto before = cache.stored_bytes();
    cache.upsert(objects.back());
    if (i == 11)
      big_packed = cache.stored_bytes() - before;
    else
      text_bytes += objects.back().dump().size();
  }
  for (const auto& o : objects) {
    auto cached = cache.find(object_key(o));
    REQUIRE(cached);
    CHECK(*cached == o);
  }
  // What objects of one kind share is stored once: far below their texts.
  CHECK(cache.stored_bytes() - big_packed < text_bytes / 4);

  // An update and an erase give back the object they replaced, and the bytes follow.
  auto changed = objects[5];
  changed["metadata"]["resourceVersion"] = "999999";
  auto previous = cache.upsert(changed);
  REQUIRE(previous);
  CHECK(*previous == objects[5]);
  CHECK(*cache.find(object_key(changed)) == changed);
  for (int i = 0; i < 300; ++i) {
    auto erased = cache.erase(object_key(objects[static_cast<std::size_t>(i)]));
    REQUIRE(erased);
    CHECK(*erased == (i == 5 ? changed : objects[static_cast<std::size_t>(i)]));
  }
  CHECK(cache.size() == 0);
  CHECK(cache.stored_bytes() == 0);
}

TEST_CASE("text packer: what it did not pack is an error, not a crash or garbage") {
  ebb::kube::detail::TextPacker packer;
  CHECK_THROWS(packer.unpack("x"));  // nothing packed yet: no dictionary
  const std::string text = R"({"kind":"Deployment","metadata":{"name":"a"}})";
  const auto packed = packer.pack(text);
  CHECK(packer.unpack(packed) == text);
  CHECK(packer.unpack(packer.pack("")).empty());
  CHECK_THROWS(packer.unpack(""));
  CHECK_THROWS(packer.unpack("not zstd at all"));
  auto truncated = packed.substr(0, packed.size() - 1);
  CHECK_THROWS(packer.unpack(truncated));
}

TEST_CASE("object cache: readers on other threads see whole objects while the informer writes") {
  ObjectCache cache;
  cache.add_index("target", [](const Object& o) {
    return std::vector<std::string>{ebb::json_string(o, {"spec", "target"})};
  });
  // Each version of an object carries its version in two places: a reader that got a torn or
  // mixed object would see them differ.
  auto object = [](int key, int version) {
    const std::string v = std::to_string(version);
    return Object{
        {"metadata",
         {{"namespace", "ns"}, {"name", "o" + std::to_string(key)}, {"resourceVersion", v}}},
        {"spec", {{"target", "t" + std::to_string(key % 4)}, {"version", v}}}};
  };
  constexpr int kKeys = 40, kVersions = 60;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  auto reader = [&] {
    while (!done) {
      for (int k = 0; k < kKeys; ++k) {
        if (auto o = cache.find("ns/o" + std::to_string(k))) {
          if (ebb::json_string(*o, {"metadata", "resourceVersion"}) !=
              ebb::json_string(*o, {"spec", "version"}))
            ++torn;
          ++reads;
        }
      }
      for (const auto& o : cache.indexed("target", "t1"))
        if (ebb::json_string(*o, {"spec", "target"}) != "t1") ++torn;
    }
  };
  std::thread a(reader), b(reader);
  for (int v = 1; v <= kVersions; ++v)
    for (int k = 0; k < kKeys; ++k) {
      if (v % 10 == 5 && k % 3 == 0) {  // erased, then written again by the next version
        cache.erase("ns/o" + std::to_string(k));
        continue;
      }
      auto previous = cache.upsert(object(k, v));
      if (previous && ebb::json_string(*previous, {"spec", "version"}) !=
                          ebb::json_string(*previous, {"metadata", "resourceVersion"}))
        ++torn;
    }
  done = true;
  a.join();
  b.join();
  CHECK(torn == 0);
  CHECK(reads > 0);
  for (int k = 0; k < kKeys; ++k) {
    auto o = cache.find("ns/o" + std::to_string(k));
    REQUIRE(o);
    CHECK(*o == object(k, kVersions));
  }
}
