// The adapter's Prometheus metrics (process/metrics.h) on a process registry
// (runtime::Metrics), rendered as the Manager serves them: the engine's observations with KEDA's
// names and labels (keda-compat §7.1), forget() dropping one object's series, the external
// metrics API's request counts, and the shared build info and leader gauge.
#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "process/metrics.h"

using namespace ebb::adapter;
using namespace ebb::adapter::process;

namespace {

// The sample value of the series `name{labels}` exactly as rendered (labels sorted by name,
// as the text format writes them), or nullopt when that series is absent.
std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

bool has_line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return true;
  return false;
}

std::string L(const std::string& ns, const std::string& so, const std::string& metric, const std::string& scaler,
              int index) {
  return "{metric=\"" + metric + "\",namespace=\"" + ns + "\",scaledObject=\"" + so + "\",scaler=\"" + scaler +
         "\",triggerIndex=\"" + std::to_string(index) + "\",type=\"scaledobject\"}";
}

// The adapter's families on the registry of a process that leads or not.
struct Process {
  std::atomic<bool> leader{true};
  ebb::runtime::Metrics shared{
      {"ebb-metrics-adapter", "0.1.0", "abc123", "keda_build_info", [this] { return leader.load(); }}};
  AdapterMetrics metrics{shared};
  std::string render(bool leading) {
    leader = leading;
    return shared.render();
  }
};

const MetricLabels kRedis{"apps", "orders", "s0-redis-orders", "redisScaler", 0};
const MetricLabels kRabbit{"apps", "orders", "s1-rabbitmq-jobs", "jobs-trigger", 1};
const MetricLabels kOther{"apps", "payments", "s0-kafka-payments", "kafkaScaler", 0};

}  // namespace

TEST_CASE("metrics: a scaler query renders value, latency, activity and an error series at 0") {
  Process process;
  AdapterMetrics& m = process.metrics;
  EngineObserver& observer = m;
  observer.scaler_queried(kRedis, 12.5, true, false, 0.25);
  const auto text = process.render(true);
  const auto l = L("apps", "orders", "s0-redis-orders", "redisScaler", 0);
  CHECK(sample(text, "keda_scaler_metrics_value" + l) == 12.5);
  CHECK(sample(text, "keda_scaler_metrics_latency_seconds" + l) == 0.25);
  CHECK(sample(text, "keda_scaler_active" + l) == 1);
  CHECK(sample(text, "keda_scaler_detail_errors_total" + l) == 0);  // initialised, as KEDA does
  CHECK(text.find("# TYPE keda_scaler_metrics_value gauge") != std::string::npos);
  CHECK(text.find("# TYPE keda_scaler_detail_errors_total counter") != std::string::npos);
}

TEST_CASE("metrics: a failed query counts an error, reports inactive and keeps the last value") {
  Process process;
  AdapterMetrics& m = process.metrics;
  m.scaler_queried(kRabbit, 4, true, false, 0.1);
  m.scaler_queried(kRabbit, std::nullopt, false, true, 2.0);
  m.scaler_queried(kRabbit, std::nullopt, false, true, 3.0);
  const auto text = process.render(true);
  const auto l = L("apps", "orders", "s1-rabbitmq-jobs", "jobs-trigger", 1);
  CHECK(sample(text, "keda_scaler_detail_errors_total" + l) == 2);
  CHECK(sample(text, "keda_scaler_active" + l) == 0);
  CHECK(sample(text, "keda_scaler_metrics_latency_seconds" + l) == 3.0);
  CHECK(sample(text, "keda_scaler_metrics_value" + l) == 4);
}

TEST_CASE("metrics: a failed query with a fallback value serves that value") {
  Process process;
  AdapterMetrics& m = process.metrics;
  m.scaler_queried(kRedis, 30, false, true, 0.5);
  const auto l = L("apps", "orders", "s0-redis-orders", "redisScaler", 0);
  const auto text = process.render(false);
  CHECK(sample(text, "keda_scaler_metrics_value" + l) == 30);
  CHECK(sample(text, "keda_scaler_detail_errors_total" + l) == 1);
}

