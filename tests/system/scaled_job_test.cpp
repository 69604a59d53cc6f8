// ScaledJobs (issue 15): the real ebb-metrics-adapter against the test API server (or a real
// cluster with EBB_TEST_KUBECONFIG; nothing runs the Jobs there either, since the test finishes
// them through /status) with a real redis-server, or the shared RabbitMQ, as the queue. No
// operator: the adapter runs the ScaledJob loop on its own.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "adapter_harness.h"
#include "ebb/cluster/resources.h"
#include "ebb/strings.h"

using namespace ebb::systest;
using ebb::kube::Object;
namespace resources = ebb::kube::resources;
namespace test = ebb::test;

namespace {

const auto kScaledJobs = ebb::cluster::scaled_jobs();
const auto kJobs = resources::jobs();

Object scaled_job(const std::string& name, std::uint16_t redis_port, const std::string& list,
                  int max, int successful_limit, int failed_limit) {
  return {{"apiVersion", "keda.sh/v1alpha1"},
          {"kind", "ScaledJob"},
          {"metadata", {{"name", name}, {"labels", {{"team", "render"}}}}},
          {"spec",
           {{"jobTargetRef",
             {{"template",
               {{"spec", {{"containers", {{{"name", "worker"}, {"image", "busybox"}}}}}}}}}},
            {"pollingInterval", 1},
            {"maxReplicaCount", max},
            {"successfulJobsHistoryLimit", successful_limit},
            {"failedJobsHistoryLimit", failed_limit},
            {"triggers",
             {{{"type", "redis"},
               {"metadata",
                {{"address", "127.0.0.1:" + std::to_string(redis_port)},
                 {"listName", list},
                 {"listLength", "1"}}}}}}}}};
}

std::vector<Object> jobs_of(Cluster& cluster, const std::string& sj) {
  std::vector<Object> out;
  for (auto& job : cluster.list(kJobs))
    if (job["metadata"].value("labels", Object::object()).value("scaledjob.keda.sh/name", "") == sj)
      out.push_back(job);
  return out;
}

std::set<std::string> names(const std::vector<Object>& objects) {
  std::set<std::string> out;
  for (const auto& o : objects) out.insert(o["metadata"].value("name", ""));
  return out;
}

// What a Job controller writes when a Job ends.
void finish(Cluster& cluster, const std::string& job, bool succeeded, const std::string& at) {
  auto client = cluster.new_client();
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto current = client->get(kJobs, cluster.ns(), job);
    REQUIRE(current);
    Object o = *current;
    o["status"]["conditions"] = Object::array({{{"type", succeeded ? "Complete" : "Failed"},
                                                {"status", "True"},
                                                {"lastTransitionTime", at}}});
    if (succeeded) o["status"]["completionTime"] = at;
    o["status"]["startTime"] = "2026-01-01T00:00:00Z";
    auto written = client->update_status(kJobs, o);
    if (written) return;
    if (!written.error().conflict()) FAIL("finish job " << job << ": " << written.error().message);
  }
  FAIL("finish job " << job << ": conflicts");
}

std::string image_of(const Object& job) {
  return job["spec"]["template"]["spec"]["containers"][0].value("image", "");
}

std::string generation_of(const Object& job) {
  return job["metadata"]
      .value("annotations", Object::object())
      .value("scaledjob.keda.sh/generation", "");
}

void set_image(Cluster& cluster, const std::string& sj, const std::string& image) {
  cluster.modify(kScaledJobs, sj, [&](Object& o) {
    o["spec"]["jobTargetRef"]["template"]["spec"]["containers"][0]["image"] = image;
  });
}

// Jobs not being deleted: on a real cluster without the garbage collector a Job deleted with
// Foreground propagation stays, with a deletionTimestamp and the foregroundDeletion finalizer.
std::vector<Object> live_jobs_of(Cluster& cluster, const std::string& sj) {
  auto jobs = jobs_of(cluster, sj);
  jobs.erase(
      std::remove_if(jobs.begin(), jobs.end(),
                     [](const Object& j) { return j["metadata"].contains("deletionTimestamp"); }),
      jobs.end());
  return jobs;
}

