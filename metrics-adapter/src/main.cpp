// ebb-metrics-adapter: serves external.metrics.k8s.io/v1beta1 for KEDA ScaledObjects, polls their
// event sources and does the 0<->1 scaling the HPA cannot. Flags: process/options.h and
// metrics-adapter/README.md; wiring: process/adapter_process.h.
#include "process/adapter_process.h"
#include "process/options.h"

int main(int argc, char** argv) {
  auto parsed = ebb::adapter::process::parse_options(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  return ebb::adapter::process::run_adapter(*parsed.options);
}
