// etcd's v3 API through its JSON gRPC gateway (etcd 3.4 and later serve it on the client URLs):
// what the etcd trigger sends and how it reads the answers. Pure, except Tokens and the two
// request helpers at the end, which run over a shared net::HttpClient.
//
// Gateway conventions: every call is a POST of a JSON body to /v3/<service>/<method>; bytes are
// base64 (standard alphabet, padded); int64 values are JSON strings; default values are left
// out. Errors come back with a non-2xx status and {"error": "...", "message": "...", "code": N}.
// An authenticated call carries the token from /v3/auth/authenticate as a raw `Authorization`
// header (no "Bearer"), which the gateway hands to etcd as the gRPC `authorization` metadata.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ebb/net/http_client.h"
#include "ebb/result.h"

namespace ebb::scalers::etcd {

// One configured endpoint as a base URL: "host:port" gets https:// with tls, http:// without;
// an explicit http:// or https:// is kept (clientv3 does the same). Nullopt for anything that is
// not [scheme://]host:port (unix sockets, paths, blanks, no port).
std::optional<std::string> endpoint_url(std::string_view endpoint, bool tls);

std::string range_body(std::string_view key);
std::string watch_body(std::string_view key);
std::string authenticate_body(std::string_view user, std::string_view password);

// The message of a gateway error answer: its "message" (or "error") member, else the status
// and the start of the body.
std::string gateway_error(int status, std::string_view body);

// /v3/kv/range answer: the first value, nullopt when the key does not exist.
Result<std::optional<std::string>> decode_range(std::string_view body);

// One message of a /v3/watch stream.
struct WatchMessage {
  std::string error;      // a gateway error in the stream ({"error": {...}}); else empty
  bool created = false;   // the watch exists now
  bool canceled = false;  // the server ended the watch (compaction, permission, ...)
  std::string cancel_reason;
  std::int64_t compact_revision = 0;
  std::size_t events = 0;  // PUT and DELETE events in this message
};
Result<WatchMessage> decode_watch_message(std::string_view text);

// Splits a stream of concatenated JSON objects (the gateway separates them with newlines, but
// pieces arrive in any sizes) into whole objects.
class JsonObjectSplitter {
 public:
  // Calls `on_object` for every object completed by `data`; stops early (returning false) when
  // it returns false. Bytes outside objects (newlines) are skipped.
  bool feed(std::string_view data, const std::function<bool(std::string_view)>& on_object);

 private:
  std::string pending_;
  int depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
};

// Auth tokens of etcd's simple/JWT token auth, shared by every trigger that logs in to the same
// endpoint as the same user (pools.get<etcd::Tokens>()). Tokens expire (simple tokens after 5
// minutes idle by default): a call that is refused with "invalid auth token" drops it and logs
// in again.
class Tokens {
 public:
  // The token to send, or nullopt when the server does not have auth enabled. Logs in when none
  // is cached. Errors name the endpoint, never the password.
  Result<std::optional<std::string>> get(net::HttpClient& client, const std::string& endpoint,
                                         const std::string& user, const std::string& password,
                                         net::Timeout timeout);
  void drop(const std::string& endpoint, const std::string& user, const std::string& password);

 private:
  static std::string key(const std::string& endpoint, const std::string& user,
                         const std::string& password);
  std::mutex mutex_;
  std::map<std::string, std::optional<std::string>> tokens_;
};

struct Credentials {
  std::string user, password;  // both empty: no auth
  bool given() const { return !user.empty() && !password.empty(); }
};

// Outcome of one request to one endpoint: the error says whether another endpoint may do better
// (`transient`: unreachable, timed out, no leader, a 5xx) or not (the key is missing, refused
// credentials).
Result<std::optional<std::string>> read_key(net::HttpClient& client, Tokens& tokens,
                                            const std::string& endpoint,
                                            const Credentials& credentials, const std::string& key,
                                            net::Timeout timeout);

}  // namespace ebb::scalers::etcd