// The propagationPolicy of each DELETE of a Job the test API server saw, by Job name.
std::map<std::string, std::string> job_deletes(Cluster& cluster) {
  std::map<std::string, std::string> out;
  const std::string prefix = "/apis/batch/v1/namespaces/" + cluster.ns() + "/jobs/";
  for (const auto& r : cluster.server()->request_log()) {
    if (r.method != "DELETE" || r.path.rfind(prefix, 0) != 0) continue;
    const auto body = Object::parse(r.body.empty() ? "{}" : r.body, nullptr, false);
    out[r.path.substr(prefix.size())] =
        body.is_object() ? body.value("propagationPolicy", "(none)") : "(unreadable body)";
  }
  return out;
}

void set_pod_status(Cluster& cluster, const std::string& pod, const std::string& phase,
                    const Object& conditions);

// What the Job controller and the kubelet would make for `job`: a Pod with the Job's pod labels
// (job-name is what KEDA selects on), then its status through /status (a create's status is
// reset by kube-apiserver).
void make_pod(Cluster& cluster, const std::string& sj, const std::string& job,
              const std::string& phase, const Object& conditions) {
  const std::string name = job + "-pod";
  cluster.create(resources::pods(),
                 {{"apiVersion", "v1"},
                  {"kind", "Pod"},
                  {"metadata",
                   {{"name", name},
                    {"labels",
                     {{"scaledjob.keda.sh/name", sj},
                      {"job-name", job},
                      {"batch.kubernetes.io/job-name", job}}}}},
                  {"spec", {{"containers", {{{"name", "worker"}, {"image", "busybox"}}}}}}});
  set_pod_status(cluster, name, phase, conditions);
}

void set_pod_status(Cluster& cluster, const std::string& pod, const std::string& phase,
                    const Object& conditions) {
  auto client = cluster.new_client();
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto current = client->get(resources::pods(), cluster.ns(), pod);
    REQUIRE(current);
    Object o = *current;
    o["status"]["phase"] = phase;
    o["status"]["conditions"] = conditions;
    auto written = client->update_status(resources::pods(), o);
    if (written) return;
    if (!written.error().conflict()) FAIL("pod status " << pod << ": " << written.error().message);
  }
  FAIL("pod status " << pod << ": conflicts");
}

Object pod_conditions(std::initializer_list<std::pair<const char*, bool>> conditions) {
  Object out = Object::array();
  for (const auto& [type, status] : conditions)
    out.push_back({{"type", type},
                   {"status", status ? "True" : "False"},
                   {"lastTransitionTime", "2026-01-01T00:00:00Z"}});
  return out;
}

std::string note_of(const std::vector<Object>& events) {
  return events.empty() ? "" : events.front().value("note", "");
}

}  // namespace

