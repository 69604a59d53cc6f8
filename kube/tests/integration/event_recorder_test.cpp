// events.k8s.io/v1 recorder against an API server (target.h).
#include <catch2/catch.hpp>

#include "ebb/kube/event_recorder.h"
#include "target.h"

using namespace ebb;
using namespace ebb::kube;

namespace {
std::vector<Object> events_about(Client& client, const std::string& ns, const std::string& name) {
  auto list = client.list(resources::events(), ns);
  REQUIRE(list);
  std::vector<Object> out;
  for (auto& e : list->items) {
    if (e["regarding"].value("name", "") == name) out.push_back(e);
  }
  return out;
}
}  // namespace

TEST_CASE("event recorder: emits events.k8s.io/v1 Events and aggregates repeats into a series") {
  it::Target target;
  auto client = target.client();
  const auto& ns = target.ns();
  auto cm = client->create(resources::configmaps(),
                           Object{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "subject"}, {"namespace", ns}}}});
  REQUIRE(cm);
  (*cm)["apiVersion"] = "v1";
  (*cm)["kind"] = "ConfigMap";

  EventRecorder recorder(*client, {.reporting_controller = "keda.sh/ebb-test", .reporting_instance = "ebb-test-1", .cache_size = 2});
  auto first = recorder.record(*cm, "Normal", "Scaled", "Scale", "scaled to 3");
  REQUIRE(first);
  for (int i = 0; i < 2; ++i) REQUIRE(recorder.record(*cm, "Normal", "Scaled", "Scale", "scaled to 3"));
  REQUIRE(recorder.record(*cm, "Warning", "ScaleFailed", "Scale", "trigger unreachable"));

  auto events = events_about(*client, ns, "subject");
  REQUIRE(events.size() == 2);
  const Object* scaled = nullptr;
  const Object* failed = nullptr;
  for (const auto& e : events) (e["reason"] == "Scaled" ? scaled : failed) = &e;
  REQUIRE(scaled != nullptr);
  REQUIRE(failed != nullptr);
  CHECK((*scaled)["type"] == "Normal");
  CHECK((*scaled)["note"] == "scaled to 3");
  CHECK((*scaled)["action"] == "Scale");
  CHECK((*scaled)["reportingController"] == "keda.sh/ebb-test");
  CHECK((*scaled)["reportingInstance"] == "ebb-test-1");
  CHECK((*scaled)["regarding"]["kind"] == "ConfigMap");
  CHECK((*scaled)["regarding"]["uid"] == meta_string(*cm, "uid"));
  CHECK((*scaled)["series"]["count"] == 3);
  CHECK((*scaled)["series"].contains("lastObservedTime"));
  CHECK_FALSE((*failed).contains("series"));
  CHECK((*failed)["type"] == "Warning");

  // The cache holds 2 entries: a third distinct event evicts the oldest ("Scaled"), whose next
  // repeat starts a new Event instead of growing the old series.
  CHECK(recorder.cached() == 2);
  REQUIRE(recorder.record(*cm, "Normal", "Ready", "Check", "ready"));
  CHECK(recorder.cached() == 2);
  REQUIRE(recorder.record(*cm, "Normal", "Scaled", "Scale", "scaled to 3"));
  events = events_about(*client, ns, "subject");
  CHECK(events.size() == 4);

  // A deleted Event is recreated on the next repeat.
  auto ready = recorder.record(*cm, "Normal", "Ready", "Check", "ready");
  REQUIRE(ready);
  REQUIRE(client->remove(resources::events(), ns, meta_string(*ready, "name")));
  auto again = recorder.record(*cm, "Normal", "Ready", "Check", "ready");
  REQUIRE(again);
  CHECK_FALSE(again->contains("series"));
  CHECK(events_about(*client, ns, "subject").size() == 4);

  // Eviction goes by last use, not by age: a repeat of the older entry (Scaled) makes it the
  // newest, so the next distinct event evicts Ready, and Scaled's next repeat still grows its
  // series instead of starting another Event.
  REQUIRE(recorder.record(*cm, "Normal", "Scaled", "Scale", "scaled to 3"));
  REQUIRE(recorder.record(*cm, "Warning", "ScaleFailed", "Scale", "trigger unreachable"));
  auto scaled_again = recorder.record(*cm, "Normal", "Scaled", "Scale", "scaled to 3");
  REQUIRE(scaled_again);
  CHECK((*scaled_again)["series"]["count"] == 3);
  CHECK(events_about(*client, ns, "subject").size() == 5);
}

TEST_CASE(
    "event recorder: an over-long action, reason or note is cut to the API's limits, not refused") {
  it::Target target;
  auto client = target.client();
  const auto& ns = target.ns();
  auto cm = client->create(resources::configmaps(),
                           Object{{"apiVersion", "v1"},
                                  {"kind", "ConfigMap"},
                                  {"metadata", {{"name", "long"}, {"namespace", ns}}}});
  REQUIRE(cm);
  (*cm)["apiVersion"] = "v1";
  (*cm)["kind"] = "ConfigMap";
  EventRecorder recorder(
      *client, {.reporting_controller = "keda.sh/ebb-test", .reporting_instance = "ebb-test-1"});
  // A validation message as long as real ones get, with multi-byte characters across the cuts.
  std::string note;
  while (note.size() < 1500) note += "trigger \xC3\xA9\xE2\x82\xAC invalid; ";
  const std::string action(200, 'a');
  const std::string reason = std::string(127, 'r') + "\xC3\xA9";  // 129 bytes: é does not fit
  auto recorded = recorder.record(*cm, "Warning", reason, action, note);
  REQUIRE(recorded);
  auto events = events_about(*client, ns, "long");
  REQUIRE(events.size() == 1);
  CHECK(events[0]["action"] == std::string(128, 'a'));
  CHECK(events[0]["reason"] == std::string(127, 'r'));
  const std::string stored = events[0]["note"];
  CHECK(stored.size() <= 1024);
  CHECK(stored.size() > 1000);
  CHECK(note.compare(0, stored.size(), stored) == 0);
}
