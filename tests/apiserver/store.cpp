#include "store.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <random>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace ebb::testapi {

// ---------------------------------------------------------------------------------------------
// Status bodies

Reply status_error(int code, const std::string& reason, const std::string& message, json details) {
  json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
            {"status", "Failure"}, {"message", message}, {"reason", reason}};
  if (!details.is_null()) s["details"] = std::move(details);
  s["code"] = code;
  return {code, std::move(s)};
}

static json resource_details(const ResourceInfo& r, const std::string& name) {
  json d = {{"name", name}};
  if (!r.group.empty()) d["group"] = r.group;
  d["kind"] = r.plural;
  return d;
}

Reply not_found(const ResourceInfo& r, const std::string& name) {
  return status_error(404, "NotFound", r.qualified() + " \"" + name + "\" not found",
                      resource_details(r, name));
}

Reply bad_request(const std::string& message) { return status_error(400, "BadRequest", message); }

static Reply already_exists(const ResourceInfo& r, const std::string& name) {
  return status_error(409, "AlreadyExists", r.qualified() + " \"" + name + "\" already exists",
                      resource_details(r, name));
}

static Reply conflict(const ResourceInfo& r, const std::string& name, const std::string& why) {
  return status_error(409, "Conflict",
                      "Operation cannot be fulfilled on " + r.qualified() + " \"" + name + "\": " + why,
                      resource_details(r, name));
}

static const char* kModified =
    "the object has been modified; please apply your changes to the latest version and try again";

// kube's field.ErrorType wording is the start of each message; the cause reason follows it.
static std::string reason_of(const std::string& message) {
  for (auto [prefix, reason] : {std::pair{"Required value", "FieldValueRequired"},
                                std::pair{"Unsupported value", "FieldValueNotSupported"},
                                std::pair{"Forbidden", "FieldValueForbidden"},
                                std::pair{"Duplicate value", "FieldValueDuplicate"},
                                std::pair{"Too long", "FieldValueTooLong"}, std::pair{"Too many", "FieldValueTooMany"}})
    if (message.rfind(prefix, 0) == 0) return reason;
  return "FieldValueInvalid";
}

Reply invalid(const ResourceInfo& r, const std::string& name,
              const std::vector<std::pair<std::string, std::string>>& causes) {
  std::vector<FieldCause> fc;
  for (const auto& [field, message] : causes) fc.push_back({reason_of(message), field, message});
  return invalid_fields(r, name, fc);
}

Reply invalid_fields(const ResourceInfo& r, const std::string& name, const std::vector<FieldCause>& causes) {
  std::string kind = r.group.empty() ? r.kind : r.kind + "." + r.group;
  // One error is shown bare, several as a bracketed list (utilerrors.Aggregate).
  std::string list;
  json jc = json::array();
  for (std::size_t i = 0; i < causes.size(); ++i) {
    if (i) list += ", ";
    list += causes[i].field + ": " + causes[i].message;
    jc.push_back({{"reason", causes[i].reason}, {"message", causes[i].message}, {"field", causes[i].field}});
  }
  std::string msg = kind + " \"" + name + "\" is invalid: " + (causes.size() > 1 ? "[" + list + "]" : list);
  json d = {{"name", name}};
  if (!r.group.empty()) d["group"] = r.group;
  d["kind"] = r.kind;
  d["causes"] = jc;
  return status_error(422, "Invalid", msg, d);
}

static Reply gone(const std::string& message) { return status_error(410, "Expired", message); }

