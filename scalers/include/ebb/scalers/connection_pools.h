// One place that owns every shared connection pool. Each scaler family defines its own pool
// type (e.g. RedisPool keyed by endpoint + credentials) and fetches the single instance with
// pools.get<RedisPool>(); triggers that reach the same endpoint with the same credentials so
// share connections instead of opening one each.
#pragma once

#include <memory>
#include <mutex>
#include <typeindex>
#include <unordered_map>

namespace ebb::scalers {

class ConnectionPools {
 public:
  ConnectionPools() = default;
  ConnectionPools(const ConnectionPools&) = delete;
  ConnectionPools& operator=(const ConnectionPools&) = delete;

  // The single instance of Pool, default-constructed on first use. Thread-safe.
  template <class Pool>
  Pool& get() {
    std::lock_guard lock(mutex_);
    auto& slot = pools_[std::type_index(typeid(Pool))];
    if (!slot) slot = std::make_shared<Pool>();
    return *static_cast<Pool*>(slot.get());
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::type_index, std::shared_ptr<void>> pools_;
};

}  // namespace ebb::scalers
