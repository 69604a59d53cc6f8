// Small pieces of process plumbing both ebb-operator and ebb-metrics-adapter need.
#pragma once

#include <signal.h>

#include <string>
#include <string_view>

namespace ebb::process {

// gethostname(), or `fallback` when it fails or is empty (the pod name in a cluster).
std::string host_name(std::string_view fallback);
// 8 random hex digits: a leader-election identity is host_name() + "_" + random_suffix().
std::string random_suffix();
// SIGTERM and SIGINT, the signals that ask for a clean shutdown.
sigset_t termination_signals();
// A bind-address flag that turns an endpoint off: "" or "0" (controller-runtime's convention).
bool bind_disabled(const std::string& bind_address);
// The platform as Go names it (uname machine: x86_64 -> amd64, aarch64 -> arm64), for
// keda_build_info's goarch label.
std::string machine_arch();

}  // namespace ebb::process
