#include "ebb/cluster/objects.h"

#include "ebb/strings.h"

namespace ebb::cluster {
namespace {

using scalers::kubernetes::ResourceRef;

kube::Resource resource_of(const ResourceRef& r) {
  return kube::Resource{r.group, r.version, r.resource, "", true, {}};
}

std::string describe(const ResourceRef& r, const std::string& ns) {
  return r.resource + (r.group.empty() ? "" : "." + r.group) + " in namespace " + ebb::quoted(ns);
}

}  // namespace

InformerObjects::InformerObjects(kube::Client& client, std::chrono::milliseconds first_list_timeout)
    : client_(client), first_list_timeout_(first_list_timeout) {}

InformerObjects::~InformerObjects() {
  std::lock_guard lock(mutex_);
  for (auto& [key, watch] : informers_) watch.informer->stop();
}

std::size_t InformerObjects::informers() const {
  std::lock_guard lock(mutex_);
  return informers_.size();
}

Result<kube::Informer*> InformerObjects::informer_for(const ResourceRef& resource, const std::string& ns) {
  kube::Informer* informer = nullptr;
  bool wait = false;
  {
    std::lock_guard lock(mutex_);
    auto& watch = informers_[{resource, ns}];
    if (!watch.informer) {
      kube::InformerOptions options;
      options.namespace_name = ns;
      watch.informer = std::make_unique<kube::Informer>(client_, resource_of(resource), options);
      watch.informer->start();
    }
    informer = watch.informer.get();
    wait = !watch.waited;
    watch.waited = true;
  }
  // The first reader waits for the first list; later ones find it synced. An informer that
  // cannot list (no permission, unknown resource) keeps retrying in the background, and every
  // read until then is an error at once, never an empty answer and never another wait.
  if (!(informer->has_synced() || (wait && informer->wait_for_sync(first_list_timeout_))))
    return fail("cannot read " + describe(resource, ns) + ": not listed yet (is list/watch allowed?)", true);
  return informer;
}

Result<std::vector<nlohmann::json>> InformerObjects::list(const ResourceRef& resource, const std::string& ns,
                                                          const std::string& label_selector) {
  auto selector = kube::LabelSelector::parse(label_selector);
  if (!selector) return fail("invalid label selector " + ebb::quoted(label_selector) + ": " + selector.error().message);
  auto informer = informer_for(resource, ns);
  if (!informer) return unexpected(informer.error());
  return (*informer)->cache().select(*selector, ns);
}

Result<std::optional<nlohmann::json>> InformerObjects::get(const ResourceRef& resource, const std::string& ns,
                                                           const std::string& name) {
  auto informer = informer_for(resource, ns);
  if (!informer) return unexpected(informer.error());
  return (*informer)->cache().get(kube::object_key(ns, name));
}

Result<std::vector<nlohmann::json>> DirectObjects::list(const ResourceRef& resource, const std::string& ns,
                                                        const std::string& label_selector) {
  if (auto selector = kube::LabelSelector::parse(label_selector); !selector)
    return fail("invalid label selector " + ebb::quoted(label_selector) + ": " + selector.error().message);
  kube::ListOptions options;
  options.label_selector = label_selector;
  auto listed = client_.list_all(resource_of(resource), ns, options);
  if (!listed) return fail("cannot list " + describe(resource, ns) + ": " + listed.error().message, true);
  return std::move(listed->items);
}

Result<std::optional<nlohmann::json>> DirectObjects::get(const ResourceRef& resource, const std::string& ns,
                                                         const std::string& name) {
  auto got = client_.get(resource_of(resource), ns, name);
  if (!got) {
    if (got.error().not_found()) return std::optional<nlohmann::json>();
    return fail("cannot read " + describe(resource, ns) + ": " + got.error().message, true);
  }
  return std::optional<nlohmann::json>(std::move(*got));
}

}  // namespace ebb::cluster
