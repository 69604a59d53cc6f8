// Helpers both processes' command lines share.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace ebb::process {

// "1h2m3.5s", "500ms", "15s", "2m": Go's time.ParseDuration subset (h, m, s, ms, us, ns).
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

// The namespace of the pod this process runs in, from the service-account namespace file;
// "" when not in a pod.
std::string pod_namespace(const std::string& namespace_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace");

}  // namespace ebb::process
