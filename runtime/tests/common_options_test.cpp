// runtime::CommonFlags and CommandLine (flags.h): the flags both processes register through one
// call, their defaults, Go durations and their order, pflag's last-value-wins, usage errors
// naming the flag, and the exit codes. Each process's own options tests check the same flags
// through its parser.
#include <catch2/catch.hpp>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "ebb/process/cli.h"
#include "ebb/runtime/flags.h"
#include "ebb/runtime/manager.h"

using namespace ebb::runtime;
using namespace std::chrono_literals;

namespace {

std::vector<char*> argv_of(std::vector<std::string>& storage) {
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  return argv;
}

// {options, error message} after parsing {"test", args...} with only the common flags.
std::pair<CommonOptions, std::string> parse(const std::vector<std::string>& args) {
  CommonOptions o("test.keda.sh", ":9999");
  CLI::App app{"test"};
  app.option_defaults()->always_capture_default();
  CommonFlags flags(app, o);
  ebb::process::last_value_wins(app);
  std::vector<std::string> storage{"test"};
  storage.insert(storage.end(), args.begin(), args.end());
  auto argv = argv_of(storage);
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    flags.validate();
  } catch (const CLI::Error& e) {
    return {o, e.what()};
  }
  return {o, ""};
}

}  // namespace

TEST_CASE("common options: defaults are kept, and every flag is read") {
  auto [d, none] = parse({});
  CHECK(none.empty());
  CHECK(d.kubeconfig.empty());
  CHECK(d.context.empty());
  CHECK(d.kube_api_qps == 300);
  CHECK(d.kube_api_burst == 600);
  CHECK(d.leader_elect);
  CHECK(d.leader_election_id == "test.keda.sh");
  CHECK(d.leader_election_namespace.empty());
  CHECK(d.lease_duration == 15s);
  CHECK(d.renew_deadline == 10s);
  CHECK(d.retry_period == 2s);
  CHECK(d.metrics_bind_address == ":9999");
  CHECK(d.log_level == "info");

  auto [o, error] =
      parse({"--kubeconfig=/k", "--context", "c", "--kube-api-qps=5.5", "--kube-api-burst", "7",
             "--leader-elect=false", "--leader-election-id=x", "--leader-election-namespace", "ns",
             "--leader-election-lease-duration=1m", "--leader-election-renew-deadline=30s",
             "--leader-election-retry-period=500ms", "--metrics-bind-address=0",
             "--log-level=debug", "--log-level=warn"});
  INFO(error);
  CHECK(error.empty());
  CHECK(o.kubeconfig == "/k");
  CHECK(o.context == "c");
  CHECK(o.kube_api_qps == 5.5);
  CHECK(o.kube_api_burst == 7);
  CHECK_FALSE(o.leader_elect);
  CHECK(o.leader_election_id == "x");
  CHECK(o.leader_election_namespace == "ns");
  CHECK(o.lease_duration == 60s);
  CHECK(o.renew_deadline == 30s);
  CHECK(o.retry_period == 500ms);
  CHECK(o.metrics_bind_address == "0");
  CHECK(o.log_level == "warn");  // the last value wins
}

TEST_CASE("common options: bad values name the flag") {
  for (auto [args, flag] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--leader-election-lease-duration=0s"}, "--leader-election-lease-duration"},
           {{"--leader-election-retry-period=soon"}, "--leader-election-retry-period"},
           {{"--leader-election-renew-deadline=20s"}, "--leader-election-renew-deadline"},
           {{"--leader-election-retry-period=10s"}, "--leader-election-retry-period"},
           {{"--kube-api-qps=0"}, "--kube-api-qps"},
           {{"--kube-api-burst=0"}, "--kube-api-burst"},
           {{"--log-level=loud"}, "--log-level"},
           {{"--leader-elect=maybe"}, "--leader-elect"}}) {
    INFO(flag);
    const auto error = parse(args).second;
    CHECK(error.find(flag) != std::string::npos);
  }
  CHECK(parse({"--leader-election-lease-duration=0s"})
            .second.find("not a positive duration: \"0s\"") != std::string::npos);
  CHECK(parse({"--leader-election-renew-deadline=20s"})
            .second.find("must be shorter than --leader-election-lease-duration") !=
        std::string::npos);
}

TEST_CASE("common options: a manager's options follow the flags") {
  auto [flags, error] = parse(
      {"--kubeconfig=/k", "--context=c", "--kube-api-qps=5", "--kube-api-burst=9",
       "--leader-elect=false", "--leader-election-namespace=ns",
       "--leader-election-lease-duration=20s", "--metrics-bind-address=:1", "--log-level=error"});
  REQUIRE(error.empty());
  const auto o = ManagerOptions::from(flags, "ebb-test", "1.2.3", "abc");
  CHECK(o.name == "ebb-test");
  CHECK(o.version == "1.2.3");
  CHECK(o.git_commit == "abc");
  CHECK(o.kubeconfig == "/k");
  CHECK(o.context == "c");
  CHECK(o.kube_api_qps == 5);
  CHECK(o.kube_api_burst == 9);
  CHECK(o.log_level == "error");
  CHECK_FALSE(o.leader_election.enabled);
  CHECK(o.leader_election.lease_name == "test.keda.sh");
  CHECK(o.leader_election.lease_namespace == "ns");
  CHECK(o.leader_election.lease_duration == 20s);
  CHECK(o.leader_election.renew_deadline == 10s);
  CHECK(o.leader_election.retry_period == 2s);
  CHECK(o.metrics.bind_address == ":1");
  CHECK(o.health.bind_address.empty());
}

TEST_CASE("command line: run, --help and --version exit 0, usage errors exit 2") {
  auto run = [](std::vector<std::string> args, std::string* out = nullptr) {
    CommonOptions o("test.keda.sh", ":9999");
    std::string own = "default";
    CommandLine cli("test", "1.2.3", "a process", o);
    cli.app().add_option("--own", own, "A flag of the process's own");
    std::vector<std::string> storage{"test"};
    storage.insert(storage.end(), args.begin(), args.end());
    auto argv = argv_of(storage);
    std::ostringstream captured;
    auto* old_out = std::cout.rdbuf(captured.rdbuf());
    auto* old_err = std::cerr.rdbuf(captured.rdbuf());
    auto code = cli.parse(static_cast<int>(argv.size()), argv.data(), [&] {
      if (own == "bad") throw CLI::ValidationError("--own", "not that");
    });
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    if (out) *out = captured.str();
    return code;
  };
  CHECK_FALSE(run({"--own=x", "--own=y", "--log-level=debug"}).has_value());
  std::string out;
  CHECK(run({"--help"}, &out) == 0);
  for (const char* flag :
       {"--kubeconfig", "--leader-elect", "--metrics-bind-address", "--log-level", "--own"}) {
    INFO(flag);
    CHECK(out.find(flag) != std::string::npos);
  }
  CHECK(run({"--version"}, &out) == 0);
  CHECK(out.find("test 1.2.3") != std::string::npos);
  CHECK(run({"--own=bad"}, &out) == 2);
  CHECK(out.find("--own") != std::string::npos);
  CHECK(run({"--leader-election-retry-period=1m"}, &out) == 2);  // the common checks run too
  CHECK(out.find("--leader-election-retry-period") != std::string::npos);
  CHECK(run({"--no-such-flag"}) == 2);
}
