// Registration functions of the built-in scalers (each defined in its scaler's own file).
#pragma once

#include "ebb/scalers/registry.h"

namespace ebb::scalers {
// one declaration per scaler file, alphabetical
void register_kafka_scaler(Registry& registry);
void register_rabbitmq_scaler(Registry& registry);
void register_redis_scaler(Registry& registry);
void register_redis_streams_scaler(Registry& registry);
}  // namespace ebb::scalers