TEST_CASE(
    "ScaledJob on a redis list: Jobs follow the list, capped at maxReplicaCount, and history is "
    "trimmed",
    "[system][adapter][scaledjob]") {
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  test::RedisServer redis;
  cluster.create(kScaledJobs, scaled_job("render", redis.port(), "renders", 4, 1, 1));
  AdapterRun adapter(cluster, pki);
  adapter.require_ready();

  eventually_adapter(
      "ScaledJob Ready=True and Active=False with an empty list",
      [&] {
        auto sj = cluster.get(kScaledJobs, "render");
        return sj && condition_status(*sj, "Ready") == "True" &&
               condition_status(*sj, "Active") == "False";
      },
      30s, adapter);
  CHECK(jobs_of(cluster, "render").empty());

  // Two items: two Jobs, made as KEDA makes them.
  REQUIRE(redis.cli({"RPUSH", "renders", "a", "b"}) == "2");
  eventually_adapter(
      "2 Jobs for 2 items", [&] { return jobs_of(cluster, "render").size() == 2; }, 30s, adapter);
  for (const auto& job : jobs_of(cluster, "render")) {
    const auto& meta = job["metadata"];
    CHECK(meta.value("generateName", "") == "render-");
    CHECK(meta["labels"].value("app.kubernetes.io/managed-by", "") == "keda-operator");
    CHECK(meta["labels"].value("team", "") == "render");  // the ScaledJob's labels are copied
    CHECK(meta["annotations"].value("scaledjob.keda.sh/generation", "") == "1");
    REQUIRE(meta.contains("ownerReferences"));
    CHECK(meta["ownerReferences"][0].value("kind", "") == "ScaledJob");
    CHECK(meta["ownerReferences"][0].value("name", "") == "render");
    CHECK(meta["ownerReferences"][0].value("controller", false));
    CHECK(job["spec"]["template"]["spec"].value("restartPolicy", "") == "OnFailure");
    CHECK(job["spec"]["template"]["metadata"]["labels"].value("scaledjob.keda.sh/name", "") ==
          "render");
  }
  eventually_adapter(
      "Active=True, lastActiveTime and KEDAJobsCreated",
      [&] {
        auto sj = cluster.get(kScaledJobs, "render");
        return sj && condition_status(*sj, "Active") == "True" &&
               (*sj)["status"].contains("lastActiveTime") &&
               !cluster.events_for("render", "KEDAJobsCreated").empty();
      },
      10s, adapter);

  // Twelve items, four at most: two more, and no more than that over several polls (the two
  // running Jobs count against the list, as in KEDA's default strategy).
  REQUIRE(redis.cli({"RPUSH", "renders", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}) ==
          "12");
  eventually_adapter(
      "4 Jobs: capped at maxReplicaCount", [&] { return jobs_of(cluster, "render").size() == 4; },
      30s, adapter);
  std::this_thread::sleep_for(3s);  // three polls at pollingInterval 1
  CHECK(jobs_of(cluster, "render").size() == 4);

  // The list drained; the Jobs end (3 succeeded at three times, 1 failed): the two older
  // successful ones go (successfulJobsHistoryLimit 1), the failed one stays (limit 1).
  REQUIRE(redis.cli({"DEL", "renders"}) == "1");
  // Active=False after the drain.
  eventually_scaled_job_condition(cluster, "render", "Active", "False", 30s, adapter);
  auto jobs = jobs_of(cluster, "render");
  REQUIRE(jobs.size() == 4);
  std::vector<std::string> job_names;
  for (const auto& j : jobs) job_names.push_back(j["metadata"].value("name", ""));
  finish(cluster, job_names[0], true, "2026-01-01T00:01:00Z");
  finish(cluster, job_names[1], true, "2026-01-01T00:03:00Z");
  finish(cluster, job_names[2], true, "2026-01-01T00:02:00Z");
  finish(cluster, job_names[3], false, "2026-01-01T00:00:30Z");
  eventually_adapter(
      "history trimmed to the newest successful and the failed Job",
      [&] {
        return names(jobs_of(cluster, "render")) ==
               std::set<std::string>{job_names[1], job_names[3]};
      },
      30s, adapter);
  // Finished Jobs are not running: with the list empty nothing new is created.
  std::this_thread::sleep_for(2s);
  CHECK(names(jobs_of(cluster, "render")) == std::set<std::string>{job_names[1], job_names[3]});
  CHECK_FALSE(cluster.events_for("render", "ScaledJobInactive").empty());
}

