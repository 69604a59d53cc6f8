// ebb-test-apiserver: the test API server as a process, for tests that run clients out of process
// (kubectl, the operator, the metrics adapter). Prints its URLs on stdout once listening and runs
// until SIGTERM/SIGINT. Faults and the request log are driven over HTTP: /_test/faults, /_test/requests.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "test_apiserver.h"

namespace {
void usage() {
  std::cerr
      << "usage: ebb-test-apiserver [--port N] [--tls-cert FILE --tls-key FILE | "
         "--tls-self-signed]\n"
         "                          [--http-port N] [--watch-window N] [--bookmark-interval-ms N]\n"
         "                          [--preregister-keda] [--no-workload-controllers] [--ca-out "
         "FILE]\n";
}
}  // namespace

int main(int argc, char** argv) {
  ebb::testapi::TestApiServerOptions o;
  std::string ca_out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--port") o.port = static_cast<std::uint16_t>(std::stoi(value()));
      else if (a == "--tls-cert") o.tls_cert_file = value();
      else if (a == "--tls-key") o.tls_key_file = value();
      else if (a == "--tls-self-signed") o.tls_self_signed = true;
      else if (a == "--http-port") o.http_port = static_cast<std::uint16_t>(std::stoi(value()));
      else if (a == "--watch-window") o.watch_window = std::stoul(value());
      else if (a == "--bookmark-interval-ms") o.bookmark_interval = std::chrono::milliseconds(std::stol(value()));
      else if (a == "--preregister-keda") o.preregister_keda = true;
      else if (a == "--no-workload-controllers")
        o.workload_controllers = false;
      else if (a == "--ca-out") ca_out = value();
      else {
        usage();
        return 2;
      }
    } catch (const std::exception&) {
      usage();
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts, so sigwait gets them
  std::signal(SIGPIPE, SIG_IGN);
  try {
    bool tls = o.tls_self_signed || !o.tls_cert_file.empty();
    if (!tls && o.http_port && o.port == 0) o.port = *o.http_port;
    ebb::testapi::TestApiServer server(o);
    if (!ca_out.empty()) {
      FILE* f = std::fopen(ca_out.c_str(), "w");
      if (f) {
        std::fputs(server.ca_pem().c_str(), f);
        std::fclose(f);
      }
    }
    std::cout << "ebb-test-apiserver url=" << server.url();
    if (!server.http_url().empty()) std::cout << " http=" << server.http_url();
    if (!server.https_url().empty()) std::cout << " https=" << server.https_url();
    std::cout << std::endl;
    int sig = 0;
    sigwait(&set, &sig);
    server.stop();
  } catch (const std::exception& e) {
    std::cerr << "ebb-test-apiserver: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