std::optional<PatchType> patch_type_from_content_type(const std::string& content_type) {
  std::string ct = content_type.substr(0, content_type.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  if (ct == "application/merge-patch+json") return PatchType::Merge;
  if (ct == "application/json-patch+json") return PatchType::Json;
  if (ct == "application/strategic-merge-patch+json") return PatchType::Strategic;
  if (ct == "application/apply-patch+yaml" || ct == "application/apply-patch+json") return PatchType::Apply;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Selectors

static std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

static bool valid_label_key(const std::string& k) {
  if (k.empty() || k.size() > 253 + 1 + 63) return false;
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/'))
      return false;
  return true;
}
static bool valid_label_value(const std::string& v) {
  if (v.size() > 63) return false;
  for (char c : v)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

static std::vector<std::string> split_top_level(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

bool parse_label_selector(const std::string& s, std::vector<LabelRequirement>& out, std::string& error) {
  out.clear();
  if (trim(s).empty()) return true;
  for (std::string part : split_top_level(s)) {
    part = trim(part);
    LabelRequirement req;
    auto fail = [&](const std::string& why) {
      error = "unable to parse requirement: " + why + ": \"" + part + "\"";
      return false;
    };
    if (part.empty()) return fail("empty requirement");
    std::size_t p;
    if (part[0] == '!') {
      req.key = trim(part.substr(1));
      req.op = "!";
    } else if ((p = part.find("!=")) != std::string::npos) {
      req.key = trim(part.substr(0, p));
      req.op = "!=";
      req.values = {trim(part.substr(p + 2))};
    } else if ((p = part.find("==")) != std::string::npos) {
      req.key = trim(part.substr(0, p));
      req.op = "=";
      req.values = {trim(part.substr(p + 2))};
    } else if ((p = part.find('=')) != std::string::npos) {
      req.key = trim(part.substr(0, p));
      req.op = "=";
      req.values = {trim(part.substr(p + 1))};
    } else if (auto open = part.find('('); open != std::string::npos) {
      std::string head = trim(part.substr(0, open));
      auto close = part.find(')', open);
      if (close == std::string::npos || trim(part.substr(close + 1)) != "") return fail("unbalanced parentheses");
      auto sp = head.find_last_of(" \t");
      if (sp == std::string::npos) return fail("expected 'in' or 'notin'");
      std::string op = head.substr(sp + 1);
      if (op != "in" && op != "notin") return fail("expected 'in' or 'notin'");
      req.key = trim(head.substr(0, sp));
      req.op = op;
      std::string inner = part.substr(open + 1, close - open - 1);
      std::stringstream ss(inner);
      std::string v;
      while (std::getline(ss, v, ',')) req.values.push_back(trim(v));
      if (req.values.empty()) return fail("empty value set");
    } else {
      req.key = part;
      req.op = "exists";
    }
    if (!valid_label_key(req.key)) return fail("invalid label key");
    for (auto& v : req.values)
      if (!valid_label_value(v)) return fail("invalid label value");
    out.push_back(std::move(req));
  }
  return true;
}

bool labels_match(const std::vector<LabelRequirement>& reqs, const json& labels) {
  for (const auto& r : reqs) {
    bool has = labels.is_object() && labels.contains(r.key) && labels[r.key].is_string();
    std::string v = has ? labels[r.key].get<std::string>() : "";
    bool in = has && std::find(r.values.begin(), r.values.end(), v) != r.values.end();
    if (r.op == "exists" && !has) return false;
    if (r.op == "!" && has) return false;
    if (r.op == "=" && !in) return false;
    if (r.op == "in" && !in) return false;
    if ((r.op == "!=" || r.op == "notin") && in) return false;
  }
  return true;
}

std::string label_selector_to_string(const json& selector) {
  std::vector<std::string> parts;
  if (!selector.is_object()) return "";
  if (selector.contains("matchLabels") && selector["matchLabels"].is_object())
    for (auto& [k, v] : selector["matchLabels"].items())
      parts.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
  if (selector.contains("matchExpressions") && selector["matchExpressions"].is_array())
    for (auto& e : selector["matchExpressions"]) {
      std::string key = e.value("key", ""), op = e.value("operator", "");
      std::string vals;
      for (auto& v : e.value("values", json::array())) vals += (vals.empty() ? "" : ",") + v.get<std::string>();
      if (op == "In") parts.push_back(key + " in (" + vals + ")");
      else if (op == "NotIn") parts.push_back(key + " notin (" + vals + ")");
      else if (op == "Exists") parts.push_back(key);
      else if (op == "DoesNotExist") parts.push_back("!" + key);
    }
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

struct FieldRequirement {
  std::string field, value;
  bool negate = false;
};

static std::vector<std::string> supported_fields(const ResourceInfo& r) {
  std::vector<std::string> f{"metadata.name", "metadata.namespace"};
  if (r.group.empty() && r.plural == "pods")
    f.insert(f.end(), {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                       "spec.serviceAccountName", "status.phase", "status.podIP"});
  if (r.group.empty() && r.plural == "secrets") f.push_back("type");
  if (r.group.empty() && r.plural == "events")
    f.insert(f.end(), {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                       "involvedObject.uid", "involvedObject.apiVersion",
                       "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                       "source", "type"});
  if (r.group == "events.k8s.io")
    f.insert(f.end(), {"regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
                       "reason", "type", "reportingController"});
  if (r.group.empty() && r.plural == "namespaces") f.push_back("status.phase");
  return f;
}

static bool parse_field_selector(const ResourceInfo& r, const std::string& s,
                                 std::vector<FieldRequirement>& out, std::string& error) {
  out.clear();
  if (trim(s).empty()) return true;
  auto fields = supported_fields(r);
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) {
    FieldRequirement req;
    std::size_t p;
    if ((p = part.find("!=")) != std::string::npos) {
      req.field = trim(part.substr(0, p));
      req.value = trim(part.substr(p + 2));
      req.negate = true;
    } else if ((p = part.find("==")) != std::string::npos) {
      req.field = trim(part.substr(0, p));
      req.value = trim(part.substr(p + 2));
    } else if ((p = part.find('=')) != std::string::npos) {
      req.field = trim(part.substr(0, p));
      req.value = trim(part.substr(p + 1));
    } else {
      error = "invalid field selector: \"" + part + "\": expected an operator";
      return false;
    }
    if (std::find(fields.begin(), fields.end(), req.field) == fields.end()) {
      error = "field label not supported: " + req.field;
      return false;
    }
    out.push_back(req);
  }
  return true;
}

static std::string field_value(const json& obj, const std::string& dotted) {
  const json* cur = &obj;
  std::stringstream ss(dotted);
  std::string seg;
  while (std::getline(ss, seg, '.')) {
    if (!cur->is_object() || !cur->contains(seg)) return "";
    cur = &(*cur)[seg];
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_null()) return "";
  if (cur->is_object() && dotted == "source") return cur->value("component", "");
  return cur->dump();
}

static bool fields_match(const std::vector<FieldRequirement>& reqs, const json& obj) {
  for (auto& r : reqs) {
    bool eq = field_value(obj, r.field) == r.value;
    if (eq == r.negate) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Helpers

static std::string to_pointer(const std::string& dotted_path) {
  std::string p = dotted_path;
  if (!p.empty() && p[0] == '.') p = p.substr(1);
  std::string out;
  std::stringstream ss(p);
  std::string seg;
  while (std::getline(ss, seg, '.')) out += "/" + seg;
  return out;
}

static std::optional<json> at_path(const json& obj, const std::string& dotted_path) {
  json::json_pointer ptr(to_pointer(dotted_path));
  if (!obj.contains(ptr)) return std::nullopt;
  return obj.at(ptr);
}

static bool valid_dns_subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '-' || c == '.'))
      return false;
  return std::isalnum(static_cast<unsigned char>(s.front())) &&
         std::isalnum(static_cast<unsigned char>(s.back()));
}
static bool valid_dns_label(const std::string& s) {
  return s.size() <= 63 && s.find('.') == std::string::npos && valid_dns_subdomain(s);
}

static std::string object_name(const json& obj) {
  if (obj.is_object() && obj.contains("metadata") && obj["metadata"].is_object())
    return obj["metadata"].value("name", "");
  return "";
}

static std::uint64_t parse_rv(const std::string& s, bool& ok) {
  ok = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (!ok || s.size() > 19) {
    ok = false;
    return 0;
  }
  return std::stoull(s);
}

static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static std::string b64encode(const std::string& in) {
  std::string out;
  int val = 0, valb = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    valb += 8;
    while (valb >= 0) {
      out.push_back(kB64[(val >> valb) & 0x3F]);
      valb -= 6;
    }
  }
  if (valb > -6) out.push_back(kB64[((val << 8) >> (valb + 8)) & 0x3F]);
  while (out.size() % 4) out.push_back('=');
  return out;
}
static std::optional<std::string> b64decode(const std::string& in) {
  std::string out;
  int val = 0, valb = -8;
  for (unsigned char c : in) {
    if (c == '=') break;
    const char* p = std::strchr(kB64, c);
    if (!p || !c) return std::nullopt;
    val = (val << 6) + static_cast<int>(p - kB64);
    valb += 6;
    if (valb >= 0) {
      out.push_back(static_cast<char>((val >> valb) & 0xFF));
      valb -= 8;
    }
  }
  return out;
}

// Removes strategic-merge-patch directives, which a plain merge patch would store as fields.
static void strip_directives(json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      if (!it.key().empty() && it.key()[0] == '$') it = j.erase(it);
      else {
        strip_directives(it.value());
        ++it;
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) strip_directives(e);
  }
}

static json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json o = json::object();
      for (auto it = n.begin(); it != n.end(); ++it) o[it->first.as<std::string>()] = yaml_to_json(it->second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (auto it = n.begin(); it != n.end(); ++it) a.push_back(yaml_to_json(*it));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      if (s == "null" || s == "~") return nullptr;
      if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-')) {
        try {
          std::size_t pos;
          long long v = std::stoll(s, &pos);
          if (pos == s.size()) return v;
          double d = std::stod(s, &pos);
          if (pos == s.size()) return d;
        } catch (...) {
        }
      }
      return s;
    }
    default:
      return nullptr;
  }
}

std::vector<json> yaml_documents(const std::string& text) {
  std::vector<json> out;
  for (const auto& doc : YAML::LoadAll(text))
    if (doc.IsDefined() && !doc.IsNull()) out.push_back(yaml_to_json(doc));
  return out;
}

static void collect_leaves(const json& j, const std::string& prefix, std::set<std::string>& out) {
  if (j.is_object() && !j.empty()) {
    for (auto& [k, v] : j.items()) {
      std::string p = prefix + "/" + k;
      if (p == "/kind" || p == "/apiVersion" || p == "/metadata/name" || p == "/metadata/namespace" ||
          p == "/metadata/resourceVersion" || p == "/metadata/managedFields")
        continue;
      collect_leaves(v, p, out);
    }
  } else {
    out.insert(prefix);
  }
}

static void deep_merge(json& base, const json& over) {
  for (auto& [k, v] : over.items()) {
    if (v.is_null()) {
      base.erase(k);
    } else if (v.is_object() && base.contains(k) && base[k].is_object()) {
      deep_merge(base[k], v);
    } else {
      base[k] = v;
    }
  }
}

static std::string pointer_to_dotted(const std::string& p) {
  std::string out = p;
  std::replace(out.begin(), out.end(), '/', '.');
  return out;
}

