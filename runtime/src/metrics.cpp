#include "ebb/runtime/metrics.h"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include <map>

#include "ebb/process/runtime.h"

namespace ebb::runtime {

prometheus::ClientMetric gauge_sample(std::vector<prometheus::ClientMetric::Label> labels,
                                      double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  return m;
}

Metrics::Metrics(MetricsOptions options)
    : options_(std::move(options)), registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::BuildGauge()
      .Name(options_.build_info_metric)
      .Help("Build information: version, commit, compiler (in goversion) and platform")
      .Register(*registry_)
      .Add({{"version", options_.version},
            {"git_commit", options_.git_commit},
            {"goversion", std::string("g++ ") + __VERSION__},
            {"goos", "linux"},
            {"goarch", ebb::process::machine_arch()}})
      .Set(1);
  add_collector([this] {
    prometheus::MetricFamily leader{
        "leader_election_master_status",
        "1 while this process leads (or runs without leader election), else 0",
        prometheus::MetricType::Gauge,
        {}};
    const bool leading = !options_.leading || options_.leading();
    leader.metric.push_back(gauge_sample({{"name", options_.process}}, leading ? 1 : 0));
    return std::vector<prometheus::MetricFamily>{std::move(leader)};
  });
}

void Metrics::add_collector(Collector collector) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::render() const {
  // Family::Collect takes each family's own lock, so registering, adding and removing series
  // may go on while this runs.
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<Collector> collectors;
  {
    std::lock_guard lock(mutex_);
    collectors = collectors_;
  }
  std::map<std::string, std::size_t> collected;  // name -> index in families, collectors' only
  for (const auto& collector : collectors) {
    for (auto& family : collector()) {
      auto [it, added] = collected.emplace(family.name, families.size());
      if (added) {
        families.push_back(std::move(family));
      } else {
        auto& into = families[it->second].metric;
        into.insert(into.end(), std::make_move_iterator(family.metric.begin()),
                    std::make_move_iterator(family.metric.end()));
      }
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace ebb::runtime
