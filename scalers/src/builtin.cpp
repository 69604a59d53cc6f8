// The registry of built-in scalers, filled from builtin.list.
#include "builtin.h"

namespace ebb::scalers {

const Registry& Registry::builtin() {
  static const Registry registry = [] {
    Registry r;
#define EBB_SCALER(name) register_##name##_scaler(r);
#include "builtin.list"
#undef EBB_SCALER
    return r;
  }();
  return registry;
}

}  // namespace ebb::scalers
