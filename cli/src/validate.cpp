#include <ostream>
#include <set>

#include "commands.h"
#include "ebb/api/validate.h"
#include "ebb/scalers/registry.h"
#include "ebb/scalers/scaled_object.h"

namespace ebb::cli {
namespace {

// Prints findings once each: the same finding can come from two layers (e.g. a trigger's
// metricType from api::validate and from the scaler's own parse).
class Reporter {
 public:
  explicit Reporter(std::ostream& os) : os_(os) {}
  void operator()(const ManifestDocument& m, const FieldError& e, bool warning) {
    auto line = m.location() + ": " + (warning ? "warning: " : "") + e.str();
    if (printed_.insert(line).second) os_ << line << "\n";
  }

 private:
  std::ostream& os_;
  std::set<std::string> printed_;
};

// Scaler parameter checks for every supported trigger; returns the number of errors printed.
template <class Object>
int check_triggers(const ManifestDocument& m, const Object& so, const Manifests& manifests,
                   const SecretSources& secrets, Reporter& print, std::vector<std::string>& metric_names) {
  const auto& registry = scalers::Registry::builtin();
  int errors = 0;
  for (const auto& input : trigger_inputs(so, manifests, secrets)) {
    const auto& ctx = input.context;
    const auto* def = registry.find(ctx.type);
    if (!def) continue;  // reported by api::validate as unknown or unsupported
    const std::string prefix = "spec.triggers[" + std::to_string(ctx.index) + "]";
    const bool complete = input.missing.empty();
    for (const auto& missing : input.missing)
      print(m, {prefix, missing + "; its parameters are only partly checked"}, true);
    if (def->warnings)
      for (const auto& w : prefixed(prefix, def->warnings(ctx))) print(m, w, true);
    auto parsed = registry.parse(ctx);
    if (parsed) {
      metric_names.push_back(parsed.value()->metric_spec().name);
      continue;
    }
    for (const auto& e : prefixed(prefix, parsed.error())) {
      if (complete && e.path == prefix + ".metricType") continue;  // api::validate reports it
      print(m, e, !complete);
      if (complete) ++errors;
    }
  }
  return errors;
}

}  // namespace

int run_validate(const std::vector<std::string>& files, const SecretSources& secrets,
                 std::ostream& out, std::ostream& err) {
  const auto manifests = load_manifests(files);
  int invalid = 0;
  for (const auto& e : manifests.load_errors) {
    err << e << "\n";
    ++invalid;
  }
  Reporter print(err);
  const auto options = scalers::validation_options();
  for (const auto& m : manifests.documents) {
    for (const auto& w : m.doc.warnings) print(m, w, true);
    int errors = 0;
    for (const auto& e : m.doc.errors) {
      print(m, e, false);
      ++errors;
    }
    std::vector<std::string> metric_names;
    if (const auto* so = m.doc.scaled_object()) {
      const auto result = api::validate(*so, options);
      for (const auto& w : result.warnings) print(m, w, true);
      for (const auto& e : result.errors) print(m, e, false);
      errors += static_cast<int>(result.errors.size());
      errors += check_triggers(m, *so, manifests, secrets, print, metric_names);
    } else if (const auto* sj = m.doc.scaled_job()) {
      const auto result = api::validate(*sj, options);
      for (const auto& w : result.warnings) print(m, w, true);
      for (const auto& e : result.errors) print(m, e, false);
      errors += static_cast<int>(result.errors.size());
      errors += check_triggers(m, *sj, manifests, secrets, print, metric_names);
    } else if (const auto* ta = m.doc.trigger_authentication()) {
      const auto result = api::validate(*ta);
      for (const auto& w : result.warnings) print(m, w, true);
      for (const auto& e : result.errors) print(m, e, false);
      errors += static_cast<int>(result.errors.size());
    } else if (m.doc.ok()) {
      continue;  // Secrets, ConfigMaps and other kinds are inputs, not checked
    }
    if (errors) {
      ++invalid;
      continue;
    }
    out << m.location() << ": " << m.doc.kind << " "
        << (m.doc.namespace_.empty() ? "" : m.doc.namespace_ + "/") << m.doc.name << " is valid";
    if (!metric_names.empty()) {
      out << " (metrics:";
      for (const auto& n : metric_names) out << " " << n;
      out << ")";
    }
    out << "\n";
  }
  return invalid ? 1 : 0;
}

}  // namespace ebb::cli