TEST_CASE("metrics: composite metric, scale loop latency, object errors") {
  Process process;
  AdapterMetrics& m = process.metrics;
  m.composite(MetricLabels{"apps", "orders", "composite-metric", "composite-metric", 0}, 7, true);
  m.scale_loop_lag("apps", "orders", 0.04);
  m.object_error("apps", "orders");
  m.object_error("apps", "orders");
  const auto text = process.render(true);
  const auto l = L("apps", "orders", "composite-metric", "composite-metric", 0);
  CHECK(sample(text, "keda_scaler_metrics_value" + l) == 7);
  CHECK(sample(text, "keda_scaler_active" + l) == 1);
  CHECK(sample(text, "keda_internal_scale_loop_latency_seconds{namespace=\"apps\",resource=\"orders\",type=\"scaledobject\"}") == 0.04);
  CHECK(sample(text, "keda_scaled_object_errors_total{namespace=\"apps\",scaledObject=\"orders\"}") == 2);
}

TEST_CASE("metrics: forget removes every series of one object and keeps the others") {
  Process process;
  AdapterMetrics& m = process.metrics;
  m.scaler_queried(kRedis, 1, true, false, 0.1);
  m.scaler_queried(kRabbit, std::nullopt, false, true, 0.1);
  m.composite(MetricLabels{"apps", "orders", "composite-metric", "composite-metric", 0}, 7, true);
  m.scale_loop_lag("apps", "orders", 0.01);
  m.object_error("apps", "orders");
  m.scaler_queried(kOther, 9, true, false, 0.2);
  m.scale_loop_lag("apps", "payments", 0.02);
  m.object_error("apps", "payments");

  m.forget("apps", "orders");
  const auto text = process.render(true);
  CHECK(text.find("scaledObject=\"orders\"") == std::string::npos);
  CHECK(text.find("resource=\"orders\"") == std::string::npos);
  const auto other = L("apps", "payments", "s0-kafka-payments", "kafkaScaler", 0);
  CHECK(sample(text, "keda_scaler_metrics_value" + other) == 9);
  CHECK(sample(text, "keda_scaler_active" + other) == 1);
  CHECK(sample(text, "keda_scaler_detail_errors_total" + other) == 0);
  CHECK(sample(text, "keda_internal_scale_loop_latency_seconds{namespace=\"apps\",resource=\"payments\",type=\"scaledobject\"}") == 0.02);
  CHECK(sample(text, "keda_scaled_object_errors_total{namespace=\"apps\",scaledObject=\"payments\"}") == 1);

  // A rebuilt object starts over: its error counter begins at 0 again.
  m.scaler_queried(kRedis, 2, true, false, 0.1);
  const auto again = process.render(true);
  const auto l = L("apps", "orders", "s0-redis-orders", "redisScaler", 0);
  CHECK(sample(again, "keda_scaler_metrics_value" + l) == 2);
  CHECK(sample(again, "keda_scaler_detail_errors_total" + l) == 0);
  CHECK_FALSE(sample(again, "keda_scaler_active" + L("apps", "orders", "s1-rabbitmq-jobs", "jobs-trigger", 1)));
}

TEST_CASE("metrics: forget of an unknown object changes nothing") {
  Process process;
  AdapterMetrics& m = process.metrics;
  m.scaler_queried(kRedis, 1, true, false, 0.1);
  m.forget("apps", "unknown");
  m.forget("other", "orders");
  CHECK(sample(process.render(true),
               "keda_scaler_metrics_value" +
                   L("apps", "orders", "s0-redis-orders", "redisScaler", 0)) == 1);
}

