// The list of built-in scalers: the one line each scaler adds outside its own file.
#include "builtin.h"

namespace ebb::scalers {

const Registry& Registry::builtin() {
  static const Registry registry = [] {
    Registry r;
    // one line per scaler file, alphabetical
    register_kafka_scaler(r);
    register_rabbitmq_scaler(r);
    register_redis_scaler(r);
    register_redis_streams_scaler(r);
    return r;
  }();
  return registry;
}

}  // namespace ebb::scalers
