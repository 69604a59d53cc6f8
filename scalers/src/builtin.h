// What every scaler file includes: the registry, and the registration functions of the
// built-in scalers, declared from builtin.list (the one line a new scaler adds outside its
// own file).
#pragma once

#include "ebb/scalers/registry.h"

namespace ebb::scalers {
#define EBB_SCALER(name) void register_##name##_scaler(Registry& registry);
#include "builtin.list"
#undef EBB_SCALER
}  // namespace ebb::scalers
