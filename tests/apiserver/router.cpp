#include "router.h"

#include <sstream>
#include <thread>

namespace ebb::testapi {

namespace {

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

Response reply(const Reply& r) { return json_response(r.code, r.body); }

Response path_not_found() {
  return json_response(404, status_error(404, "NotFound", "the server could not find the requested resource",
                                         json::object())
                                .body);
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream ss(path);
  std::string seg;
  while (std::getline(ss, seg, '/'))
    if (!seg.empty()) out.push_back(url_decode(seg));
  return out;
}

bool truthy(const std::map<std::string, std::string>& q, const std::string& k) {
  auto it = q.find(k);
  return it != q.end() && (it->second == "1" || it->second == "true");
}

std::string qv(const std::map<std::string, std::string>& q, const std::string& k) {
  auto it = q.find(k);
  return it == q.end() ? "" : it->second;
}

}  // namespace

std::string url_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') out += ' ';
    else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
             std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(const std::string& q) {
  std::map<std::string, std::string> out;
  std::stringstream ss(q);
  std::string kv;
  while (std::getline(ss, kv, '&')) {
    if (kv.empty()) continue;
    auto eq = kv.find('=');
    if (eq == std::string::npos) out[url_decode(kv)] = "";
    else out[url_decode(kv.substr(0, eq))] = url_decode(kv.substr(eq + 1));
  }
  return out;
}

json LoggedRequest::to_json() const {
  return {{"method", method}, {"path", path}, {"query", query}, {"contentType", content_type},
          {"body", body}, {"userAgent", user_agent}, {"code", code}};
}

Router::Router(Store& store, RouterOptions options) : store_(store), options_(std::move(options)) {}

void Router::inject(Fault fault) {
  std::lock_guard lock(mu_);
  faults_.push_back(std::move(fault));
}

void Router::clear_faults() {
  std::lock_guard lock(mu_);
  faults_.clear();
  paused_until_ = {};
}

void Router::pause(std::chrono::milliseconds duration) {
  std::lock_guard lock(mu_);
  paused_until_ = std::chrono::steady_clock::now() + duration;
}

std::vector<LoggedRequest> Router::request_log() const {
  std::lock_guard lock(mu_);
  return log_;
}

void Router::clear_request_log() {
  std::lock_guard lock(mu_);
  log_.clear();
}

Response Router::handle(const Request& request) {
  std::string path = request.target, query;
  if (auto q = path.find('?'); q != std::string::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  if (path.rfind("/_test/", 0) == 0) return control(request, path);

  LoggedRequest entry{request.method, path, query, request.header("content-type"), request.body,
                      request.header("user-agent")};
  std::optional<Fault> fault;
  std::chrono::steady_clock::time_point pause_until;
  {
    std::lock_guard lock(mu_);
    pause_until = paused_until_;
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (!it->method.empty() && !std::regex_search(request.method, std::regex(it->method))) continue;
      if (!it->path.empty() && !std::regex_search(path, std::regex(it->path))) continue;
      fault = *it;
      if (--it->count <= 0) faults_.erase(it);
      break;
    }
  }
  if (pause_until > std::chrono::steady_clock::now()) std::this_thread::sleep_until(pause_until);
  Response resp;
  if (fault) {
    if (fault->kind == Fault::Kind::Timeout) {
      resp.action = Response::Action::Hang;
      resp.hang = fault->hang;
      entry.code = 0;
    } else if (fault->kind == Fault::Kind::Drop) {
      resp.action = Response::Action::Drop;
      entry.code = 0;
    } else {
      std::string reason = fault->status == 429   ? "TooManyRequests"
                           : fault->status == 503 ? "ServiceUnavailable"
                           : fault->status == 504 ? "Timeout"
                                                  : "InternalError";
      json details = json::object();
      if (fault->status == 429 || fault->status == 503) details["retryAfterSeconds"] = fault->retry_after_seconds;
      resp = json_response(fault->status,
                           status_error(fault->status, reason, "injected fault: " + reason, details).body);
      if (fault->status == 429 || fault->status == 503)
        resp.headers.push_back({"Retry-After", std::to_string(fault->retry_after_seconds)});
      entry.code = fault->status;
    }
  } else {
    try {
      resp = serve(request, path, parse_query(query));
    } catch (const std::exception& e) {
      resp = json_response(500, status_error(500, "InternalError", std::string("internal error: ") + e.what()).body);
    }
    entry.code = resp.status;
  }
  std::lock_guard lock(mu_);
  log_.push_back(std::move(entry));
  return resp;
}

Response Router::control(const Request& request, const std::string& path) {
  if (path == "/_test/requests") {
    if (request.method == "DELETE") {
      clear_request_log();
      return json_response(200, json::object());
    }
    json arr = json::array();
    for (auto& e : request_log()) arr.push_back(e.to_json());
    return json_response(200, arr);
  }
  if (path == "/_test/faults") {
    if (request.method == "DELETE") {
      clear_faults();
      return json_response(200, json::object());
    }
    if (request.method == "GET") {
      std::lock_guard lock(mu_);
      return json_response(200, {{"pending", faults_.size()}});
    }
    json spec;
    try {
      spec = json::parse(request.body);
    } catch (const std::exception& e) {
      return reply(bad_request(std::string("invalid fault: ") + e.what()));
    }
    std::string type = spec.value("type", "error");
    if (type == "close-watches") {
      if (on_close_watches) on_close_watches();
      return json_response(200, json::object());
    }
    if (type == "drop-connections") {
      Response r = json_response(200, json::object());
      r.drop_others_after = true;
      return r;
    }
    if (type == "pause") {
      pause(std::chrono::milliseconds(spec.value("durationMs", 1000)));
      return json_response(200, json::object());
    }
    Fault f;
    if (type == "error") f.kind = Fault::Kind::Error;
    else if (type == "timeout") f.kind = Fault::Kind::Timeout;
    else if (type == "drop") f.kind = Fault::Kind::Drop;
    else return reply(bad_request("unknown fault type \"" + type + "\""));
    f.status = spec.value("code", 500);
    f.count = spec.value("count", 1);
    f.retry_after_seconds = spec.value("retryAfterSeconds", 1);
    f.hang = std::chrono::milliseconds(spec.value("hangMs", 30000));
    f.method = spec.value("method", "");
    f.path = spec.value("path", "");
    try {
      std::regex check1(f.method), check2(f.path);
    } catch (const std::exception&) {
      return reply(bad_request("invalid regex in fault"));
    }
    inject(f);
    return json_response(200, json::object());
  }
  return path_not_found();
}

Response Router::discovery(const std::string& path) {
  auto resources = store_.resources();
  if (path == "/version") {
    return json_response(200, {{"major", "1"}, {"minor", options_.minor_version},
                               {"gitVersion", "v1." + options_.minor_version + ".0"},
                               {"gitCommit", "ebb-test-apiserver"}, {"gitTreeState", "clean"},
                               {"buildDate", "2024-01-01T00:00:00Z"}, {"goVersion", "go1.22.0"},
                               {"compiler", "gc"}, {"platform", "linux/amd64"}});
  }
  if (path == "/api") {
    return json_response(200, {{"kind", "APIVersions"}, {"versions", {"v1"}},
                               {"serverAddressByClientCIDRs",
                                json::array({{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", "127.0.0.1"}}})}});
  }
  // group -> versions (preferred first)
  std::map<std::string, std::vector<std::string>> groups;
  for (auto& r : resources) {
    if (r.group.empty()) continue;
    auto& vs = groups[r.group];
    for (auto& v : r.versions)
      if (std::find(vs.begin(), vs.end(), v) == vs.end()) vs.push_back(v);
  }
  auto group_json = [&](const std::string& g) {
    json versions = json::array();
    for (auto& v : groups[g]) versions.push_back({{"groupVersion", g + "/" + v}, {"version", v}});
    return json{{"name", g}, {"versions", versions}, {"preferredVersion", versions[0]}};
  };
  if (path == "/apis") {
    json list = json::array();
    for (auto& [g, vs] : groups) list.push_back(group_json(g));
    return json_response(200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}});
  }
  auto segs = split_path(path);
  if (segs.size() == 2 && segs[0] == "apis") {
    if (!groups.count(segs[1])) return path_not_found();
    json g = group_json(segs[1]);
    g["kind"] = "APIGroup";
    g["apiVersion"] = "v1";
    return json_response(200, g);
  }
  std::string group, version;
  if (segs.size() == 2 && segs[0] == "api") version = segs[1];
  else if (segs.size() == 3 && segs[0] == "apis") group = segs[1], version = segs[2];
  else return path_not_found();
  json list = json::array();
  bool any = false;
  for (auto& r : resources) {
    if (r.group != group || std::find(r.versions.begin(), r.versions.end(), version) == r.versions.end()) continue;
    any = true;
    json e = {{"name", r.plural}, {"singularName", r.singular}, {"namespaced", r.namespaced},
              {"kind", r.kind}, {"verbs", r.verbs}};
    if (!r.short_names.empty()) e["shortNames"] = r.short_names;
    if (!r.categories.empty()) e["categories"] = r.categories;
    list.push_back(e);
    if (r.has_scale)
      list.push_back({{"name", r.plural + "/scale"}, {"singularName", ""}, {"namespaced", r.namespaced},
                      {"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"},
                      {"verbs", {"get", "patch", "update"}}});
    if (r.has_status)
      list.push_back({{"name", r.plural + "/status"}, {"singularName", ""}, {"namespaced", r.namespaced},
                      {"kind", r.kind}, {"verbs", {"get", "patch", "update"}}});
  }
  if (!any) return path_not_found();
  return json_response(200, {{"kind", "APIResourceList"}, {"apiVersion", "v1"},
                             {"groupVersion", group.empty() ? version : group + "/" + version},
                             {"resources", list}});
}

Response Router::serve(const Request& request, const std::string& path,
                       const std::map<std::string, std::string>& query) {
  if (path == "/healthz" || path == "/readyz" || path == "/livez") {
    Response r;
    r.content_type = "text/plain";
    r.body = "ok";
    return r;
  }
  auto segs = split_path(path);
  // Resource URLs: /api/v1/... and /apis/<group>/<version>/...
  std::size_t base;
  std::string group, version;
  if (segs.size() >= 3 && segs[0] == "api") base = 2, version = segs[1];
  else if (segs.size() >= 4 && segs[0] == "apis") base = 3, group = segs[1], version = segs[2];
  else if (request.method == "GET") return discovery(path);
  else return path_not_found();

  std::vector<std::string> rest(segs.begin() + static_cast<std::ptrdiff_t>(base), segs.end());
  bool watch = truthy(query, "watch");
  if (!rest.empty() && rest[0] == "watch") {  // the deprecated /watch/ prefix
    watch = true;
    rest.erase(rest.begin());
  }
  std::string ns;
  if (rest.size() >= 3 && rest[0] == "namespaces" && rest[2] != "status" && rest[2] != "finalize") {
    ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 3) return path_not_found();
  auto info = store_.find(group, version, rest[0]);
  if (!info) return path_not_found();
  const ResourceInfo& r = *info;
  if (!r.namespaced && !ns.empty()) return path_not_found();
  std::string name = rest.size() >= 2 ? rest[1] : "";
  std::string sub = rest.size() == 3 ? rest[2] : "";
  if (!sub.empty() && !((sub == "status" && r.has_status) || (sub == "scale" && r.has_scale))) return path_not_found();
  if (r.namespaced && !name.empty() && ns.empty()) return path_not_found();
  const std::string& m = request.method;
  auto parse_body = [&](json& out) -> std::optional<Response> {
    try {
      out = json::parse(request.body);
      return std::nullopt;
    } catch (const std::exception& e) {
      return reply(bad_request(std::string("the body of the request could not be decoded: ") + e.what()));
    }
  };
  auto not_allowed = [&]() {
    return json_response(405, status_error(405, "MethodNotAllowed",
                                           "the server does not allow this method on the requested resource",
                                           json::object())
                                  .body);
  };

  // SubjectAccessReview: answered from the policy, never stored.
  if (r.group == "authorization.k8s.io" && r.plural == "subjectaccessreviews") {
    if (m != "POST" || !name.empty()) return not_allowed();
    json body;
    if (auto e = parse_body(body)) return std::move(*e);
    json spec = body.value("spec", json::object());
    bool allowed = options_.access_policy ? options_.access_policy(spec) : true;
    body["apiVersion"] = "authorization.k8s.io/v1";
    body["kind"] = "SubjectAccessReview";
    if (!body.contains("metadata")) body["metadata"] = json::object();
    body["status"] = {{"allowed", allowed}};
    if (!allowed) body["status"]["reason"] = "denied by the test policy";
    return json_response(201, body);
  }

  if (name.empty()) {
    if (m == "GET" && watch) {
      WatchOptions wo;
      wo.label_selector = qv(query, "labelSelector");
      wo.field_selector = qv(query, "fieldSelector");
      if (query.count("resourceVersion")) wo.resource_version = qv(query, "resourceVersion");
      wo.bookmarks = truthy(query, "allowWatchBookmarks");
      auto w = store_.watch(r, version, ns, wo);
      if (auto* err = std::get_if<Reply>(&w)) return reply(*err);
      Response resp;
      resp.watch = std::move(std::get<std::unique_ptr<Watch>>(w));
      auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.default_watch_timeout);
      if (query.count("timeoutSeconds")) {
        try {
          timeout = std::chrono::seconds(std::stoll(qv(query, "timeoutSeconds")));
        } catch (...) {
          return reply(bad_request("invalid timeoutSeconds"));
        }
      }
      resp.watch_deadline = std::chrono::steady_clock::now() + timeout;
      return resp;
    }
    if (m == "GET") {
      ListOptions lo;
      lo.label_selector = qv(query, "labelSelector");
      lo.field_selector = qv(query, "fieldSelector");
      lo.continue_token = qv(query, "continue");
      if (query.count("limit")) {
        try {
          lo.limit = std::stoll(qv(query, "limit"));
        } catch (...) {
          return reply(bad_request("invalid limit"));
        }
      }
      return reply(store_.list(r, version, ns, lo));
    }
    if (m == "POST") {
      if (r.namespaced && ns.empty()) return path_not_found();
      json body;
      if (auto e = parse_body(body)) return std::move(*e);
      return reply(store_.create(r, version, ns, body));
    }
    if (m == "DELETE") {  // deletecollection
      ListOptions lo;
      lo.label_selector = qv(query, "labelSelector");
      lo.field_selector = qv(query, "fieldSelector");
      Reply l = store_.list(r, version, ns, lo);
      if (!l.ok()) return reply(l);
      json deleted = json::array();
      for (auto& item : l.body["items"]) {
        Reply d = store_.remove(r, version, item["metadata"].value("namespace", ""), item["metadata"]["name"], nullptr);
        if (d.ok()) deleted.push_back(item);
      }
      l.body["items"] = deleted;
      return reply(l);
    }
    return not_allowed();
  }

  if (sub == "scale") {
    if (m == "GET") return reply(store_.get_scale(r, ns, name));
    if (m == "PUT") {
      json body;
      if (auto e = parse_body(body)) return std::move(*e);
      return reply(store_.update_scale(r, ns, name, body));
    }
    if (m == "PATCH") {
      auto pt = patch_type_from_content_type(request.header("content-type"));
      if (!pt || *pt == PatchType::Apply) {
        return json_response(415, status_error(415, "UnsupportedMediaType",
                                               "the body of the request was in an unknown format - accepted media "
                                               "types include: application/json-patch+json, "
                                               "application/merge-patch+json, application/strategic-merge-patch+json")
                                      .body);
      }
      return reply(store_.patch_scale(r, ns, name, *pt, request.body));
    }
    return not_allowed();
  }
  Sub s = sub == "status" ? Sub::Status : Sub::Main;
  if (m == "GET") return reply(store_.get(r, version, ns, name));
  if (m == "PUT") {
    json body;
    if (auto e = parse_body(body)) return std::move(*e);
    return reply(store_.update(r, version, ns, name, body, s));
  }
  if (m == "PATCH") {
    auto pt = patch_type_from_content_type(request.header("content-type"));
    if (!pt)
      return json_response(415, status_error(415, "UnsupportedMediaType",
                                             "the body of the request was in an unknown format - accepted media types "
                                             "include: application/json-patch+json, application/merge-patch+json, "
                                             "application/apply-patch+yaml, application/strategic-merge-patch+json")
                                    .body);
    return reply(store_.patch(r, version, ns, name, *pt, request.body, s, qv(query, "fieldManager"),
                              truthy(query, "force")));
  }
  if (m == "DELETE" && s == Sub::Main) {
    json opts = nullptr;
    if (!request.body.empty())
      if (auto e = parse_body(opts)) return std::move(*e);
    return reply(store_.remove(r, version, ns, name, opts));
  }
  return not_allowed();
}

}  // namespace ebb::testapi
