// Implementations of scalers::kubernetes::Objects, the scalers' view of the cluster:
// - InformerObjects (the adapter): one informer per (resource, namespace), started when a
//   trigger first asks and kept, shared by every trigger that reads the same resource in the
//   same namespace; reads come from its cache, so a poll puts no request on the API server.
// - DirectObjects (`ebb probe`, which runs once): a LIST or GET per call.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "ebb/kube/client.h"
#include "ebb/kube/informer.h"
#include "ebb/scalers/kubernetes.h"

namespace ebb::cluster {

class InformerObjects final : public scalers::kubernetes::Objects {
 public:
  // `first_list_timeout`: how long the first read of a resource waits for its informer to list.
  explicit InformerObjects(kube::Client& client,
                           std::chrono::milliseconds first_list_timeout = std::chrono::seconds(10));
  ~InformerObjects() override;  // stops every informer

  Result<std::vector<nlohmann::json>> list(const scalers::kubernetes::ResourceRef& resource, const std::string& ns,
                                           const std::string& label_selector) override;
  Result<std::optional<nlohmann::json>> get(const scalers::kubernetes::ResourceRef& resource, const std::string& ns,
                                            const std::string& name) override;

  std::size_t informers() const;  // started so far; for tests and metrics

 private:
  Result<kube::Informer*> informer_for(const scalers::kubernetes::ResourceRef& resource, const std::string& ns);

  kube::Client& client_;
  std::chrono::milliseconds first_list_timeout_;
  mutable std::mutex mutex_;
  struct Watch {
    std::unique_ptr<kube::Informer> informer;
    bool waited = false;  // someone waited for the first list already
  };
  std::map<std::pair<scalers::kubernetes::ResourceRef, std::string>, Watch> informers_;
};

class DirectObjects final : public scalers::kubernetes::Objects {
 public:
  explicit DirectObjects(kube::Client& client) : client_(client) {}
  Result<std::vector<nlohmann::json>> list(const scalers::kubernetes::ResourceRef& resource, const std::string& ns,
                                           const std::string& label_selector) override;
  Result<std::optional<nlohmann::json>> get(const scalers::kubernetes::ResourceRef& resource, const std::string& ns,
                                            const std::string& name) override;

 private:
  kube::Client& client_;
};

}  // namespace ebb::cluster
