#include "ebb/kube/errors.h"

#include <nlohmann/json.hpp>

namespace ebb::kube {
namespace {

std::string_view default_reason(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return code >= 500 ? "InternalError" : "Unknown";
  }
}

}  // namespace

ApiError error_from_response(std::string_view what, int code, std::string_view body) {
  ApiError error;
  error.code = code;
  error.transient = code == 429 || code >= 500;
  std::string message;
  const auto status = nlohmann::json::parse(body, nullptr, false);
  if (status.is_object() && status.value("kind", "") == "Status") {
    error.reason = status.value("reason", "");
    message = status.value("message", "");
    // A Status may carry its own code (e.g. inside a watch ERROR event with HTTP 200).
    if (const auto c = status.find("code"); c != status.end() && c->is_number_integer() && code == 200) {
      error.code = c->get<int>();
    }
  }
  if (error.reason.empty()) error.reason = std::string(default_reason(error.code));
  if (message.empty()) {
    // Not a Status (a proxy's HTML page, say): a short prefix helps without flooding logs.
    message = std::string(body.substr(0, 200));
    if (message.find_first_not_of(" \r\n\t") == std::string::npos) message.clear();
  }
  error.message = std::string(what) + ": " + std::to_string(error.code) + " " + error.reason +
                  (message.empty() ? "" : ": " + message);
  return error;
}

}  // namespace ebb::kube
