#include "ebb/kube/resource.h"

#include <algorithm>

#include "ebb/strings.h"

namespace ebb::kube {

GroupVersion GroupVersion::parse(std::string_view api_version) {
  const auto slash = api_version.find('/');
  if (slash == std::string_view::npos) return {"", std::string(api_version)};
  return {std::string(api_version.substr(0, slash)), std::string(api_version.substr(slash + 1))};
}

GroupVersionKind GroupVersionKind::of(const Object& object) {
  const auto gv = GroupVersion::parse(object.is_object() ? object.value("apiVersion", "") : "");
  return {gv.group, gv.version, object.is_object() ? object.value("kind", "") : ""};
}

bool Resource::has_subresource(std::string_view name) const {
  return std::find(subresources.begin(), subresources.end(), name) != subresources.end();
}

namespace resources {
namespace {
Resource make(std::string group, std::string version, std::string resource, std::string kind, bool namespaced,
              std::vector<std::string> sub = {}) {
  return Resource{std::move(group), std::move(version), std::move(resource), std::move(kind), namespaced,
                  std::move(sub)};
}
}  // namespace
Resource namespaces() { return make("", "v1", "namespaces", "Namespace", false, {"status", "finalize"}); }
Resource pods() { return make("", "v1", "pods", "Pod", true, {"status"}); }
Resource configmaps() { return make("", "v1", "configmaps", "ConfigMap", true); }
Resource secrets() { return make("", "v1", "secrets", "Secret", true); }
Resource core_events() { return make("", "v1", "events", "Event", true); }
Resource events() { return make("events.k8s.io", "v1", "events", "Event", true); }
Resource leases() { return make("coordination.k8s.io", "v1", "leases", "Lease", true); }
Resource deployments() { return make("apps", "v1", "deployments", "Deployment", true, {"status", "scale"}); }
Resource jobs() { return make("batch", "v1", "jobs", "Job", true, {"status"}); }
Resource statefulsets() { return make("apps", "v1", "statefulsets", "StatefulSet", true, {"status", "scale"}); }
Resource horizontal_pod_autoscalers() {
  return make("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, {"status"});
}
Resource custom_resource_definitions() {
  return make("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false,
              {"status"});
}
}  // namespace resources

std::string resource_path(const Resource& resource, std::string_view ns, std::string_view name,
                          std::string_view subresource) {
  std::string path = resource.group.empty() ? "/api/" + resource.version
                                            : "/apis/" + resource.group + "/" + resource.version;
  if (resource.namespaced && !ns.empty()) {
    path += "/namespaces/";
    path += ns;
  }
  path += "/" + resource.resource;
  if (!name.empty()) {
    path += "/";
    path += name;
    if (!subresource.empty()) {
      path += "/";
      path += subresource;
    }
  }
  return path;
}

std::string meta_string(const Object& object, const char* field) {
  if (!object.is_object()) return {};
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return {};
  const auto value = meta->find(field);
  if (value == meta->end() || !value->is_string()) return {};
  return value->get<std::string>();
}

std::string resource_version(const Object& object) { return meta_string(object, "resourceVersion"); }

std::string object_key(std::string_view ns, std::string_view name) {
  return ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name);
}

std::string object_key(const Object& object) {
  return object_key(meta_string(object, "namespace"), meta_string(object, "name"));
}

std::pair<std::string, std::string> split_key(std::string_view key) {
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

std::map<std::string, std::string> labels_of(const Object& object) {
  std::map<std::string, std::string> labels;
  if (!object.is_object()) return labels;
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return labels;
  const auto found = meta->find("labels");
  if (found == meta->end() || !found->is_object()) return labels;
  for (const auto& [key, value] : found->items()) {
    if (value.is_string()) labels.emplace(key, value.get<std::string>());
  }
  return labels;
}

// --- selectors ------------------------------------------------------------------------------

bool Requirement::matches(const std::map<std::string, std::string>& labels) const {
  const auto found = labels.find(key);
  const bool has = found != labels.end();
  const auto listed = [&] { return has && std::find(values.begin(), values.end(), found->second) != values.end(); };
  switch (op) {
    case Op::equals: return listed();
    case Op::in: return listed();
    case Op::not_equals: return !listed();  // a missing label is "not equal", as in Kubernetes
    case Op::not_in: return !listed();
    case Op::exists: return has;
    case Op::does_not_exist: return !has;
  }
  return false;
}

namespace {

bool valid_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '/';
}

class SelectorParser {
 public:
  explicit SelectorParser(std::string_view text) : text_(text) {}

  Result<std::vector<Requirement>> parse() {
    std::vector<Requirement> out;
    skip_space();
    if (at_end()) return out;
    while (true) {
      auto requirement = parse_requirement();
      if (!requirement) return unexpected(requirement.error());
      out.push_back(std::move(*requirement));
      skip_space();
      if (at_end()) break;
      if (text_[pos_] != ',') return error("expected ','");
      ++pos_;
      skip_space();
    }
    return out;
  }

 private:
  Result<Requirement> parse_requirement() {
    Requirement r;
    skip_space();
    if (!at_end() && text_[pos_] == '!') {
      ++pos_;
      skip_space();
      r.key = word();
      if (r.key.empty()) return error("expected a label key after '!'");
      r.op = Requirement::Op::does_not_exist;
      return r;
    }
    r.key = word();
    if (r.key.empty()) return error("expected a label key");
    skip_space();
    if (at_end() || text_[pos_] == ',') {
      r.op = Requirement::Op::exists;
      return r;
    }
    if (text_.substr(pos_, 2) == "==") {
      pos_ += 2;
      r.op = Requirement::Op::equals;
    } else if (text_.substr(pos_, 2) == "!=") {
      pos_ += 2;
      r.op = Requirement::Op::not_equals;
    } else if (text_[pos_] == '=') {
      ++pos_;
      r.op = Requirement::Op::equals;
    } else {
      const std::string op = word();
      if (op == "in") r.op = Requirement::Op::in;
      else if (op == "notin") r.op = Requirement::Op::not_in;
      else return error("unknown operator " + ebb::quoted(op));
      skip_space();
      if (at_end() || text_[pos_] != '(') return error("expected '(' after " + op);
      ++pos_;
      while (true) {
        skip_space();
        r.values.push_back(word());
        skip_space();
        if (at_end()) return error("missing ')'");
        if (text_[pos_] == ')') {
          ++pos_;
          break;
        }
        if (text_[pos_] != ',') return error("expected ',' or ')'");
        ++pos_;
      }
      return r;
    }
    skip_space();
    r.values.push_back(word());  // an empty value is allowed: "a="
    return r;
  }

  std::string word() {
    const auto start = pos_;
    while (!at_end() && valid_key_char(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }
  void skip_space() {
    while (!at_end() && text_[pos_] == ' ') ++pos_;
  }
  bool at_end() const { return pos_ >= text_.size(); }
  Unexpected<Error> error(const std::string& what) const {
    return fail("invalid label selector " + ebb::quoted(text_) + ": " + what + " at position " + std::to_string(pos_));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  auto requirements = SelectorParser(text).parse();
  if (!requirements) return unexpected(requirements.error());
  LabelSelector selector;
  selector.requirements_ = std::move(*requirements);
  return selector;
}

Result<LabelSelector> LabelSelector::from_json(const Object& selector) {
  LabelSelector out;
  if (selector.is_null()) return out;
  if (!selector.is_object()) return fail("label selector must be an object");
  if (const auto labels = selector.find("matchLabels"); labels != selector.end() && labels->is_object()) {
    for (const auto& [key, value] : labels->items()) {
      if (!value.is_string()) return fail("matchLabels." + key + " must be a string");
      out.requirements_.push_back({key, Requirement::Op::equals, {value.get<std::string>()}});
    }
  }
  if (const auto exprs = selector.find("matchExpressions"); exprs != selector.end() && exprs->is_array()) {
    for (const auto& expr : *exprs) {
      Requirement r;
      r.key = expr.value("key", "");
      const std::string op = expr.value("operator", "");
      if (op == "In") r.op = Requirement::Op::in;
      else if (op == "NotIn") r.op = Requirement::Op::not_in;
      else if (op == "Exists") r.op = Requirement::Op::exists;
      else if (op == "DoesNotExist") r.op = Requirement::Op::does_not_exist;
      else return fail("matchExpressions: unknown operator " + ebb::quoted(op));
      if (const auto values = expr.find("values"); values != expr.end() && values->is_array()) {
        for (const auto& v : *values) {
          if (v.is_string()) r.values.push_back(v.get<std::string>());
        }
      }
      const bool wants_values = r.op == Requirement::Op::in || r.op == Requirement::Op::not_in;
      if (wants_values == r.values.empty()) {
        return fail("matchExpressions: operator " + op + (wants_values ? " needs values" : " takes no values"));
      }
      out.requirements_.push_back(std::move(r));
    }
  }
  return out;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(), [&](const Requirement& r) { return r.matches(labels); });
}

bool LabelSelector::matches(const Object& object) const { return matches(labels_of(object)); }

std::string LabelSelector::str() const {
  std::vector<std::string> parts;
  for (const auto& r : requirements_) {
    switch (r.op) {
      case Requirement::Op::equals: parts.push_back(r.key + "=" + r.values.front()); break;
      case Requirement::Op::not_equals: parts.push_back(r.key + "!=" + r.values.front()); break;
      case Requirement::Op::in: parts.push_back(r.key + " in (" + join(r.values, ",") + ")"); break;
      case Requirement::Op::not_in: parts.push_back(r.key + " notin (" + join(r.values, ",") + ")"); break;
      case Requirement::Op::exists: parts.push_back(r.key); break;
      case Requirement::Op::does_not_exist: parts.push_back("!" + r.key); break;
    }
  }
  return join(parts, ",");
}

}  // namespace ebb::kube
