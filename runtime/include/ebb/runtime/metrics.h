// One Prometheus registry per process, shared by everything that reports (the Manager, each
// Controller, the process's own families), rendered in the text format by the Manager's metrics
// server. Families whose series come from state read at scrape time (cache sizes, queue depth,
// leadership) are collectors: functions called on every render, so they never drift and
// deleted objects leave no series behind.
//
// The two metrics every process reports live here: build information {version, git_commit,
// goversion, goos, goarch} (goversion holds the C++ compiler) under the name the process
// gives, and client-go's leader_election_master_status{name}.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

namespace ebb::runtime {

struct MetricsOptions {
  std::string process;  // the `name` label of leader_election_master_status: "ebb-operator"
  std::string version, git_commit;
  // The build-information gauge (version, git_commit, goversion, goos, goarch); the processes
  // name it keda_build_info, as KEDA does, so its dashboards keep working.
  std::string build_info_metric = "build_info";
  // 1 while this process leads (or runs without leader election); null counts as leading.
  std::function<bool()> leading;
};

// Families computed at scrape time. Called on the scraping thread, possibly concurrently with
// everything else: read only thread-safe state.
using Collector = std::function<std::vector<prometheus::MetricFamily>()>;

class Metrics {
 public:
  explicit Metrics(MetricsOptions options);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Families registered here are rendered as they are. prometheus-cpp merges a family
  // registered twice under one name, so two controllers share controller_runtime_* families.
  prometheus::Registry& registry() { return *registry_; }
  // Called on every render, after the registry's families. Families of the same name from
  // several collectors are merged into one (two controllers, one workqueue_depth).
  void add_collector(Collector collector);

  // The text exposition format (version 0.0.4).
  std::string render() const;

 private:
  MetricsOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mutex_;
  std::vector<Collector> collectors_;
};

// One gauge sample, for collectors.
prometheus::ClientMetric gauge_sample(std::vector<prometheus::ClientMetric::Label> labels,
                                      double value);

}  // namespace ebb::runtime