TEST_CASE("ScaledJob with its redis down: no Job is created, Ready=False and KEDAScalerFailed",
          "[system][adapter][scaledjob]") {
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  test::RedisServer redis;
  const auto port = redis.port();
  redis.stop();
  cluster.create(kScaledJobs, scaled_job("broken", port, "renders", 4, 1, 1));
  AdapterRun adapter(cluster, pki);
  adapter.require_ready();
  eventually_adapter(
      "Ready=False/TriggerError and a KEDAScalerFailed event",
      [&] {
        auto sj = cluster.get(kScaledJobs, "broken");
        if (!sj) return false;
        auto ready = condition(*sj, "Ready");
        return ready && ready->value("status", "") == "False" &&
               ready->value("reason", "") == "TriggerError" &&
               !cluster.events_for("broken", "KEDAScalerFailed").empty();
      },
      30s, adapter);
  std::this_thread::sleep_for(3s);
  CHECK(jobs_of(cluster, "broken").empty());
  // KEDA's series for ScaledJobs: the polls' errors, and the trigger's with type="scaledjob"
  // (the scaledObject label holds the ScaledJob's name, as in KEDA).
  const std::string series = "metric=\"s0-redis-renders\",namespace=\"" + cluster.ns() +
                             "\",scaledObject=\"broken\",scaler=\"redisScaler\","
                             "triggerIndex=\"0\",type=\"scaledjob\"";
  {
    const auto metrics = adapter.metrics();
    INFO(metrics);
    CHECK(metric_value(metrics, "keda_scaled_job_errors_total",
                       "namespace=\"" + cluster.ns() + "\",scaledJob=\"broken\"")
              .value_or(0) >= 1);
    CHECK(metric_value(metrics, "keda_scaler_detail_errors_total", series).value_or(0) >= 1);
    CHECK_FALSE(metric_value(metrics, "keda_scaler_metrics_value", series));
    CHECK(
        metric_value(metrics, "keda_internal_scale_loop_latency_seconds",
                     "namespace=\"" + cluster.ns() + "\",resource=\"broken\",type=\"scaledjob\""));
  }
  // The queue comes back (empty: the server keeps nothing on disk), then gets three items.
  redis.start();
  REQUIRE(redis.cli({"RPUSH", "renders", "a", "b", "c"}) == "3");
  eventually_adapter(
      "3 Jobs once redis is back", [&] { return jobs_of(cluster, "broken").size() == 3; }, 30s,
      adapter);
  eventually_scaled_job_condition(cluster, "broken", "Ready", "True", 10s, adapter);  // again
  eventually_adapter(
      "keda_scaler_metrics_value and keda_scaler_active of the ScaledJob's trigger",
      [&] {
        const auto metrics = adapter.metrics();
        return metric_value(metrics, "keda_scaler_metrics_value", series) == 3.0 &&
               metric_value(metrics, "keda_scaler_active", series) == 1.0;
      },
      10s, adapter);
}

TEST_CASE("ScaledJob pause annotation: no poll while paused, Paused=True, Jobs once unpaused",
          "[system][adapter][scaledjob]") {
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  test::RedisServer redis;
  REQUIRE(redis.cli({"RPUSH", "renders", "a", "b", "c"}) == "3");
  Object sj = scaled_job("paused", redis.port(), "renders", 5, 1, 1);
  sj["metadata"]["annotations"] = {{"autoscaling.keda.sh/paused", "true"}};
  cluster.create(kScaledJobs, sj);
  AdapterRun adapter(cluster, pki);
  adapter.require_ready();

  eventually_adapter(
      "Paused=True/ScaledJobPaused and its Event",
      [&] {
        auto current = cluster.get(kScaledJobs, "paused");
        if (!current) return false;
        auto paused = condition(*current, "Paused");
        return paused && paused->value("status", "") == "True" &&
               paused->value("reason", "") == "ScaledJobPaused" &&
               !cluster.events_for("paused", "ScaledJobPaused").empty();
      },
      30s, adapter);
  // Three items wait, pollingInterval is 1 s: still no Job, and the trigger is not queried.
  std::this_thread::sleep_for(3s);
  CHECK(jobs_of(cluster, "paused").empty());
  CHECK(adapter.metrics().find("scaledObject=\"paused\"") == std::string::npos);

  // The annotation goes: Paused=False/ScaledJobUnpaused, and the three Jobs.
  cluster.modify(kScaledJobs, "paused", [](Object& o) {
    o["metadata"]["annotations"].erase("autoscaling.keda.sh/paused");
  });
  eventually_adapter(
      "3 Jobs after the pause", [&] { return jobs_of(cluster, "paused").size() == 3; }, 30s,
      adapter);
  eventually_adapter(
      "Paused=False/ScaledJobUnpaused and its Event",
      [&] {
        auto current = cluster.get(kScaledJobs, "paused");
        if (!current) return false;
        auto paused = condition(*current, "Paused");
        return paused && paused->value("status", "") == "False" &&
               paused->value("reason", "") == "ScaledJobUnpaused" &&
               !cluster.events_for("paused", "ScaledJobUnpaused").empty();
      },
      10s, adapter);

  // Paused again ("1" counts as true, as KEDA reads it): a fourth item makes no Job.
  cluster.modify(kScaledJobs, "paused", [](Object& o) {
    o["metadata"]["annotations"]["autoscaling.keda.sh/paused"] = "1";
  });
  eventually_adapter(
      "Paused=True again",
      [&] {
        auto current = cluster.get(kScaledJobs, "paused");
        return current && condition_status(*current, "Paused") == "True";
      },
      30s, adapter);
  REQUIRE(redis.cli({"RPUSH", "renders", "d"}) == "4");
  std::this_thread::sleep_for(3s);
  CHECK(jobs_of(cluster, "paused").size() == 3);
}

