// One place that owns every shared connection pool of a process that polls (the adapter,
// `ebb probe`). A scaler fetches the single instance of its family's pool with pools.get<T>(),
// so triggers that reach the same endpoint with the same credentials share connections instead
// of opening one each.
//
// Three kinds of T:
// - a concrete pool a scaler file defines on ebb_net alone (HTTP clients, plain TCP):
//   default-constructed on first use;
// - the interface of a family whose implementation needs a native client library (hiredis,
//   librdkafka, rabbitmq-c, libpq, ...), e.g. redis::Client: created by the factory the
//   clients library (scalers/clients/, ebb_scaler_clients) registers in this class's
//   constructor. The operator parses triggers but never polls, so it never constructs a
//   ConnectionPools and links none of those libraries;
// - the interface of something only the hosting process can give (a view of the cluster served
//   from its informers): the process installs an instance with provide(instance).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeindex>
#include <typeinfo>
#include <unordered_map>

namespace ebb::scalers {

class ConnectionPools {
 public:
  // Defined in scalers/clients/clients.cpp: registers every native client family.
  ConnectionPools();
  ~ConnectionPools();
  ConnectionPools(const ConnectionPools&) = delete;
  ConnectionPools& operator=(const ConnectionPools&) = delete;

  // The single instance of T, created on first use. Thread-safe.
  template <class T>
  T& get() {
    std::lock_guard lock(mutex_);
    auto& slot = pools_[std::type_index(typeid(T))];
    if (!slot) {
      if constexpr (std::is_abstract_v<T>) {
        auto factory = factories_.find(std::type_index(typeid(T)));
        if (factory == factories_.end())
          throw std::logic_error(std::string("no client library provides ") + typeid(T).name());
        slot = factory->second();
      } else {
        slot = std::make_shared<T>();
      }
    }
    return *static_cast<T*>(slot.get());
  }

  // For the hosting process: the instance get<Interface>() returns (replaces any factory).
  template <class Interface>
  void provide(std::shared_ptr<Interface> instance) {
    std::lock_guard lock(mutex_);
    pools_[std::type_index(typeid(Interface))] = std::shared_ptr<void>(instance, instance.get());
  }

  // For the clients library: how to create the implementation of `Interface`.
  template <class Interface, class Implementation>
  void provide() {
    static_assert(std::is_base_of_v<Interface, Implementation>);
    factories_[std::type_index(typeid(Interface))] = [] {
      // Stored as the interface, so get<Interface>() can cast the void pointer back.
      std::shared_ptr<Interface> made = std::make_shared<Implementation>();
      return std::shared_ptr<void>(made, made.get());
    };
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::type_index, std::function<std::shared_ptr<void>()>> factories_;
  std::unordered_map<std::type_index, std::shared_ptr<void>> pools_;
};

}  // namespace ebb::scalers