TEST_CASE("metrics: ScaledJob triggers get the scaler series with type=scaledjob") {
  Process process;
  AdapterMetrics& m = process.metrics;
  // A ScaledJob and a ScaledObject of the same name and metric: separate series.
  const MetricLabels job{"apps", "orders", "s0-redis-orders", "redisScaler", 0};
  m.job_trigger_polled(job, 6, true, false, 0.2);
  m.job_trigger_polled(job, std::nullopt, false, true, 1.5);
  m.scaler_queried(kRedis, 1, true, false, 0.1);
  m.job_poll_lag("apps", "orders", 0.03);
  m.scaled_job_error("apps", "orders");
  auto text = process.render(true);
  auto with_type = [](const std::string& labels, const std::string& type) {
    auto out = labels;
    out.replace(out.find("type=\"scaledobject\""), std::string("type=\"scaledobject\"").size(),
                "type=\"" + type + "\"");
    return out;
  };
  const auto so = L("apps", "orders", "s0-redis-orders", "redisScaler", 0);
  const auto sj = with_type(so, "scaledjob");
  CHECK(sample(text, "keda_scaler_metrics_value" + sj) == 6);  // the last value read
  CHECK(sample(text, "keda_scaler_metrics_latency_seconds" + sj) == 1.5);
  CHECK(sample(text, "keda_scaler_active" + sj) == 0);
  CHECK(sample(text, "keda_scaler_detail_errors_total" + sj) == 1);
  CHECK(sample(text, "keda_scaler_metrics_value" + so) == 1);
  CHECK(sample(text,
               "keda_internal_scale_loop_latency_seconds{namespace=\"apps\",resource=\"orders\","
               "type=\"scaledjob\"}") == 0.03);
  CHECK(sample(text, "keda_scaled_job_errors_total{namespace=\"apps\",scaledJob=\"orders\"}") == 1);

  // Triggers changed: the scaler series go, the errors counter and the loop latency stay.
  m.forget_scaled_job("apps", "orders", false);
  text = process.render(true);
  CHECK_FALSE(sample(text, "keda_scaler_metrics_value" + sj));
  CHECK_FALSE(sample(text, "keda_scaler_detail_errors_total" + sj));
  CHECK(sample(text, "keda_scaler_metrics_value" + so) == 1);
  CHECK(sample(text, "keda_scaled_job_errors_total{namespace=\"apps\",scaledJob=\"orders\"}") == 1);
  CHECK(text.find("type=\"scaledjob\"}") != std::string::npos);

  // Removed: nothing of the ScaledJob is left; the ScaledObject's series are untouched.
  m.job_trigger_polled(job, 2, true, false, 0.2);
  m.forget_scaled_job("apps", "orders", true);
  text = process.render(true);
  CHECK(text.find("type=\"scaledjob\"") == std::string::npos);
  CHECK(text.find("scaledJob=\"orders\"") == std::string::npos);
  CHECK(sample(text, "keda_scaler_metrics_value" + so) == 1);
}

TEST_CASE("metrics: each keda family keeps its HELP and TYPE and none is rendered without series") {
  Process process;
  AdapterMetrics& m = process.metrics;
  const auto empty = process.render(true);
  CHECK(empty.find("keda_scaler") == std::string::npos);
  CHECK(empty.find("keda_scaled_") == std::string::npos);
  CHECK(empty.find("keda_internal") == std::string::npos);

  m.scaler_queried(kRedis, 1, true, true, 0.1);
  m.scale_loop_lag("apps", "orders", 0.01);
  m.object_error("apps", "orders");
  m.scaled_job_error("apps", "renders");
  const auto text = process.render(true);
  const std::vector<std::string> lines = {
      "# HELP keda_scaler_metrics_value The current value of each scaler's metric (after "
      "fallback), as the HPA is served it",
      "# TYPE keda_scaler_metrics_value gauge",
      "# HELP keda_scaler_metrics_latency_seconds Duration of the last query of each scaler, in "
      "seconds",
      "# TYPE keda_scaler_metrics_latency_seconds gauge",
      "# HELP keda_scaler_active 1 when the scaler is active, else 0",
      "# TYPE keda_scaler_active gauge",
      "# HELP keda_scaler_detail_errors_total Number of scaler query errors",
      "# TYPE keda_scaler_detail_errors_total counter",
      "# HELP keda_scaled_object_errors_total Number of ScaledObject errors (failed polls, "
      "scalers or target reads)",
      "# TYPE keda_scaled_object_errors_total counter",
      "# HELP keda_scaled_job_errors_total Number of ScaledJob errors (polls with a failed "
      "trigger, invalid objects)",
      "# TYPE keda_scaled_job_errors_total counter",
      "# HELP keda_internal_scale_loop_latency_seconds Lag between the planned and the actual "
      "start of a poll, in seconds",
      "# TYPE keda_internal_scale_loop_latency_seconds gauge",
  };
  for (const auto& line : lines) {
    INFO(line);
    CHECK(text.find(line + "\n") != std::string::npos);
  }
  // Each family once, even with several objects' series in it.
  m.scaler_queried(kOther, 2, true, false, 0.1);
  const auto two = process.render(true);
  const std::string type = "# TYPE keda_scaler_metrics_value gauge\n";
  CHECK(two.find(type) == two.rfind(type));
}