TEST_CASE("ScaledJob on a RabbitMQ queue: one Job per message, capped at maxReplicaCount",
          "[system][adapter][scaledjob]") {
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  const auto& shared = test::shared_servers();
  const std::string queue = test::unique_name("ebb-sys-jobs");
  rabbit_fill_queue(queue, 3);
  // The password in the host URL comes from a Secret through a TriggerAuthentication.
  cluster.create(
      resources::secrets(),
      {{"apiVersion", "v1"},
       {"kind", "Secret"},
       {"metadata", {{"name", "rabbit"}}},
       {"data",
        {{"host",
          ebb::base64_encode("amqp://" + shared.rabbitmq_user + ":" + shared.rabbitmq_password +
                             "@127.0.0.1:" + std::to_string(shared.rabbitmq_amqp_port) + "/")}}}});
  cluster.create(
      ebb::cluster::trigger_authentications(),
      {{"apiVersion", "keda.sh/v1alpha1"},
       {"kind", "TriggerAuthentication"},
       {"metadata", {{"name", "rabbit-auth"}}},
       {"spec",
        {{"secretTargetRef", {{{"parameter", "host"}, {"name", "rabbit"}, {"key", "host"}}}}}}});
  Object sj = scaled_job("consume", 1, "unused", 5, 1, 1);
  sj["spec"]["triggers"] =
      Object::array({{{"type", "rabbitmq"},
                      {"metadata", {{"queueName", queue}, {"mode", "QueueLength"}, {"value", "1"}}},
                      {"authenticationRef", {{"name", "rabbit-auth"}}}}});
  cluster.create(kScaledJobs, sj);
  AdapterRun adapter(cluster, pki);
  adapter.require_ready();

  eventually_adapter(
      "3 Jobs for 3 messages", [&] { return jobs_of(cluster, "consume").size() == 3; }, 30s,
      adapter);
  // Seven more (ten waiting, three Jobs running): two more Jobs, capped at maxReplicaCount 5.
  rabbit_fill_queue(queue, 7);
  eventually_adapter(
      "5 Jobs: capped at maxReplicaCount", [&] { return jobs_of(cluster, "consume").size() == 5; },
      30s, adapter);
  std::this_thread::sleep_for(3s);  // three polls at pollingInterval 1
  CHECK(jobs_of(cluster, "consume").size() == 5);
  auto current = cluster.get(kScaledJobs, "consume");
  REQUIRE(current);
  CHECK(condition_status(*current, "Ready") == "True");
  CHECK(condition_status(*current, "Active") == "True");
  // The password was only in the Secret: not in the adapter's log.
  CHECK(adapter.log().find(shared.rabbitmq_password) == std::string::npos);
  rabbit_call("DELETE", "/queues/%2F/" + queue);
}

