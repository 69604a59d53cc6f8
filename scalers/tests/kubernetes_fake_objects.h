// An in-memory kubernetes::Objects for the pure tests of the kubernetes-* scalers, as KEDA's tests
// use controller-runtime's fake client. Selectors are matched by Ebb's label-selector parser, the
// one the informer cache uses. The integration tests use the real thing (informers on the test API
// server).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "ebb/kube/resource.h"
#include "ebb/scalers/kubernetes.h"

namespace ebb::test {

class FakeObjects final : public scalers::kubernetes::Objects {
 public:
  struct Stored {
    scalers::kubernetes::ResourceRef resource;
    nlohmann::json object;
  };
  std::vector<Stored> objects;
  std::optional<std::string> failure;  // every read fails with this message

  void add(const scalers::kubernetes::ResourceRef& resource, nlohmann::json object) {
    objects.push_back({resource, std::move(object)});
  }

  Result<std::vector<nlohmann::json>> list(const scalers::kubernetes::ResourceRef& resource,
                                           const std::string& ns,
                                           const std::string& label_selector) override {
    if (failure) return fail(*failure, true);
    auto selector = kube::LabelSelector::parse(label_selector);
    if (!selector) return fail(selector.error().message);
    std::vector<nlohmann::json> out;
    for (const auto& s : objects)
      if (s.resource == resource && s.object["metadata"].value("namespace", "") == ns &&
          selector->matches(s.object))
        out.push_back(s.object);
    return out;
  }
  Result<std::optional<nlohmann::json>> get(const scalers::kubernetes::ResourceRef& resource,
                                            const std::string& ns,
                                            const std::string& name) override {
    if (failure) return fail(*failure, true);
    for (const auto& s : objects)
      if (s.resource == resource && s.object["metadata"].value("namespace", "") == ns &&
          s.object["metadata"].value("name", "") == name)
        return std::optional<nlohmann::json>(s.object);
    return std::optional<nlohmann::json>();
  }
};

}  // namespace ebb::test
