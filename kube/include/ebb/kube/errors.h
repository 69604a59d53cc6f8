// Errors from the Kubernetes API as values: the HTTP status plus the Status object's reason
// and message, so callers can tell NotFound from Conflict from AlreadyExists from Invalid.
#pragma once

#include <string>
#include <string_view>

#include "ebb/result.h"

namespace ebb::kube {

struct ApiError {
  int code = 0;          // HTTP status; 0 when no response arrived (connect, TLS, timeout)
  std::string reason;    // Status.reason: NotFound, AlreadyExists, Conflict, Invalid, Gone, Expired, ...
  std::string message;   // names the request ("GET /api/v1/..."), never a credential
  bool transient = false;  // worth retrying later unchanged

  bool not_found() const { return code == 404; }
  bool already_exists() const { return code == 409 && reason == "AlreadyExists"; }
  // A write lost an optimistic-concurrency race (stale resourceVersion or failed precondition).
  bool conflict() const { return code == 409 && reason != "AlreadyExists"; }
  // The requested resourceVersion is older than the server keeps: relist.
  bool gone() const { return code == 410 || reason == "Expired" || reason == "Gone"; }
  // The requested resourceVersion is newer than the server has: 504 Timeout, "Too large
  // resource version: N, current: M" (every server version says it in the message). The server
  // went back in time (etcd restored) or its cache lags; only a list without resourceVersion helps.
  bool too_large_resource_version() const {
    return code == 504 && message.find("Too large resource version") != std::string::npos;
  }
  bool invalid() const { return code == 422; }
  bool too_many_requests() const { return code == 429; }
  bool unauthorized() const { return code == 401; }
  bool forbidden() const { return code == 403; }
  bool transport() const { return code == 0; }

  Error to_error() const { return Error{message, transient}; }
};

template <class T>
using ApiResult = Result<T, ApiError>;

inline Unexpected<ApiError> api_fail(int code, std::string reason, std::string message, bool transient = false) {
  return {ApiError{code, std::move(reason), std::move(message), transient}};
}

// Builds the ApiError for a non-2xx response: decodes a Status body when there is one, else
// uses the status code's standard reason. `what` prefixes the message ("GET /api/v1/pods").
ApiError error_from_response(std::string_view what, int code, std::string_view body);

}  // namespace ebb::kube
