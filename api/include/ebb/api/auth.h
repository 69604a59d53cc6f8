// Turning a (Cluster)TriggerAuthentication into the auth params a scaler reads (keda-compat
// §1.2.1), from sources the caller has already fetched. Pure: the operator, the adapter and
// `ebb validate` (which takes Secrets from the manifest files) share it.
//
// Resolved here: env, configMapTargetRef, secretTargetRef and oauth2, in KEDA's order, later
// members overwriting earlier ones with the same parameter. Members that need a service
// (filePath, vaults, cloud secret managers, bound service account tokens, podIdentity) are
// listed by unresolved_auth_members() and left to their callers.
//
// Unlike KEDA, which silently uses "" for a missing Secret, key or variable, every missing
// source is an error: an empty credential would only fail later and less clearly. Error
// messages name the Secret and key, never a value.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ebb/api/objects.h"
#include "ebb/result.h"

namespace ebb::api {

using StringMap = std::map<std::string, std::string>;

struct ContainerEnv {
  std::string name;
  StringMap env;  // resolved environment: NAME -> value
};

struct AuthSources {
  std::map<std::string, StringMap> secrets;      // Secret name -> key -> decoded value
  std::map<std::string, StringMap> config_maps;  // ConfigMap name -> key -> value
  std::vector<ContainerEnv> containers;          // the scale target's containers, in pod order
};

// Auth params, or every problem found (paths like "spec.secretTargetRef[0].key").
Result<StringMap, FieldErrors> resolve_auth_params(const TriggerAuthenticationSpec& spec,
                                                   const AuthSources& sources);

// JSON member names of the spec that resolve_auth_params() does not resolve ("hashiCorpVault").
std::vector<std::string> unresolved_auth_members(const TriggerAuthenticationSpec& spec);

// A core/v1 Secret's keys and decoded values: base64 `data`, overlaid by `stringData` (as the
// API server merges them).
Result<StringMap, FieldErrors> secret_data(const nlohmann::json& secret);
// A core/v1 ConfigMap's `data` (binaryData is ignored: KEDA reads `data` only).
Result<StringMap, FieldErrors> config_map_data(const nlohmann::json& config_map);

}  // namespace ebb::api