TEST_CASE(
    "ScaledJob rollout on a spec change: immediate deletes the old generation's Jobs with its "
    "propagationPolicy, also after a restart, gradual keeps them",
    "[system][adapter][scaledjob]") {
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  test::RedisServer redis;
  // rollout unset (immediate, background), gradual, immediate with foreground propagation: two
  // items each. The history limits keep every finished Job: the only deletes are the rollout's.
  Object defaulted = scaled_job("roll-default", redis.port(), "l-default", 10, 10, 10);
  Object gradual = scaled_job("roll-gradual", redis.port(), "l-gradual", 10, 10, 10);
  gradual["spec"]["rollout"] = {{"strategy", "gradual"}};
  Object foreground = scaled_job("roll-fg", redis.port(), "l-fg", 10, 10, 10);
  foreground["spec"]["rollout"] = {{"strategy", "immediate"}, {"propagationPolicy", "foreground"}};
  for (const char* list : {"l-default", "l-gradual", "l-fg"})
    REQUIRE(redis.cli({"RPUSH", list, "a", "b"}) == "2");
  for (const auto& sj : {defaulted, gradual, foreground}) cluster.create(kScaledJobs, sj);
  AdapterRun adapter(cluster, pki);
  adapter.require_ready();

  std::map<std::string, std::set<std::string>> first;  // the generation-1 Jobs of each
  for (const char* sj : {"roll-default", "roll-gradual", "roll-fg"}) {
    eventually_adapter(
        std::string("2 Jobs of ") + sj, [&] { return jobs_of(cluster, sj).size() == 2; }, 30s,
        adapter);
    for (const auto& job : jobs_of(cluster, sj)) {
      CHECK(generation_of(job) == "1");
      CHECK(image_of(job) == "busybox");
    }
    first[sj] = names(jobs_of(cluster, sj));
  }

  set_image(cluster, "roll-default", "busybox:1.36");
  set_image(cluster, "roll-gradual", "busybox:1.36");

  // Immediate: both old Jobs go, and the two items get two Jobs of generation 2.
  eventually_adapter(
      "roll-default: the generation-1 Jobs deleted, 2 Jobs of generation 2",
      [&] {
        const auto jobs = jobs_of(cluster, "roll-default");
        if (jobs.size() != 2) return false;
        for (const auto& job : jobs)
          if (first["roll-default"].count(job["metadata"].value("name", "")) ||
              generation_of(job) != "2" || image_of(job) != "busybox:1.36")
            return false;
        // The Events go through the status writer and may land after the Jobs.
        return !cluster.events_for("roll-default", "ScaledJobRolloutCleanupCompleted").empty();
      },
      30s, adapter);
  CHECK(note_of(cluster.events_for("roll-default", "ScaledJobRolloutCleanupStarted")) ==
        "Deleting 2 jobs owned by the previous version of the scaledJob");
  CHECK(note_of(cluster.events_for("roll-default", "ScaledJobRolloutCleanupCompleted")) ==
        "Deleted 2 jobs owned by the previous version of the scaledJob");
  CHECK(cluster.events_for("roll-default", "ScaledJobRolloutCleanupFailed").empty());
  if (cluster.server()) {
    const auto deletes = job_deletes(cluster);
    for (const auto& name : first["roll-default"]) {
      INFO(name);
      CHECK(deletes.count(name));
      if (deletes.count(name)) CHECK(deletes.at(name) == "Background");
    }
  }

  // Gradual: the running Jobs stay (and still count: two items, two Jobs, nothing new)...
  std::this_thread::sleep_for(3s);  // three polls at pollingInterval 1
  CHECK(names(jobs_of(cluster, "roll-gradual")) == first["roll-gradual"]);
  CHECK(cluster.events_for("roll-gradual", "ScaledJobRolloutCleanupStarted").empty());
  // ...and a third item gets a Job from the new template.
  REQUIRE(redis.cli({"RPUSH", "l-gradual", "c"}) == "3");
  eventually_adapter(
      "roll-gradual: a third Job", [&] { return jobs_of(cluster, "roll-gradual").size() == 3; },
      30s, adapter);
  for (const auto& job : jobs_of(cluster, "roll-gradual")) {
    const bool old = first["roll-gradual"].count(job["metadata"].value("name", "")) > 0;
    INFO(job["metadata"].value("name", ""));
    CHECK(generation_of(job) == (old ? "1" : "2"));
    CHECK(image_of(job) == (old ? "busybox" : "busybox:1.36"));
  }

  // A change while the adapter is down: its first poll after the start cleans up, as KEDA's
  // reconcile does for every ScaledJob when the operator starts.
  REQUIRE(adapter.terminate() == 0);
  set_image(cluster, "roll-fg", "busybox:1.36");
  adapter.restart();
  adapter.require_ready();
  eventually_adapter(
      "roll-fg: the generation-1 Jobs deleted after the restart",
      [&] {
        for (const auto& job : live_jobs_of(cluster, "roll-fg"))
          if (first["roll-fg"].count(job["metadata"].value("name", ""))) return false;
        return !cluster.events_for("roll-fg", "ScaledJobRolloutCleanupCompleted").empty();
      },
      30s, adapter);
  CHECK(note_of(cluster.events_for("roll-fg", "ScaledJobRolloutCleanupStarted")) ==
        "Deleting 2 jobs owned by the previous version of the scaledJob");
  if (cluster.server()) {
    const auto deletes = job_deletes(cluster);
    for (const auto& name : first["roll-fg"]) {
      INFO(name);
      CHECK(deletes.count(name));
      if (deletes.count(name)) CHECK(deletes.at(name) == "Foreground");
    }
    // Deleted at once here (no garbage collector): the two items get generation-2 Jobs.
    eventually_adapter(
        "roll-fg: 2 Jobs of generation 2",
        [&] {
          const auto jobs = jobs_of(cluster, "roll-fg");
          return jobs.size() == 2 && std::all_of(jobs.begin(), jobs.end(), [](const Object& j) {
                   return generation_of(j) == "2" && image_of(j) == "busybox:1.36";
                 });
        },
        30s, adapter);
  }
  // The others were cleaned up already (or are gradual): the restart deletes nothing of theirs.
  std::this_thread::sleep_for(2s);
  CHECK(jobs_of(cluster, "roll-default").size() == 2);
  CHECK(jobs_of(cluster, "roll-gradual").size() == 3);
}

