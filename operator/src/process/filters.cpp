#include "process/filters.h"

namespace ebb::op::process {
namespace {

const kube::Object& at_or_null(const kube::Object& object, const char* a, const char* b = nullptr) {
  static const kube::Object null_value;
  if (!object.is_object()) return null_value;
  auto it = object.find(a);
  if (it == object.end()) return null_value;
  if (b == nullptr) return *it;
  if (!it->is_object()) return null_value;
  auto jt = it->find(b);
  return jt == it->end() ? null_value : *jt;
}

bool same(const kube::Object& a, const kube::Object& b, const char* x, const char* y = nullptr) {
  return at_or_null(a, x, y) == at_or_null(b, x, y);
}

std::string condition_status(const kube::Object& object, const std::string& type) {
  auto c = condition(object, type);
  return c ? c->value("status", "") : "";
}

bool metadata_lifecycle_changed(const kube::Object& a, const kube::Object& b) {
  return !same(a, b, "metadata", "deletionTimestamp") || !same(a, b, "metadata", "finalizers");
}

}  // namespace

std::optional<kube::Object> condition(const kube::Object& object, const std::string& type) {
  const auto& conditions = at_or_null(object, "status", "conditions");
  if (!conditions.is_array()) return std::nullopt;
  for (const auto& c : conditions)
    if (c.is_object() && c.value("type", "") == type) return c;
  return std::nullopt;
}

std::string scale_target_name(const kube::Object& object) {
  const auto& ref = at_or_null(object, "spec", "scaleTargetRef");
  if (!ref.is_object()) return "";
  auto it = ref.find("name");
  return it != ref.end() && it->is_string() ? it->get<std::string>() : "";
}

bool scaled_object_update_matters(const kube::Object& a, const kube::Object& b) {
  if (kube::resource_version(a) == kube::resource_version(b)) return true;  // resync
  if (!same(a, b, "metadata", "generation")) return true;
  if (!same(a, b, "metadata", "annotations") || !same(a, b, "metadata", "labels")) return true;
  if (metadata_lifecycle_changed(a, b)) return true;
  if (condition_status(b, "Ready") == "True" && condition_status(a, "Ready") != "True") return true;
  if (!same(a, b, "status", "health")) return true;
  return false;
}

bool hpa_update_matters(const kube::Object& a, const kube::Object& b) {
  if (kube::resource_version(a) == kube::resource_version(b)) return true;
  if (!same(a, b, "spec")) return true;
  if (!same(a, b, "metadata", "labels") || !same(a, b, "metadata", "annotations") ||
      !same(a, b, "metadata", "ownerReferences"))
    return true;
  if (metadata_lifecycle_changed(a, b)) return true;
  auto ca = condition(a, "ScalingActive"), cb = condition(b, "ScalingActive");
  auto key = [](const std::optional<kube::Object>& c) {
    return c ? c->value("status", "") + "/" + c->value("reason", "") : std::string();
  };
  return key(ca) != key(cb);
}

bool auth_update_matters(const kube::Object& a, const kube::Object& b) {
  if (kube::resource_version(a) == kube::resource_version(b)) return true;
  if (!same(a, b, "metadata", "generation") || !same(a, b, "spec")) return true;
  return metadata_lifecycle_changed(a, b);
}

}  // namespace ebb::op::process