static std::vector<ResourceInfo> builtin_resources(bool keda) {
  std::vector<ResourceInfo> v;
  auto add = [&](std::string group, std::string version, std::string plural, std::string singular,
                 std::string kind, bool namespaced, std::vector<std::string> shorts = {}) -> ResourceInfo& {
    ResourceInfo r;
    r.group = std::move(group);
    r.version = version;
    r.versions = {version};
    r.plural = std::move(plural);
    r.singular = std::move(singular);
    r.kind = kind;
    r.list_kind = kind + "List";
    r.namespaced = namespaced;
    r.short_names = std::move(shorts);
    v.push_back(r);
    return v.back();
  };
  {
    auto& ns = add("", "v1", "namespaces", "namespace", "Namespace", false, {"ns"});
    ns.has_status = true;
    ns.verbs = {"create", "delete", "get", "list", "patch", "update", "watch"};
  }
  add("", "v1", "configmaps", "configmap", "ConfigMap", true, {"cm"});
  add("", "v1", "secrets", "secret", "Secret", true);
  add("", "v1", "pods", "pod", "Pod", true, {"po"}).has_status = true;
  add("", "v1", "events", "event", "Event", true, {"ev"});
  add("", "v1", "services", "service", "Service", true, {"svc"}).has_status = true;
  for (auto [plural, singular, kind, shorts] :
       {std::tuple{"deployments", "deployment", "Deployment", std::vector<std::string>{"deploy"}},
        std::tuple{"statefulsets", "statefulset", "StatefulSet", std::vector<std::string>{"sts"}}}) {
    auto& r = add("apps", "v1", plural, singular, kind, true, shorts);
    r.has_status = r.has_scale = r.has_generation = r.selector_from_spec = true;
    r.categories = {"all"};
  }
  {
    auto& r = add("autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler",
                  "HorizontalPodAutoscaler", true, {"hpa"});
    r.has_status = r.has_generation = true;
    r.categories = {"all"};
  }
  {
    // What ScaledJobs create; nothing runs them here: tests finish a Job through /status.
    auto& r = add("batch", "v1", "jobs", "job", "Job", true);
    r.has_status = r.has_generation = true;
    r.categories = {"all"};
  }
  add("coordination.k8s.io", "v1", "leases", "lease", "Lease", true);
  add("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", true);
  // What the Helm chart installs (tests/chart): service accounts, RBAC, disruption budgets and
  // the aggregation/admission registrations. Stored as given; nothing enforces them.
  add("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, {"sa"});
  for (auto [plural, singular, kind, ns] :
       {std::tuple{"roles", "role", "Role", true}, std::tuple{"rolebindings", "rolebinding", "RoleBinding", true},
        std::tuple{"clusterroles", "clusterrole", "ClusterRole", false},
        std::tuple{"clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false}})
    add("rbac.authorization.k8s.io", "v1", plural, singular, kind, ns);
  add("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", true, {"pdb"})
      .has_status = true;
  add("apiregistration.k8s.io", "v1", "apiservices", "apiservice", "APIService", false).has_status = true;
  add("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "validatingwebhookconfiguration",
      "ValidatingWebhookConfiguration", false);
  add("events.k8s.io", "v1", "events", "event", "Event", true, {"ev"});
  {
    auto& r = add("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
                  "CustomResourceDefinition", false, {"crd", "crds"});
    r.has_status = r.has_generation = true;
  }
  {
    auto& r = add("authorization.k8s.io", "v1", "subjectaccessreviews", "subjectaccessreview",
                  "SubjectAccessReview", false);
    r.verbs = {"create"};
  }
  if (keda) {
    for (auto [plural, singular, kind, shorts, ns] :
         {std::tuple{"scaledobjects", "scaledobject", "ScaledObject", std::vector<std::string>{"so"}, true},
          std::tuple{"scaledjobs", "scaledjob", "ScaledJob", std::vector<std::string>{"sj"}, true},
          std::tuple{"triggerauthentications", "triggerauthentication", "TriggerAuthentication",
                     std::vector<std::string>{"ta", "triggerauth"}, true},
          std::tuple{"clustertriggerauthentications", "clustertriggerauthentication",
                     "ClusterTriggerAuthentication", std::vector<std::string>{"cta", "clustertriggerauth"},
                     false}}) {
      auto& r = add("keda.sh", "v1alpha1", plural, singular, kind, ns, shorts);
      r.has_status = r.has_generation = r.custom = true;
    }
  }
  return v;
}

static std::string now_rfc3339(const std::function<std::chrono::system_clock::time_point()>& clock) {
  auto t = std::chrono::system_clock::to_time_t(clock ? clock() : std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Store

struct Event {
  std::uint64_t rv;
  std::string type;  // ADDED, MODIFIED, DELETED
  std::string resource;  // group/plural
  json object, prev;
};

struct Snapshot {
  // Shared with the pages in flight: a page copies its own items, never the whole list (a
  // 10,000-object list read in pages of 500 would otherwise copy 200,000 objects).
  std::shared_ptr<const std::vector<json>> items;
  std::uint64_t rv;
};

using ObjKey = std::pair<std::string, std::string>;  // namespace, name

struct Store::Impl {
  StoreOptions opt;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::uint64_t rv = 0;
  std::uint64_t compacted_rv = 0;  // events up to and including this RV are gone
  std::uint64_t close_generation = 0;
  std::map<std::string, ResourceInfo> resources;  // group/plural
  std::map<std::string, std::map<ObjKey, json>> data;
  std::deque<Event> events;
  std::map<std::uint64_t, Snapshot> snapshots;
  std::uint64_t next_snapshot = 1;
  std::map<std::string, std::map<std::string, std::set<std::string>>> applied;  // key -> manager -> leaves
  std::mt19937_64 rng{std::random_device{}()};

  static std::string rkey(const ResourceInfo& r) { return r.group + "/" + r.plural; }
  static std::string okey(const ResourceInfo& r, const std::string& ns, const std::string& name) {
    return rkey(r) + "/" + ns + "/" + name;
  }

  std::string uid() {
    std::uniform_int_distribution<int> d(0, 15);
    std::string s;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
      int v = d(rng);
      if (i == 12) v = 4;
      if (i == 16) v = 8 | (v & 3);
      s += "0123456789abcdef"[v];
    }
    return s;
  }
  std::string now() const { return now_rfc3339(opt.clock); }

  json present(const ResourceInfo& r, const std::string& version, json obj) const {
    obj["apiVersion"] = r.api_version(version.empty() ? r.version : version);
    obj["kind"] = r.kind;
    return obj;
  }

  void record(const std::string& type, const ResourceInfo& r, const json& obj, const json& prev) {
    events.push_back({rv, type, rkey(r), obj, prev});
    while (events.size() > opt.watch_window) {
      compacted_rv = events.front().rv;
      events.pop_front();
    }
    cv.notify_all();
  }

  json* find_obj(const ResourceInfo& r, const std::string& ns, const std::string& name) {
    auto d = data.find(rkey(r));
    if (d == data.end()) return nullptr;
    auto it = d->second.find({r.namespaced ? ns : "", name});
    return it == d->second.end() ? nullptr : &it->second;
  }

  std::optional<ResourceInfo> resource(const std::string& group, const std::string& plural) const {
    auto it = resources.find(group + "/" + plural);
    if (it == resources.end()) return std::nullopt;
    return it->second;
  }

  // --- CRDs -------------------------------------------------------------------------------
  // Validates a CRD body; on success fills `out` with the resource it defines.
  std::vector<std::pair<std::string, std::string>> crd_resource(const json& crd, ResourceInfo& out) {
    std::vector<std::pair<std::string, std::string>> errs;
    const json spec = crd.value("spec", json::object());
    const json names = spec.value("names", json::object());
    out = ResourceInfo{};
    out.group = spec.value("group", "");
    out.plural = names.value("plural", "");
    out.singular = names.value("singular", "");
    out.kind = names.value("kind", "");
    out.list_kind = names.value("listKind", out.kind + "List");
    if (out.singular.empty()) {
      out.singular = out.kind;
      std::transform(out.singular.begin(), out.singular.end(), out.singular.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    for (auto& s : names.value("shortNames", json::array())) out.short_names.push_back(s.get<std::string>());
    for (auto& s : names.value("categories", json::array())) out.categories.push_back(s.get<std::string>());
    std::string scope = spec.value("scope", "");
    out.namespaced = scope == "Namespaced";
    out.custom = out.has_generation = true;
    if (out.group.empty()) errs.push_back({"spec.group", "Required value"});
    if (out.plural.empty()) errs.push_back({"spec.names.plural", "Required value"});
    if (out.kind.empty()) errs.push_back({"spec.names.kind", "Required value"});
    if (scope != "Namespaced" && scope != "Cluster")
      errs.push_back({"spec.scope", "Unsupported value: \"" + scope + "\": supported values: \"Cluster\", \"Namespaced\""});
    if (object_name(crd) != out.plural + "." + out.group)
      errs.push_back({"metadata.name", "Invalid value: \"" + object_name(crd) + "\": must be spec.names.plural+\".\"+spec.group"});
    const json versions = spec.value("versions", json::array());
    const json* chosen = nullptr;
    for (auto& v : versions) {
      if (!v.value("served", false)) continue;
      out.versions.push_back(v.value("name", ""));
      if (v.contains("schema") && v["schema"].is_object() && v["schema"].contains("openAPIV3Schema") &&
          v["schema"]["openAPIV3Schema"].is_object())
        out.schemas[v.value("name", "")] = std::make_shared<const json>(v["schema"]["openAPIV3Schema"]);
      if (v.value("storage", false) || !chosen) chosen = &v;
    }
    if (out.versions.empty()) errs.push_back({"spec.versions", "Invalid value: must have at least one served version"});
    if (chosen) {
      // The preferred version is the first served one, as listed.
      out.version = out.versions.front();
      json sub = chosen->value("subresources", json::object());
      out.has_status = sub.contains("status");
      if (sub.contains("scale")) {
        out.has_scale = true;
        out.spec_replicas_path = sub["scale"].value("specReplicasPath", ".spec.replicas");
        out.status_replicas_path = sub["scale"].value("statusReplicasPath", ".status.replicas");
        out.label_selector_path = sub["scale"].value("labelSelectorPath", "");
      }
    }
    if (errs.empty()) {
      auto existing = resource(out.group, out.plural);
      if (existing && !existing->custom) errs.push_back({"spec.names.plural", "Invalid value: built-in resource"});
    }
    return errs;
  }

  static json crd_status(const json& crd, const ResourceInfo& r, const std::string& now) {
    json names = crd["spec"]["names"];
    names["singular"] = r.singular;
    names["listKind"] = r.list_kind;
    json stored = json::array();
    for (auto& v : crd["spec"]["versions"])
      if (v.value("storage", false)) stored.push_back(v.value("name", ""));
    return {{"acceptedNames", names},
            {"conditions",
             json::array({{{"type", "NamesAccepted"}, {"status", "True"}, {"lastTransitionTime", now},
                           {"reason", "NoConflicts"}, {"message", "no conflicts found"}},
                          {{"type", "Established"}, {"status", "True"}, {"lastTransitionTime", now},
                           {"reason", "InitialNamesAccepted"}, {"message", "the initial names have been accepted"}}})},
            {"storedVersions", stored}};
  }

  // --- writes -----------------------------------------------------------------------------
  Reply create(const ResourceInfo& r, const std::string& version, const std::string& ns, json obj) {
    if (!obj.is_object()) return bad_request("the body of the request is not a JSON object");
    if (!obj.contains("metadata")) obj["metadata"] = json::object();
    json& meta = obj["metadata"];
    if (!meta.is_object()) return bad_request("metadata must be an object");
    std::string name = meta.value("name", "");
    if (obj.contains("kind") && obj["kind"] != r.kind)
      return invalid(r, name, {{"kind", "Invalid value: " + obj["kind"].dump() + ": must be " + r.kind}});
    if (obj.contains("apiVersion") && obj["apiVersion"].is_string()) {
      std::string av = obj["apiVersion"];
      bool okv = false;
      for (auto& v : r.versions) okv |= av == r.api_version(v);
      if (!okv) return invalid(r, name, {{"apiVersion", "Invalid value: \"" + av + "\": must be " + r.api_version(version)}});
    }
    if (name.empty() && meta.contains("generateName") && meta["generateName"].is_string()) {
      std::string base = meta["generateName"];
      std::uniform_int_distribution<int> d(0, 26 + 9);
      for (int i = 0; i < 5; ++i) base += "bcdfghjklmnpqrstvwxz2456789"[d(rng) % 27];
      name = base;
      meta["name"] = name;
    }
    if (name.empty()) return invalid(r, name, {{"metadata.name", "Required value: name or generateName is required"}});
    bool name_ok = r.plural == "namespaces" ? valid_dns_label(name) : valid_dns_subdomain(name);
    if (!name_ok)
      return invalid(r, name, {{"metadata.name", "Invalid value: \"" + name +
                                                     "\": must be lowercase alphanumerics, '-' or '.', "
                                                     "starting and ending with an alphanumeric"}});
    if (r.namespaced) {
      if (meta.contains("namespace") && meta["namespace"].is_string() && meta["namespace"] != "" && meta["namespace"] != ns)
        return bad_request("the namespace of the provided object does not match the namespace sent on the request");
      meta["namespace"] = ns;
      ResourceInfo nsr = *resource("", "namespaces");
      json* nso = find_obj(nsr, "", ns);
      if (!nso) return not_found(nsr, ns);
      if ((*nso)["metadata"].contains("deletionTimestamp"))
        return status_error(403, "Forbidden",
                            r.qualified() + " \"" + name + "\" is forbidden: unable to create new content in namespace " +
                                ns + " because it is being terminated",
                            resource_details(r, name));
    } else {
      meta.erase("namespace");
    }
    if (const json* schema = schema_for(r, version)) {
      if (r.has_status) obj.erase("status");
      auto causes = admit_custom_resource(*schema, obj);
      if (!causes.empty()) return invalid_fields(r, name, causes);
    }
    if (r.group == "events.k8s.io") {
      auto causes = validate_event(obj);
      if (!causes.empty()) return invalid(r, name, causes);
    }
    if (find_obj(r, ns, name)) return already_exists(r, name);
    ResourceInfo crd_def;
    bool is_crd = r.group == "apiextensions.k8s.io" && r.plural == "customresourcedefinitions";
    if (is_crd) {
      auto errs = crd_resource(obj, crd_def);
      if (!errs.empty()) return invalid(r, name, errs);
      if (resource(crd_def.group, crd_def.plural))
        return invalid(r, name, {{"spec.names.plural", "Invalid value: \"" + crd_def.plural + "\": is already in use"}});
    }
    for (const char* k : {"resourceVersion", "uid", "creationTimestamp", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation", "selfLink", "managedFields"})
      meta.erase(k);
    if (r.has_status) obj.erase("status");
    defaults(r, obj);
    meta["uid"] = uid();
    meta["creationTimestamp"] = now();
    if (r.has_generation) meta["generation"] = 1;
    if (r.plural == "namespaces" && r.group.empty()) obj["status"] = {{"phase", "Active"}};
    if (is_crd) obj["status"] = crd_status(obj, crd_def, now());
    meta["resourceVersion"] = std::to_string(++rv);
    obj.erase("kind");
    obj.erase("apiVersion");
    data[rkey(r)][{r.namespaced ? ns : "", name}] = obj;
    record("ADDED", r, obj, nullptr);
    if (is_crd) resources[rkey(crd_def)] = crd_def;
    run_workload_controller(r, ns, name);
    return {201, present(r, version, obj)};
  }

  // kube-apiserver's checks of an events.k8s.io/v1 Event on create (ValidateEventCreate):
  // the fields a recorder must send, and the byte limits that make long messages fail.
  static std::vector<std::pair<std::string, std::string>> validate_event(const json& e) {
    std::vector<std::pair<std::string, std::string>> causes;
    auto text = [&](const char* k) {
      return e.contains(k) && e[k].is_string() ? e[k].get<std::string>() : std::string();
    };
    if (text("eventTime").empty()) causes.push_back({"eventTime", "Required value"});
    const auto type = text("type");
    if (type != "Normal" && type != "Warning")
      causes.push_back({"type", "Invalid value: \"\": has invalid value: " + type});
    for (const char* k : {"reportingController", "reportingInstance", "action", "reason"})
      if (text(k).empty()) causes.push_back({k, "Required value"});
    for (const char* k : {"reportingInstance", "action", "reason"})
      if (text(k).size() > 128)
        causes.push_back({k, "Invalid value: \"\": can have at most 128 characters"});
    if (text("note").size() > 1024)
      causes.push_back({"note", "Invalid value: \"\": can have at most 1024 characters"});
    return causes;
  }

  // The schema of the version the request used (the preferred one when none is named).
  static const json* schema_for(const ResourceInfo& r, const std::string& version) {
    auto it = r.schemas.find(version.empty() ? r.version : version);
    return it == r.schemas.end() || !it->second ? nullptr : it->second.get();
  }

  static void defaults(const ResourceInfo& r, json& obj) {
    if (r.group == "apps" && (r.plural == "deployments" || r.plural == "statefulsets")) {
      if (!obj.contains("spec") || !obj["spec"].is_object()) obj["spec"] = json::object();
      if (!obj["spec"].contains("replicas")) obj["spec"]["replicas"] = 1;
    }
    drop_empty_go_maps(r, obj);
  }

  // kube-apiserver decodes every object into Go structs (custom resources too, for their
  // ObjectMeta) and encodes it back: a map or slice field tagged omitempty that became empty
  // is gone from what it stores and returns. The fields Ebb's clients write:
  static void drop_empty_go_maps(const ResourceInfo& r, json& obj) {
    auto drop_empty = [](json& parent, const char* key) {
      if (!parent.is_object()) return;
      auto it = parent.find(key);
      if (it != parent.end() &&
          (it->is_null() || ((it->is_object() || it->is_array()) && it->empty())))
        parent.erase(it);
    };
    if (auto meta = obj.find("metadata"); meta != obj.end())
      for (const char* k : {"labels", "annotations", "finalizers", "ownerReferences"})
        drop_empty(*meta, k);
    if (r.group.empty() && (r.plural == "configmaps" || r.plural == "secrets"))
      for (const char* k : {"data", "binaryData", "stringData"}) drop_empty(obj, k);
  }

  // The Deployment and StatefulSet controllers of a real cluster write status right after every
  // spec change (observedGeneration; for a Deployment also the pod count it created, although no
  // pod ever becomes ready without a kubelet). Done synchronously here, as a second write: a
  // client holding the resourceVersion its own write returned then gets a 409 on its next
  // conditional write, as it can on a cluster.
  void run_workload_controller(const ResourceInfo& r, const std::string& ns,
                               const std::string& name) {
    if (!opt.workload_controllers || r.group != "apps") return;
    const bool deployment = r.plural == "deployments";
    if (!deployment && r.plural != "statefulsets") return;
    json* curp = find_obj(r, ns, name);
    if (!curp || (*curp)["metadata"].contains("deletionTimestamp")) return;
    json next = *curp;
    if (!next.contains("status") || !next["status"].is_object()) next["status"] = json::object();
    json& status = next["status"];
    status["observedGeneration"] = next["metadata"].value("generation", 1);
    if (deployment) {
      const auto wanted = next["spec"].value("replicas", 1);
      for (const char* k : {"replicas", "updatedReplicas", "unavailableReplicas"}) {
        if (wanted > 0)
          status[k] = wanted;
        else
          status.erase(k);
      }
    }
    if (next == *curp) return;
    const json cur = *curp;
    next["metadata"]["resourceVersion"] = std::to_string(++rv);
    *curp = next;
    record("MODIFIED", r, next, cur);
  }

  static json spec_part(json o) {
    o.erase("metadata");
    o.erase("status");
    o.erase("kind");
    o.erase("apiVersion");
    return o;
  }

  Reply update(const ResourceInfo& r, const std::string& version, const std::string& ns,
               const std::string& name, json obj, Sub sub) {
    if (!obj.is_object()) return bad_request("the body of the request is not a JSON object");
    if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = json::object();
    json& meta = obj["metadata"];
    std::string body_name = meta.value("name", "");
    if (body_name.empty()) meta["name"] = name;
    else if (body_name != name)
      return bad_request("the name of the object (" + body_name + ") does not match the name on the URL (" + name + ")");
    json* curp = find_obj(r, ns, name);
    if (!curp) return not_found(r, name);
    const json cur = *curp;
    if (obj.contains("kind") && obj["kind"] != r.kind)
      return invalid(r, name, {{"kind", "Invalid value: " + obj["kind"].dump() + ": must be " + r.kind}});
    if (r.namespaced && meta.contains("namespace") && meta["namespace"].is_string() && meta["namespace"] != "" &&
        meta["namespace"] != ns)
      return bad_request("the namespace of the provided object does not match the namespace sent on the request");
    std::string body_rv = meta.value("resourceVersion", "");
    if (!body_rv.empty()) {
      if (body_rv != cur["metadata"].value("resourceVersion", "")) return conflict(r, name, kModified);
    } else if (r.custom) {
      return invalid(r, name, {{"metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update"}});
    }
    json next;
    if (sub == Sub::Status) {
      next = cur;
      if (obj.contains("status")) next["status"] = obj["status"];
      else next.erase("status");
    } else {
      next = obj;
      next.erase("kind");
      next.erase("apiVersion");
      json& nm = next["metadata"];
      for (const char* k : {"uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                            "generation", "namespace"}) {
        if (cur["metadata"].contains(k)) nm[k] = cur["metadata"][k];
        else nm.erase(k);
      }
      nm.erase("managedFields");
      nm.erase("selfLink");
      if (r.has_status) {
        if (cur.contains("status")) next["status"] = cur["status"];
        else next.erase("status");
      }
      defaults(r, next);
    }
    // Pruned, defaulted and validated as a whole, also for /status (the spec is the stored one).
    if (const json* schema = schema_for(r, version)) {
      auto causes = admit_custom_resource(*schema, next);
      if (!causes.empty()) return invalid_fields(r, name, causes);
    }
    next["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"];
    if (cur["metadata"].contains("deletionTimestamp")) {
      std::set<std::string> before, after;
      for (auto& f : cur["metadata"].value("finalizers", json::array())) before.insert(f.dump());
      for (auto& f : next["metadata"].value("finalizers", json::array())) after.insert(f.dump());
      for (auto& f : after)
        if (!before.count(f))
          return invalid(r, name, {{"metadata.finalizers", "Forbidden: no new finalizers can be added if the object is being deleted"}});
    }
    if (r.has_generation && sub == Sub::Main && spec_part(next) != spec_part(cur))
      next["metadata"]["generation"] = cur["metadata"].value("generation", 0) + 1;
    if (next == cur) return {200, present(r, version, cur)};  // a no-op write changes nothing
    ResourceInfo crd_def;
    bool is_crd = r.group == "apiextensions.k8s.io" && r.plural == "customresourcedefinitions";
    if (is_crd && sub == Sub::Main) {
      auto errs = crd_resource(next, crd_def);
      if (!errs.empty()) return invalid(r, name, errs);
    }
    next["metadata"]["resourceVersion"] = std::to_string(++rv);
    if (next["metadata"].contains("deletionTimestamp") && next["metadata"].value("finalizers", json::array()).empty()) {
      finalize(r, ns, name, next);
      return {200, present(r, version, next)};
    }
    *curp = next;
    record("MODIFIED", r, next, cur);
    if (is_crd && sub == Sub::Main) resources[rkey(crd_def)] = crd_def;
    if (sub == Sub::Main &&
        next["metadata"].value("generation", 0) != cur["metadata"].value("generation", 0))
      run_workload_controller(r, ns, name);
    return {200, present(r, version, next)};
  }

  // Removes an object for good (rv already bumped for it) and runs the side effects.
  void finalize(const ResourceInfo& r, const std::string& ns, const std::string& name, const json& last) {
    data[rkey(r)].erase({r.namespaced ? ns : "", name});
    applied.erase(okey(r, ns, name));
    record("DELETED", r, last, nullptr);
    if (r.group == "apiextensions.k8s.io" && r.plural == "customresourcedefinitions") {
      ResourceInfo def;
      crd_resource(last, def);
      auto it = resources.find(rkey(def));
      if (it != resources.end() && it->second.custom) {
        auto objs = data[rkey(def)];
        for (auto& [k, o] : objs) {
          json gone_obj = o;
          gone_obj["metadata"]["resourceVersion"] = std::to_string(++rv);
          data[rkey(def)].erase(k);
          record("DELETED", def, gone_obj, nullptr);
        }
        if (!opt.preregister_keda || def.group != "keda.sh") resources.erase(it);
      }
    }
    if (r.namespaced) maybe_finish_namespace(ns);
    if (r.group.empty() && r.plural == "namespaces") { /* contents were removed before */ }
  }

  void maybe_finish_namespace(const std::string& ns) {
    ResourceInfo nsr = *resource("", "namespaces");
    json* o = find_obj(nsr, "", ns);
    if (!o || !(*o)["metadata"].contains("deletionTimestamp")) return;
    for (auto& [rk, objs] : data)
      for (auto& [k, v] : objs)
        if (k.first == ns) return;
    json last = *o;
    last["metadata"]["resourceVersion"] = std::to_string(++rv);
    data[rkey(nsr)].erase({"", ns});
    record("DELETED", nsr, last, nullptr);
  }

  Reply remove(const ResourceInfo& r, const std::string& version, const std::string& ns,
               const std::string& name, const json& options) {
    json* curp = find_obj(r, ns, name);
    if (!curp) return not_found(r, name);
    json cur = *curp;
    if (options.is_object() && options.contains("preconditions") && options["preconditions"].is_object()) {
      const json& pre = options["preconditions"];
      std::string uid_now = cur["metadata"].value("uid", ""), rv_now = cur["metadata"].value("resourceVersion", "");
      if (pre.contains("uid") && pre["uid"].is_string() && pre["uid"] != uid_now)
        return conflict(r, name, "Precondition failed: UID in precondition: " + pre["uid"].get<std::string>() +
                                     ", UID in object meta: " + uid_now);
      if (pre.contains("resourceVersion") && pre["resourceVersion"].is_string() && pre["resourceVersion"] != rv_now)
        return conflict(r, name, "Precondition failed: ResourceVersion in precondition: " +
                                     pre["resourceVersion"].get<std::string>() + ", ResourceVersion in object meta: " + rv_now);
    }
    bool is_ns = r.group.empty() && r.plural == "namespaces";
    if (is_ns) {
      if (!cur["metadata"].contains("deletionTimestamp")) {
        json next = cur;
        next["metadata"]["deletionTimestamp"] = now();
        next["status"]["phase"] = "Terminating";
        next["metadata"]["resourceVersion"] = std::to_string(++rv);
        *curp = next;
        record("MODIFIED", r, next, cur);
        std::vector<std::pair<ResourceInfo, std::string>> victims;
        for (auto& [rk, objs] : data) {
          auto ri = resources.find(rk);
          if (ri == resources.end()) continue;
          for (auto& [k, v] : objs)
            if (ri->second.namespaced && k.first == name) victims.push_back({ri->second, k.second});
        }
        for (auto& [vr, vn] : victims) remove(vr, vr.version, name, vn, nullptr);
        maybe_finish_namespace(name);
        json* still = find_obj(r, "", name);
        return {200, present(r, version, still ? *still : next)};
      }
      return {200, present(r, version, cur)};
    }
    auto finalizers = cur["metadata"].value("finalizers", json::array());
    if (!finalizers.empty()) {
      if (cur["metadata"].contains("deletionTimestamp")) return {200, present(r, version, cur)};
      json next = cur;
      next["metadata"]["deletionTimestamp"] = now();
      next["metadata"]["deletionGracePeriodSeconds"] = 0;
      next["metadata"]["resourceVersion"] = std::to_string(++rv);
      *curp = next;
      record("MODIFIED", r, next, cur);
      return {200, present(r, version, next)};
    }
    json last = cur;
    last["metadata"]["resourceVersion"] = std::to_string(++rv);
    finalize(r, ns, name, last);
    if (r.custom) return {200, present(r, version, last)};
    json details = resource_details(r, name);
    details["uid"] = cur["metadata"].value("uid", "");
    return {200, {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
                  {"status", "Success"}, {"details", details}}};
  }

  Reply patch(const ResourceInfo& r, const std::string& version, const std::string& ns,
              const std::string& name, PatchType type, const std::string& body, Sub sub,
              const std::string& manager, bool force) {
    json p;
    try {
      if (type == PatchType::Apply) p = yaml_to_json(YAML::Load(body));
      else p = json::parse(body);
    } catch (const std::exception& e) {
      return bad_request(std::string("error decoding patch: ") + e.what());
    }
    json* curp = find_obj(r, ns, name);
    if (type == PatchType::Apply) {
      if (manager.empty())
        return bad_request("PATCH requires the fieldManager parameter for apply requests");
      if (!p.is_object()) return bad_request("the apply configuration must be an object");
      std::string pn = object_name(p);
      if (pn != name) return bad_request("the name of the object (" + pn + ") does not match the name on the URL (" + name + ")");
      if (!p.contains("kind") || !p.contains("apiVersion"))
        return bad_request("apply configurations must set apiVersion and kind");
      std::set<std::string> leaves;
      collect_leaves(p, "", leaves);
      if (!curp) {
        if (sub == Sub::Status) return not_found(r, name);
        Reply c = create(r, version, ns, p);
        if (c.ok()) applied[okey(r, ns, name)][manager] = leaves;
        return c;
      }
      auto& owners = applied[okey(r, ns, name)];
      json base = present(r, version, *curp);
      std::vector<std::pair<std::string, std::string>> conflicts;  // manager, field
      for (auto& leaf : leaves) {
        json::json_pointer ptr(leaf);
        for (auto& [m, set] : owners) {
          if (m == manager || !set.count(leaf)) continue;
          bool same = base.contains(ptr) && base.at(ptr) == p.at(ptr);
          if (!same) conflicts.push_back({m, leaf});
        }
      }
      if (!conflicts.empty() && !force) {
        std::string msg = "Apply failed with " + std::to_string(conflicts.size()) + " conflict" +
                          (conflicts.size() > 1 ? "s" : "") + ":";
        json causes = json::array();
        for (auto& [m, f] : conflicts) {
          msg += " conflict with \"" + m + "\": " + pointer_to_dotted(f);
          causes.push_back({{"reason", "FieldManagerConflict"}, {"message", "conflict with \"" + m + "\""},
                            {"field", pointer_to_dotted(f)}});
        }
        json d = resource_details(r, name);
        d["causes"] = causes;
        return status_error(409, "Conflict", msg, d);
      }
      for (auto& [m, f] : conflicts) owners[m].erase(f);
      // Fields this manager applied before and no longer does are removed, unless someone else owns them.
      for (auto& old : owners[manager]) {
        if (leaves.count(old)) continue;
        bool other = false;
        for (auto& [m, set] : owners) other |= m != manager && set.count(old);
        json::json_pointer ptr(old);
        if (other || !base.contains(ptr)) continue;
        base.at(ptr.parent_pointer()).erase(ptr.back());
        // Maps left empty by the removal go too (they were only there to hold the field).
        for (auto parent = ptr.parent_pointer(); parent != json::json_pointer() && parent.parent_pointer() != json::json_pointer();
             parent = parent.parent_pointer()) {
          if (!base.at(parent).is_object() || !base.at(parent).empty()) break;
          base.at(parent.parent_pointer()).erase(parent.back());
        }
      }
      std::string want_rv = p["metadata"].value("resourceVersion", "");
      json cfg = p;
      cfg["metadata"].erase("resourceVersion");
      deep_merge(base, cfg);
      if (!want_rv.empty()) base["metadata"]["resourceVersion"] = want_rv;
      Reply u = update(r, version, ns, name, base, sub);
      if (u.ok()) applied[okey(r, ns, name)][manager] = leaves;
      return u;
    }
    if (!curp) return not_found(r, name);
    json base = present(r, version, *curp);
    json patched;
    if (type == PatchType::Json) {
      if (!p.is_array()) return bad_request("a JSON patch must be an array of operations");
      try {
        patched = base.patch(p);
      } catch (const std::exception& e) {
        return status_error(422, "Invalid", std::string("the JSON patch could not be applied: ") + e.what());
      }
    } else {
      if (!p.is_object()) return bad_request("a merge patch must be a JSON object");
      if (type == PatchType::Strategic) strip_directives(p);
      patched = base;
      patched.merge_patch(p);
    }
    if (!patched.is_object() || !patched.contains("metadata") || !patched["metadata"].is_object())
      return status_error(422, "Invalid", "the patched object has no metadata");
    // A patch that does not mention resourceVersion must not fail on it.
    if (!patched["metadata"].contains("resourceVersion")) patched["metadata"]["resourceVersion"] = (*curp)["metadata"]["resourceVersion"];
    return update(r, version, ns, name, patched, sub);
  }

  json scale_of(const ResourceInfo& r, const json& obj) {
    json meta = {{"name", obj["metadata"]["name"]}};
    if (r.namespaced) meta["namespace"] = obj["metadata"]["namespace"];
    for (const char* k : {"uid", "resourceVersion", "creationTimestamp"})
      if (obj["metadata"].contains(k)) meta[k] = obj["metadata"][k];
    auto spec_r = at_path(obj, r.spec_replicas_path);
    auto status_r = at_path(obj, r.status_replicas_path);
    json status = {{"replicas", status_r && status_r->is_number_integer() ? status_r->get<std::int64_t>() : 0}};
    if (r.selector_from_spec) {
      auto sel = at_path(obj, ".spec.selector");
      if (sel) status["selector"] = label_selector_to_string(*sel);
    } else if (!r.label_selector_path.empty()) {
      auto sel = at_path(obj, r.label_selector_path);
      if (sel && sel->is_string()) status["selector"] = *sel;
    }
    json spec = json::object();
    if (spec_r && spec_r->is_number_integer()) spec["replicas"] = spec_r->get<std::int64_t>();
    return {{"kind", "Scale"}, {"apiVersion", "autoscaling/v1"}, {"metadata", meta}, {"spec", spec}, {"status", status}};
  }

  Reply update_scale(const ResourceInfo& r, const std::string& ns, const std::string& name, const json& scale) {
    json* curp = find_obj(r, ns, name);
    if (!curp) return not_found(r, name);
    if (!scale.is_object()) return bad_request("the body of the request is not a JSON object");
    ResourceInfo sr{.group = "autoscaling", .plural = r.plural, .kind = "Scale"};
    if (scale.contains("kind") && scale["kind"] != "Scale")
      return invalid(sr, name, {{"kind", "Invalid value: " + scale["kind"].dump() + ": must be Scale"}});
    std::string srv = scale.value("metadata", json::object()).value("resourceVersion", "");
    if (!srv.empty() && srv != (*curp)["metadata"].value("resourceVersion", "")) return conflict(r, name, kModified);
    json replicas = scale.value("spec", json::object()).value("replicas", json(0));
    if (!replicas.is_number_integer() || replicas.get<std::int64_t>() < 0)
      return invalid(sr, name, {{"spec.replicas", "Invalid value: " + replicas.dump() + ": must be greater than or equal to 0"}});
    json next = present(r, r.version, *curp);
    json::json_pointer ptr(to_pointer(r.spec_replicas_path));
    next[ptr] = replicas;
    Reply u = update(r, r.version, ns, name, next, Sub::Main);
    if (!u.ok()) return u;
    return {200, scale_of(r, u.body)};
  }
};

std::vector<json> Watch::next(std::chrono::steady_clock::time_point deadline) {
  std::vector<json> out;
  if (!pending_.empty()) {
    out.swap(pending_);
    if (out.back().value("type", "") == "ERROR") closed_ = true;
    return out;
  }
  if (closed_) return out;
  auto& im = *store_->impl_;
  std::unique_lock lock(im.mu);
  std::string rk = Store::Impl::rkey(info_);
  while (true) {
    if (close_generation_ != im.close_generation) {
      closed_ = true;
      return out;
    }
    if (cursor_ < im.compacted_rv) {
      // Fell out of the window while connected (a very slow reader).
      Reply g = gone("too old resource version: " + std::to_string(cursor_) + " (" + std::to_string(im.compacted_rv + 1) + ")");
      out.push_back({{"type", "ERROR"}, {"object", g.body}});
      closed_ = true;
      return out;
    }
    auto it = std::upper_bound(im.events.begin(), im.events.end(), cursor_,
                               [](std::uint64_t v, const Event& e) { return v < e.rv; });
    for (; it != im.events.end(); ++it) {
      cursor_ = it->rv;
      if (it->resource != rk) continue;
      bool now_m = match_(it->object);
      bool was_m = !it->prev.is_null() && match_(it->prev);
      std::string type;
      if (it->type == "ADDED" && now_m) type = "ADDED";
      else if (it->type == "DELETED" && now_m) type = "DELETED";
      else if (it->type == "MODIFIED") {
        if (now_m && was_m) type = "MODIFIED";
        else if (now_m) type = "ADDED";
        else if (was_m) type = "DELETED";
      }
      if (!type.empty()) out.push_back({{"type", type}, {"object", im.present(info_, version_, it->object)}});
    }
    if (!out.empty()) return out;
    if (im.cv.wait_until(lock, deadline) == std::cv_status::timeout) {
      if (close_generation_ != im.close_generation) closed_ = true;
      return out;
    }
  }
}

json Watch::bookmark() {
  std::lock_guard lock(store_->impl_->mu);
  return {{"type", "BOOKMARK"},
          {"object", {{"kind", info_.kind}, {"apiVersion", info_.api_version(version_)},
                      {"metadata", {{"resourceVersion", std::to_string(cursor_)}}}}}};
}

Store::Store(StoreOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  if (impl_->opt.watch_window == 0) impl_->opt.watch_window = 1;
  for (auto& r : builtin_resources(impl_->opt.preregister_keda)) impl_->resources[Impl::rkey(r)] = r;
  ResourceInfo nsr = *impl_->resource("", "namespaces");
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"})
    impl_->create(nsr, "v1", "", {{"metadata", {{"name", ns}}}});
  if (impl_->opt.extension_apiserver_authentication) {
    ResourceInfo cm = *impl_->resource("", "configmaps");
    impl_->create(cm, "v1", "kube-system",
                  {{"metadata", {{"name", "extension-apiserver-authentication"}}},
                   {"data", *impl_->opt.extension_apiserver_authentication}});
  }
}

Store::~Store() = default;

std::optional<ResourceInfo> Store::find(const std::string& group, const std::string& version,
                                        const std::string& plural) const {
  std::lock_guard lock(impl_->mu);
  auto r = impl_->resource(group, plural);
  if (!r) return std::nullopt;
  if (std::find(r->versions.begin(), r->versions.end(), version) == r->versions.end()) return std::nullopt;
  return r;
}

std::vector<ResourceInfo> Store::resources() const {
  std::lock_guard lock(impl_->mu);
  std::vector<ResourceInfo> out;
  for (auto& [k, r] : impl_->resources) out.push_back(r);
  return out;
}

void Store::add_resource(ResourceInfo info) {
  std::lock_guard lock(impl_->mu);
  if (info.versions.empty()) info.versions = {info.version};
  if (info.list_kind.empty()) info.list_kind = info.kind + "List";
  impl_->resources[Impl::rkey(info)] = info;
}

std::uint64_t Store::resource_version() const {
  std::lock_guard lock(impl_->mu);
  return impl_->rv;
}

Reply Store::create(const ResourceInfo& r, const std::string& version, const std::string& ns, json obj) {
  std::lock_guard lock(impl_->mu);
  return impl_->create(r, version, ns, std::move(obj));
}

Reply Store::get(const ResourceInfo& r, const std::string& version, const std::string& ns, const std::string& name) {
  std::lock_guard lock(impl_->mu);
  json* o = impl_->find_obj(r, ns, name);
  if (!o) return not_found(r, name);
  return {200, impl_->present(r, version, *o)};
}

Reply Store::update(const ResourceInfo& r, const std::string& version, const std::string& ns,
                    const std::string& name, json obj, Sub sub) {
  std::lock_guard lock(impl_->mu);
  return impl_->update(r, version, ns, name, std::move(obj), sub);
}

Reply Store::patch(const ResourceInfo& r, const std::string& version, const std::string& ns,
                   const std::string& name, PatchType type, const std::string& body, Sub sub,
                   const std::string& field_manager, bool force) {
  std::lock_guard lock(impl_->mu);
  return impl_->patch(r, version, ns, name, type, body, sub, field_manager, force);
}

Reply Store::remove(const ResourceInfo& r, const std::string& version, const std::string& ns,
                    const std::string& name, const json& delete_options) {
  std::lock_guard lock(impl_->mu);
  return impl_->remove(r, version, ns, name, delete_options);
}

Reply Store::list(const ResourceInfo& r, const std::string& version, const std::string& ns,
                  const ListOptions& options) {
  std::vector<LabelRequirement> lreq;
  std::vector<FieldRequirement> freq;
  std::string err;
  if (!parse_label_selector(options.label_selector, lreq, err)) return bad_request(err);
  if (!parse_field_selector(r, options.field_selector, freq, err)) return bad_request(err);
  std::lock_guard lock(impl_->mu);
  auto& im = *impl_;
  std::shared_ptr<const std::vector<json>> snapshot;
  std::vector<json> fresh;
  std::uint64_t list_rv = im.rv, snap_id = 0;
  std::size_t offset = 0;
  if (!options.continue_token.empty()) {
    auto raw = b64decode(options.continue_token);
    json tok;
    try {
      tok = json::parse(raw.value_or(""));
      snap_id = tok.at("id").get<std::uint64_t>();
      offset = tok.at("offset").get<std::size_t>();
    } catch (...) {
      return bad_request("continue key is not valid");
    }
    auto it = im.snapshots.find(snap_id);
    if (it == im.snapshots.end() || it->second.rv < im.compacted_rv)
      return gone("The provided continue parameter is too old to display a consistent list result. "
                  "Start a new list without the continue parameter.");
    snapshot = it->second.items;
    list_rv = it->second.rv;
  } else {
    auto d = im.data.find(Impl::rkey(r));
    if (d != im.data.end())
      for (auto& [k, o] : d->second) {
        if (r.namespaced && !ns.empty() && k.first != ns) continue;
        if (!labels_match(lreq, o["metadata"].value("labels", json::object()))) continue;
        if (!fields_match(freq, o)) continue;
        json item = o;
        if (r.custom) item = im.present(r, version, item);
        fresh.push_back(std::move(item));
      }
  }
  const std::size_t total = snapshot ? snapshot->size() : fresh.size();
  json meta = {{"resourceVersion", std::to_string(list_rv)}};
  std::size_t end = total;
  if (options.limit > 0 && offset + static_cast<std::size_t>(options.limit) < total) {
    end = offset + static_cast<std::size_t>(options.limit);
    if (!snap_id) {
      snap_id = im.next_snapshot++;
      snapshot = std::make_shared<const std::vector<json>>(std::move(fresh));
      im.snapshots[snap_id] = {snapshot, list_rv};
      while (im.snapshots.size() > 64) im.snapshots.erase(im.snapshots.begin());
    }
    meta["continue"] = b64encode(json{{"id", snap_id}, {"offset", end}, {"rv", list_rv}}.dump());
    meta["remainingItemCount"] = total - end;
  }
  const std::vector<json>& all = snapshot ? *snapshot : fresh;
  json items = json::array();
  for (std::size_t i = std::min(offset, total); i < end; ++i) items.push_back(all[i]);
  return {200, {{"kind", r.list_kind}, {"apiVersion", r.api_version(version)}, {"metadata", meta}, {"items", items}}};
}

Reply Store::get_scale(const ResourceInfo& r, const std::string& ns, const std::string& name) {
  std::lock_guard lock(impl_->mu);
  json* o = impl_->find_obj(r, ns, name);
  if (!o) return not_found(r, name);
  return {200, impl_->scale_of(r, *o)};
}

Reply Store::update_scale(const ResourceInfo& r, const std::string& ns, const std::string& name, const json& scale) {
  std::lock_guard lock(impl_->mu);
  return impl_->update_scale(r, ns, name, scale);
}

Reply Store::patch_scale(const ResourceInfo& r, const std::string& ns, const std::string& name, PatchType type,
                         const std::string& body) {
  std::lock_guard lock(impl_->mu);
  json* o = impl_->find_obj(r, ns, name);
  if (!o) return not_found(r, name);
  json scale = impl_->scale_of(r, *o);
  json p;
  try {
    p = json::parse(body);
  } catch (const std::exception& e) {
    return bad_request(std::string("error decoding patch: ") + e.what());
  }
  try {
    if (type == PatchType::Json) scale = scale.patch(p);
    else if (type == PatchType::Merge || type == PatchType::Strategic) {
      strip_directives(p);
      scale.merge_patch(p);
    } else {
      deep_merge(scale, p);
    }
  } catch (const std::exception& e) {
    return status_error(422, "Invalid", std::string("the JSON patch could not be applied: ") + e.what());
  }
  return impl_->update_scale(r, ns, name, scale);
}

std::variant<std::unique_ptr<Watch>, Reply> Store::watch(const ResourceInfo& r, const std::string& version,
                                                          const std::string& ns, WatchOptions options) {
  std::vector<LabelRequirement> lreq;
  std::vector<FieldRequirement> freq;
  std::string err;
  if (!parse_label_selector(options.label_selector, lreq, err)) return bad_request(err);
  if (!parse_field_selector(r, options.field_selector, freq, err)) return bad_request(err);
  auto w = std::make_unique<Watch>();
  w->store_ = this;
  w->info_ = r;
  w->version_ = version;
  w->ns_ = r.namespaced ? ns : "";
  w->options_ = options;
  std::string wns = w->ns_;
  w->match_ = [lreq, freq, wns](const json& o) {
    if (!wns.empty() && o["metadata"].value("namespace", "") != wns) return false;
    return labels_match(lreq, o["metadata"].value("labels", json::object())) && fields_match(freq, o);
  };
  std::lock_guard lock(impl_->mu);
  auto& im = *impl_;
  w->close_generation_ = im.close_generation;
  std::string rv = options.resource_version.value_or("");
  if (rv.empty() || rv == "0") {
    auto d = im.data.find(Impl::rkey(r));
    if (d != im.data.end())
      for (auto& [k, o] : d->second)
        if (w->match_(o)) w->pending_.push_back({{"type", "ADDED"}, {"object", im.present(r, version, o)}});
    w->cursor_ = im.rv;
    return w;
  }
  bool ok;
  std::uint64_t from = parse_rv(rv, ok);
  if (!ok) return bad_request("invalid resource version: \"" + rv + "\"");
  if (from < im.compacted_rv) {
    Reply g = gone("too old resource version: " + rv + " (" + std::to_string(im.compacted_rv + 1) + ")");
    w->pending_.push_back({{"type", "ERROR"}, {"object", g.body}});
    return w;
  }
  w->cursor_ = from;
  return w;
}

void Store::close_watches() {
  std::lock_guard lock(impl_->mu);
  ++impl_->close_generation;
  impl_->cv.notify_all();
}

}  // namespace ebb::testapi