TEST_CASE("metrics: a series exists only once observed") {
  Process process;
  AdapterMetrics& m = process.metrics;
  const auto l = L("apps", "orders", "s0-redis-orders", "redisScaler", 0);
  const auto composite = L("apps", "orders", "composite-metric", "composite-metric", 0);
  // A first query that failed without a fallback value: no value series yet.
  m.scaler_queried(kRedis, std::nullopt, false, true, 0.5);
  m.composite(MetricLabels{"apps", "orders", "composite-metric", "composite-metric", 0}, 3, false);
  m.scale_loop_lag("apps", "orders", 0.01);
  m.job_poll_lag("apps", "renders", 0.02);
  auto text = process.render(true);
  CHECK_FALSE(sample(text, "keda_scaler_metrics_value" + l));
  CHECK(sample(text, "keda_scaler_active" + l) == 0);
  CHECK(sample(text, "keda_scaler_detail_errors_total" + l) == 1);
  // A composite metric has a value and an activity, never a latency or an errors series.
  CHECK(sample(text, "keda_scaler_metrics_value" + composite) == 3);
  CHECK(sample(text, "keda_scaler_active" + composite) == 0);
  CHECK_FALSE(sample(text, "keda_scaler_metrics_latency_seconds" + composite));
  CHECK_FALSE(sample(text, "keda_scaler_detail_errors_total" + composite));
  // The errors counters of objects appear with their first error, not before.
  CHECK(text.find("keda_scaled_object_errors_total") == std::string::npos);
  CHECK(text.find("keda_scaled_job_errors_total") == std::string::npos);
  CHECK(sample(text,
               "keda_internal_scale_loop_latency_seconds{namespace=\"apps\",resource=\"renders\","
               "type=\"scaledjob\"}") == 0.02);

  m.scaler_queried(kRedis, 5, true, false, 0.1);
  text = process.render(true);
  CHECK(sample(text, "keda_scaler_metrics_value" + l) == 5);
  CHECK(sample(text, "keda_scaler_detail_errors_total" + l) == 1);
}

TEST_CASE("metrics: counters only grow while their object lives") {
  Process process;
  AdapterMetrics& m = process.metrics;
  const auto l = L("apps", "orders", "s0-redis-orders", "redisScaler", 0);
  const std::string object =
      "keda_scaled_object_errors_total{namespace=\"apps\",scaledObject=\"orders\"}";
  const std::string job = "keda_scaled_job_errors_total{namespace=\"apps\",scaledJob=\"renders\"}";
  const MetricLabels job_trigger{"apps", "renders", "s0-redis-renders", "redisScaler", 0};
  double last_trigger = 0, last_object = 0, last_job = 0;
  for (int i = 1; i <= 6; ++i) {
    // Everything else an object reports in between leaves its counters where they were.
    m.scaler_queried(kRedis, i, true, i % 2 == 0, 0.1);
    m.composite(MetricLabels{"apps", "orders", "composite-metric", "composite-metric", 0}, i, true);
    m.scaler_queried(kRabbit, i, true, false, 0.1);
    m.scale_loop_lag("apps", "orders", 0.01);
    m.object_error("apps", "orders");
    m.job_trigger_polled(job_trigger, i, true, true, 0.1);
    m.job_poll_lag("apps", "renders", 0.01);
    m.scaled_job_error("apps", "renders");
    // The ScaledJob's triggers changed: its errors counter keeps counting from where it was.
    if (i == 3) m.forget_scaled_job("apps", "renders", false);
    const auto text = process.render(true);
    const auto trigger = sample(text, "keda_scaler_detail_errors_total" + l);
    REQUIRE(trigger);
    REQUIRE(sample(text, object));
    REQUIRE(sample(text, job));
    CHECK(*trigger == i / 2);
    CHECK(*trigger >= last_trigger);
    CHECK(*sample(text, object) == i);
    CHECK(*sample(text, object) > last_object);
    CHECK(*sample(text, job) == i);
    CHECK(*sample(text, job) > last_job);
    last_trigger = *trigger;
    last_object = *sample(text, object);
    last_job = *sample(text, job);
  }
}

