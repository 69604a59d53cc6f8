// Loading manifests for the `ebb` command and turning each ScaledObject trigger into the
// TriggerContext the scalers read, with auth params and `…FromEnv` values resolved from what the
// command has instead of a cluster: TriggerAuthentications, Secrets and ConfigMaps in the same
// files, `--secret NAME=FILE` files, EBB_SECRET_<NAME>_<KEY> variables, and the environment of
// the ebb process (standing in for the scale target's, or the job template's, container env).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ebb/api/auth.h"
#include "ebb/api/decode.h"
#include "ebb/scalers/scaler.h"

namespace ebb::cli {

struct ManifestDocument {
  std::string file;
  api::Document doc;
  // "FILE:DOC" as used in messages (DOC is the 0-based document index in the file).
  std::string location() const { return file + ":" + std::to_string(doc.index); }
};

struct Manifests {
  std::vector<ManifestDocument> documents;
  std::vector<std::string> load_errors;  // unreadable files, bad --secret arguments
};

// Reads and decodes every file ("-" is stdin).
Manifests load_manifests(const std::vector<std::string>& files);

struct SecretSources {
  // --secret NAME=FILE: FILE holds KEY=VALUE lines (blank lines and # comments ignored).
  std::map<std::string, api::StringMap> files;
  // Environment of this process; EBB_SECRET_<NAME>_<KEY> (upper-cased, non-alphanumerics as _)
  // supplies single values, and the whole map stands in for the target container's env.
  api::StringMap environment;
};
// Parses "--secret NAME=FILE" values. Errors name the argument, never file contents.
Result<std::map<std::string, api::StringMap>> read_secret_files(const std::vector<std::string>& args);
api::StringMap process_environment();
std::string secret_env_var(std::string_view secret, std::string_view key);

struct TriggerInput {
  scalers::TriggerContext context;
  // Inputs that could not be resolved offline (a TriggerAuthentication not in the files, a
  // secret value not provided, an unset FromEnv variable): the trigger's parameters are then
  // only partly known, so its parameter errors are reported as warnings by `validate`, and as
  // the trigger's error by `probe`.
  std::vector<std::string> missing;
};

// One entry per trigger of `so`, in order.
std::vector<TriggerInput> trigger_inputs(const api::ScaledObject& so, const Manifests& manifests,
                                         const SecretSources& secrets);
// One entry per trigger of `sj`, in order.
std::vector<TriggerInput> trigger_inputs(const api::ScaledJob& sj, const Manifests& manifests,
                                         const SecretSources& secrets);

}  // namespace ebb::cli
