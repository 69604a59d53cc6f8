// ebb-operator: reconciles KEDA ScaledObjects into HPAs. Flags: process/options.h and
// operator/README.md; wiring: process/operator_process.h.
#include "process/operator_process.h"
#include "process/options.h"

int main(int argc, char** argv) {
  auto parsed = ebb::op::process::parse_options(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  return ebb::op::process::run_operator(*parsed.options);
}