TEST_CASE("metrics: build info and the leader gauge") {
  Process process;
  const auto leader = process.render(true);
  CHECK(has_line_starting(leader, "keda_build_info{git_commit=\"abc123\",goarch="));
  CHECK(leader.find("version=\"0.1.0\"} 1") != std::string::npos);
  CHECK(sample(leader, "leader_election_master_status{name=\"ebb-metrics-adapter\"}") == 1);
  CHECK(sample(process.render(false),
               "leader_election_master_status{name=\"ebb-metrics-adapter\"}") == 0);
}

TEST_CASE("metrics: API request labels") {
  using P = std::pair<std::string, std::string>;
  CHECK(api_request_labels("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/apps/s0-redis-orders") ==
        P{"LIST", "s0-redis-orders"});
  CHECK(api_request_labels("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/apps/S0-Redis") ==
        P{"LIST", "s0-redis"});
  CHECK(api_request_labels("GET", "/apis/external.metrics.k8s.io/v1beta1") == P{"GET", ""});
  CHECK(api_request_labels("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/apps") == P{"GET", ""});
  CHECK(api_request_labels("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/apps/m/extra") == P{"GET", ""});
  CHECK(api_request_labels("HEAD", "/healthz") == P{"GET", ""});
  CHECK(api_request_labels("POST", "/apis/external.metrics.k8s.io/v1beta1/namespaces/apps/m") == P{"POST", "m"});
}

TEST_CASE("metrics: API requests are counted by verb, resource and code") {
  Process process;
  AdapterMetrics& m = process.metrics;
  const std::string read = "/apis/external.metrics.k8s.io/v1beta1/namespaces/apps/s0-redis-orders";
  m.api_request("GET", read, 200, 0.002);
  m.api_request("GET", read, 200, 0.003);
  m.api_request("GET", read, 404, 0.001);
  m.api_request("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/apps/probe-1", 401, 0.001);
  m.api_request("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/apps/probe-2", 403, 0.001);
  m.api_request("GET", "/apis", 200, 0.001);
  const auto text = process.render(true);
  CHECK(sample(text, "apiserver_request_total{code=\"200\",resource=\"s0-redis-orders\",verb=\"LIST\"}") == 2);
  CHECK(sample(text, "apiserver_request_total{code=\"404\",resource=\"s0-redis-orders\",verb=\"LIST\"}") == 1);
  // Rejected callers never name a series.
  CHECK(sample(text, "apiserver_request_total{code=\"401\",resource=\"\",verb=\"LIST\"}") == 1);
  CHECK(sample(text, "apiserver_request_total{code=\"403\",resource=\"\",verb=\"LIST\"}") == 1);
  CHECK(text.find("probe-") == std::string::npos);
  CHECK(sample(text, "apiserver_request_total{code=\"200\",resource=\"\",verb=\"GET\"}") == 1);
  CHECK(sample(text, "apiserver_request_duration_seconds_count{resource=\"s0-redis-orders\",verb=\"LIST\"}") == 3);
}

TEST_CASE("metrics: concurrent observations, forgets and scrapes") {
  Process process;
  AdapterMetrics& m = process.metrics;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        MetricLabels l{"ns", "so-" + std::to_string(i % 7), "s0-m", "redisScaler", static_cast<std::size_t>(t)};
        m.scaler_queried(l, i, i % 2 == 0, i % 3 == 0, 0.001);
        m.object_error("ns", l.scaled_object);
        if (i % 50 == 0) m.forget("ns", l.scaled_object);
      }
    });
  }
  std::atomic<int> scrapes{0}, empty{0};
  std::thread scraper([&] {  // Catch assertions are not thread-safe: count, check after
    while (!stop) {
      if (process.render(true).find("keda_build_info") == std::string::npos) ++empty;
      ++scrapes;
    }
  });
  for (auto& t : threads) t.join();
  stop = true;
  scraper.join();
  CHECK(scrapes > 0);
  CHECK(empty == 0);
  for (int i = 0; i < 7; ++i) m.forget("ns", "so-" + std::to_string(i));
  CHECK(process.render(true).find("scaledObject=\"so-") == std::string::npos);
}
