// runtime::Metrics: the shared families every process reports, collectors rendered after the
// registry, and families of one name from several collectors merged.
#include <catch2/catch.hpp>

#include <prometheus/counter.h>

#include <atomic>
#include <string>

#include "ebb/runtime/metrics.h"

using namespace ebb::runtime;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("metrics: build info, and the leader gauge follows the leading function") {
  std::atomic<bool> leading{false};
  Metrics metrics({"ebb-test", "0.1.0", "abc123", "test_build_info", [&] { return leading.load(); }});
  auto text = metrics.render();
  CHECK(text.find("test_build_info{git_commit=\"abc123\",goarch=") != std::string::npos);
  CHECK(text.find("goos=\"linux\",goversion=\"g++ ") != std::string::npos);
  CHECK(text.find("version=\"0.1.0\"} 1") != std::string::npos);
  CHECK(text.find("leader_election_master_status{name=\"ebb-test\"} 0") != std::string::npos);
  leading = true;
  CHECK(metrics.render().find("leader_election_master_status{name=\"ebb-test\"} 1") !=
        std::string::npos);
  Metrics without({"ebb-other", "0.1.0", "abc123", "build_info", nullptr});
  CHECK(without.render().find("leader_election_master_status{name=\"ebb-other\"} 1") !=
        std::string::npos);
}

TEST_CASE("metrics: registry families and collectors, one family per name") {
  Metrics metrics({"ebb-test", "0.1.0", "abc123", "build_info", nullptr});
  prometheus::BuildCounter()
      .Name("test_total")
      .Help("Tests")
      .Register(metrics.registry())
      .Add({})
      .Increment(2);
  for (const char* who : {"a", "b"}) {
    metrics.add_collector([who] {
      prometheus::MetricFamily family{"test_depth", "Depth", prometheus::MetricType::Gauge, {}};
      family.metric.push_back(gauge_sample({{"name", who}}, 1));
      return std::vector<prometheus::MetricFamily>{family};
    });
  }
  const auto text = metrics.render();
  CHECK(text.find("test_total 2") != std::string::npos);
  CHECK(count(text, "# TYPE test_depth gauge") == 1);
  CHECK(text.find("test_depth{name=\"a\"} 1") != std::string::npos);
  CHECK(text.find("test_depth{name=\"b\"} 1") != std::string::npos);
}