TEST_CASE(
    "ScaledJob pendingPodConditions: a Job counts as pending until one of its pods has all the "
    "listed conditions True, and pending Jobs hold back new ones (accurate strategy)",
    "[system][adapter][scaledjob]") {
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  test::RedisServer redis;
  // The accurate strategy creates `queue - pending` Jobs: a Job that stops being pending frees a
  // place for a new one (its item is assumed taken off the queue).
  Object conditioned = scaled_job("cond", redis.port(), "l-cond", 10, 10, 10);
  conditioned["spec"]["scalingStrategy"] = {{"strategy", "accurate"},
                                            {"pendingPodConditions", {"Ready", "PodScheduled"}}};
  Object phased = scaled_job("phase", redis.port(), "l-phase", 10, 10, 10);
  phased["spec"]["scalingStrategy"] = {{"strategy", "accurate"}};
  REQUIRE(redis.cli({"RPUSH", "l-cond", "a", "b"}) == "2");
  REQUIRE(redis.cli({"RPUSH", "l-phase", "a", "b"}) == "2");
  cluster.create(kScaledJobs, conditioned);
  cluster.create(kScaledJobs, phased);
  AdapterRun adapter(cluster, pki);
  adapter.require_ready();

  for (const char* sj : {"cond", "phase"})
    eventually_adapter(
        std::string("2 Jobs of ") + sj, [&] { return jobs_of(cluster, sj).size() == 2; }, 30s,
        adapter);
  // No pods yet: all four Jobs pending, nothing more.
  std::this_thread::sleep_for(3s);  // three polls at pollingInterval 1
  CHECK(jobs_of(cluster, "cond").size() == 2);
  CHECK(jobs_of(cluster, "phase").size() == 2);

  // Pods that lack one listed condition: a Running phase does not matter when conditions are
  // listed, so both Jobs stay pending.
  const auto cond_jobs = names(jobs_of(cluster, "cond"));
  const std::string a = *cond_jobs.begin(), b = *std::next(cond_jobs.begin());
  make_pod(cluster, "cond", a, "Running", pod_conditions({{"Ready", true}}));
  make_pod(cluster, "cond", b, "Running",
           pod_conditions({{"Ready", true}, {"PodScheduled", false}}));
  // Without pendingPodConditions a Running pod is what ends pending: one more Job.
  make_pod(cluster, "phase", *names(jobs_of(cluster, "phase")).begin(), "Running", Object::array());
  eventually_adapter(
      "phase: a third Job once a pod runs", [&] { return jobs_of(cluster, "phase").size() == 3; },
      30s, adapter);
  std::this_thread::sleep_for(2s);  // the pod informer has both cond pods by now, and 2 polls
  CHECK(jobs_of(cluster, "cond").size() == 2);

  // All listed conditions True on a's pod: a is no longer pending, one new Job; then b and the
  // new one are pending and hold the count at three.
  set_pod_status(cluster, a + "-pod", "Running",
                 pod_conditions({{"Ready", true}, {"PodScheduled", true}}));
  eventually_adapter(
      "cond: a third Job once a pod has every listed condition",
      [&] { return jobs_of(cluster, "cond").size() == 3; }, 30s, adapter);
  std::this_thread::sleep_for(3s);
  CHECK(jobs_of(cluster, "cond").size() == 3);
  CHECK(jobs_of(cluster, "phase").size() == 3);
}

