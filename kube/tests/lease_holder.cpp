// ebb-lease-holder: one Lease leader-election candidate as a process, so tests can kill a leader
// with SIGKILL and watch another process take over (leader_election_test.cpp). Test-only, never
// installed.
//
//   ebb-lease-holder (--kubeconfig FILE | --server URL [--token TOKEN]) --namespace NS --name NAME
//                    --identity ID [--lease-duration-ms N] [--renew-deadline-ms N] [--retry-period-ms N]
//
// Prints (flushed) "CANDIDATE <id>" once running, "LEADING <id>" when it becomes leader,
// "STOPPED LEADING <id>" when it stops, and "EXITING <id>" last. SIGTERM/SIGINT stop it
// gracefully: a leader releases the lease before exiting. Exit status 0, or 2 for bad usage.
#include <pthread.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>

#include "ebb/kube/client.h"
#include "ebb/kube/config.h"
#include "ebb/kube/leader_election.h"

namespace {

std::mutex out_mutex;

void say(const std::string& line) {
  std::lock_guard lock(out_mutex);
  std::cout << line << std::endl;  // endl flushes: the test reads this file while we run
}

int usage(const std::string& problem) {
  std::cerr << "ebb-lease-holder: " << problem
            << "\nusage: ebb-lease-holder (--kubeconfig FILE | --server URL [--token TOKEN]) --namespace NS\n"
               "                        --name NAME --identity ID [--lease-duration-ms N] [--renew-deadline-ms N]\n"
               "                        [--retry-period-ms N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig, server, token, ns, name, identity;
  ebb::kube::LeaderElectionConfig election;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return usage(flag + " needs a value");
    const std::string value = argv[++i];
    auto millis = [&]() -> std::chrono::milliseconds {
      try {
        std::size_t used = 0;
        const long long n = std::stoll(value, &used);
        if (used != value.size() || n <= 0) throw std::invalid_argument(value);
        return std::chrono::milliseconds(n);
      } catch (const std::exception&) {
        throw std::invalid_argument(flag + ": not a positive number of milliseconds: " + value);
      }
    };
    try {
      if (flag == "--kubeconfig") kubeconfig = value;
      else if (flag == "--server") server = value;
      else if (flag == "--token") token = value;
      else if (flag == "--namespace") ns = value;
      else if (flag == "--name") name = value;
      else if (flag == "--identity") identity = value;
      else if (flag == "--lease-duration-ms") election.lease_duration = millis();
      else if (flag == "--renew-deadline-ms") election.renew_deadline = millis();
      else if (flag == "--retry-period-ms") election.retry_period = millis();
      else return usage("unknown flag " + flag);
    } catch (const std::invalid_argument& e) {
      return usage(e.what());
    }
  }
  if (kubeconfig.empty() == server.empty()) return usage("give exactly one of --kubeconfig and --server");
  if (ns.empty() || name.empty() || identity.empty()) return usage("--namespace, --name and --identity are required");

  ebb::kube::Config config;
  if (!kubeconfig.empty()) {
    auto loaded = ebb::kube::load_kubeconfig({kubeconfig});
    if (!loaded) {
      std::cerr << "ebb-lease-holder: " << loaded.error().message << "\n";
      return 1;
    }
    config = *loaded;
  } else {
    config.server = server;
    if (!token.empty()) config.token = ebb::kube::TokenSource::fixed(token);
  }

  // Block the stop signals before any thread starts, so only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  ebb::kube::Client client(config);
  election.lease_namespace = ns;
  election.lease_name = name;
  election.identity = identity;
  election.on_started_leading = [&] { say("LEADING " + identity); };
  election.on_stopped_leading = [&] { say("STOPPED LEADING " + identity); };
  ebb::kube::LeaderElector elector(client, election);
  elector.start();
  say("CANDIDATE " + identity);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  elector.stop();  // releases the lease when leading
  say("EXITING " + identity);
  return 0;
}
