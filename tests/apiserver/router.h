// Maps HTTP requests onto the Store the way kube-apiserver lays out its URLs, serves discovery,
// and holds the test controls: fault injection and the request log. No Asio here: the HTTP
// layer (http_server.cpp) turns bytes into a Request and streams the Response.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "store.h"

namespace ebb::testapi {

struct Request {
  std::string method, target;  // target: path?query
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

struct Response {
  enum class Action { Respond, Hang, Drop };
  Action action = Action::Respond;
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds hang{0};
  // A watch: the HTTP layer streams its events as a chunked response until the timeout.
  std::unique_ptr<Watch> watch;
  std::chrono::steady_clock::time_point watch_deadline;
  bool drop_others_after = false;  // /_test/faults drop-connections
};

// A fault for the next `count` requests whose method and path match (ECMAScript regexes, searched;
// empty matches all).
struct Fault {
  enum class Kind { Error, Timeout, Drop };
  Kind kind = Kind::Error;
  int status = 500;                // Error: 500, 429 (with Retry-After), 503, ...
  int retry_after_seconds = 1;     // sent with 429 and 503
  std::chrono::milliseconds hang{std::chrono::seconds(30)};  // Timeout: silent this long, then close
  int count = 1;
  std::string method, path;
};

struct LoggedRequest {
  std::string method, path, query, content_type, body, user_agent;
  int code = 0;  // 0 when no response was sent (timeout or drop fault)
  json to_json() const;
};

struct RouterOptions {
  std::chrono::milliseconds bookmark_interval{std::chrono::seconds(1)};
  std::chrono::seconds default_watch_timeout{std::chrono::minutes(30)};
  std::string minor_version = "30";
  // SubjectAccessReview answers: spec in, allowed out. Default: allow everything.
  std::function<bool(const json& spec)> access_policy;
};

class Router {
 public:
  Router(Store& store, RouterOptions options = {});
  Response handle(const Request& request);

  void inject(Fault fault);
  void clear_faults();
  void pause(std::chrono::milliseconds duration);
  std::vector<LoggedRequest> request_log() const;
  void clear_request_log();
  const RouterOptions& options() const { return options_; }
  // Set by the owner so /_test/faults can end watches and connections.
  std::function<void()> on_close_watches;

 private:
  Response serve(const Request& request, const std::string& path,
                 const std::map<std::string, std::string>& query);
  Response control(const Request& request, const std::string& path);
  Response discovery(const std::string& path);

  Store& store_;
  RouterOptions options_;
  mutable std::mutex mu_;
  std::vector<Fault> faults_;
  std::chrono::steady_clock::time_point paused_until_{};
  std::vector<LoggedRequest> log_;
};

std::string url_decode(const std::string& s);
std::map<std::string, std::string> parse_query(const std::string& q);

}  // namespace ebb::testapi