TEST_CASE(
    "ScaledJob envSourceContainerName: a FromEnv parameter comes from the named container of the "
    "job template, else from the first, and a missing container is a clear error",
    "[system][adapter][scaledjob]") {
  Cluster cluster;
  const auto pki = make_adapter_pki(cluster.dir());
  test::RedisServer redis;
  const std::string good = "127.0.0.1:" + std::to_string(redis.port());
  const std::string bad = "127.0.0.1:1";  // nothing listens: a trigger reading it fails
  // The good address comes through a ConfigMap (envFrom) in one template, as a value in the other.
  cluster.create(resources::configmaps(), {{"apiVersion", "v1"},
                                           {"kind", "ConfigMap"},
                                           {"metadata", {{"name", "queue"}}},
                                           {"data", {{"REDIS_ADDR", good}}}});
  auto container = [](const std::string& name, const std::string& address) {
    return Object{{"name", name},
                  {"image", "busybox"},
                  {"env", {{{"name", "REDIS_ADDR"}, {"value", address}}}}};
  };
  auto from_env = [&](const std::string& name, const std::string& list, Object containers) {
    Object sj = scaled_job(name, redis.port(), list, 10, 10, 10);
    sj["spec"]["jobTargetRef"]["template"]["spec"]["containers"] = std::move(containers);
    auto& metadata = sj["spec"]["triggers"][0]["metadata"];
    metadata.erase("address");
    metadata["addressFromEnv"] = "REDIS_ADDR";
    return sj;
  };
  Object named = from_env("env-named", "l-named",
                          Object::array({container("sidecar", bad), container("worker", good)}));
  named["spec"]["envSourceContainerName"] = "worker";
  Object first_container =
      from_env("env-first", "l-first",
               Object::array({{{"name", "worker"},
                               {"image", "busybox"},
                               {"envFrom", {{{"configMapRef", {{"name", "queue"}}}}}}},
                              container("sidecar", bad)}));
  Object missing = from_env("env-missing", "l-missing", Object::array({container("worker", good)}));
  missing["spec"]["envSourceContainerName"] = "nope";
  for (const char* list : {"l-named", "l-first", "l-missing"})
    REQUIRE(redis.cli({"RPUSH", list, "a", "b"}) == "2");
  for (const auto& sj : {named, first_container, missing}) cluster.create(kScaledJobs, sj);
  AdapterRun adapter(cluster, pki);
  adapter.require_ready();

  for (const char* sj : {"env-named", "env-first"}) {
    eventually_adapter(
        std::string("2 Jobs of ") + sj, [&] { return jobs_of(cluster, sj).size() == 2; }, 30s,
        adapter);
    // Ready=True is written after the poll's Jobs are created.
    eventually_scaled_job_condition(cluster, sj, "Ready", "True", 30s, adapter);
  }
  eventually_adapter(
      "env-missing: Ready=False and a KEDAScalerFailed event naming the container",
      [&] {
        auto current = cluster.get(kScaledJobs, "env-missing");
        if (!current || condition_status(*current, "Ready") != "False") return false;
        for (const auto& e : cluster.events_for("env-missing", "KEDAScalerFailed"))
          if (e.value("note", "").find("couldn't find container with name nope") !=
              std::string::npos)
            return true;
        return false;
      },
      30s, adapter);
  std::this_thread::sleep_for(2s);
  CHECK(jobs_of(cluster, "env-missing").empty());
}
