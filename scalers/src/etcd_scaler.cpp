// Trigger type etcd (keda-compat §6.12, KEDA pkg/scalers/etcd_scaler.go): the number stored
// under watchKey, read over etcd's v3 API through its JSON gateway (etcd/gateway.h; POST
// /v3/kv/range, /v3/auth/authenticate, /v3/watch) on the shared http::Clients, so no etcd client
// library is needed. A push scaler: watch() keeps a /v3/watch stream on the key open and every
// event makes the adapter poll the object at once.
//
// Deliberate differences from KEDA (docs/compatibility.md, "etcd"):
// - Nothing is contacted when the scaler is created. KEDA logs in at construction when
//   username and password are set (so an unreachable etcd or wrong credentials fail the
//   scaler's creation); Ebb logs in at the first poll and reports the same errors there.
// - Every parameter problem is reported, not only the first of KEDA's Validate rules. Endpoints
//   must be [http://|https://]host:port (KEDA's client also takes unix sockets).
// - Endpoints are tried in order within the 5 s of a poll; the one that answered is asked first
//   next time (clientv3 balances over all of them). A missing key, a value that is not a number
//   and refused credentials are not retried elsewhere.
// - The watch: a broken watch is opened again after 2 s, doubling up to 60 s, and the wait is
//   back to 2 s once a watch is established (KEDA never resets it). A watch that comes back
//   after a break makes the adapter poll once, since changes in the gap were not seen. KEDA's
//   watchdog (no answer for 2 × watchProgressNotifyInterval) is the stream's idle timeout. The
//   watch belongs to the scaler: when the adapter rebuilds it, the new one watches (KEDA's
//   push goroutine keeps the first scaler and dies with it after the first poll error).
// - Every watch event makes the adapter poll (which reads the value and decides); KEDA sends
//   value > activationValue per event and acts only on true.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "builtin.h"
#include "ebb/net/http_client.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/params.h"
#include "ebb/scalers/quantity.h"
#include "ebb/scalers/registry.h"
#include "ebb/strings.h"
#include "etcd/gateway.h"
#include "go_strconv.h"
#include "http/client.h"

namespace ebb::scalers {

namespace {

using namespace params;

constexpr std::chrono::seconds kPollBudget{5};  // KEDA: Get with a 5 s timeout
constexpr std::chrono::seconds kFirstBackoff{2};
constexpr std::chrono::seconds kMaxBackoff{60};

struct EtcdConfig {
  std::vector<std::string> endpoints;
  std::string watch_key;
  double value = 0;
  double activation_value = 0;
  std::int64_t watch_progress_notify_interval = 600;
  std::string username;
  std::string password;
  std::string tls;
  std::string cert;
  std::string key;
  std::string key_password;
  std::string ca;
};

const Table<EtcdConfig>& table() {
  static const Table<EtcdConfig> instance = [] {
    Table<EtcdConfig> t;
    t.add(&EtcdConfig::endpoints, "endpoints", {M});
    t.add(&EtcdConfig::watch_key, "watchKey", {M});
    t.add(&EtcdConfig::value, "value", {M});
    t.add(&EtcdConfig::activation_value, "activationValue", {M}, {.default_value = "0"});
    t.add(&EtcdConfig::watch_progress_notify_interval, "watchProgressNotifyInterval", {M},
          {.default_value = "600"});
    t.add(&EtcdConfig::username, "username", {A, E}, {.optional = true});
    t.add(&EtcdConfig::password, "password", {A, E}, {.optional = true, .secret = true});
    t.add(&EtcdConfig::tls, "tls", {A}, {.default_value = "disable"});
    t.add(&EtcdConfig::cert, "cert", {A}, {.optional = true});
    t.add(&EtcdConfig::key, "key", {A}, {.optional = true, .secret = true});
    t.add(&EtcdConfig::key_password, "keyPassword", {A}, {.optional = true, .secret = true});
    t.add(&EtcdConfig::ca, "ca", {A}, {.optional = true});
    return t;
  }();
  return instance;
}

// KEDA's etcdMetadata.Validate, all rules at once.
void validate(const TriggerContext& ctx, const EtcdConfig& c, FieldErrors& errors) {
  if (c.watch_progress_notify_interval <= 0)
    errors.push_back({path_of(ctx, "watchProgressNotifyInterval", {M}),
                      "watchProgressNotifyInterval must be greater than 0"});
  if (c.tls == "enable") {
    if (c.cert.empty() && !c.key.empty())
      errors.push_back({path_of(ctx, "cert", {A}), "cert must be provided with key"});
    if (c.key.empty() && !c.cert.empty())
      errors.push_back({path_of(ctx, "key", {A}), "key must be provided with cert"});
  } else if (c.tls != "disable") {
    errors.push_back({path_of(ctx, "tls", {A}), "incorrect value for TLS given: " + c.tls});
  }
  if (!c.password.empty() && c.username.empty())
    errors.push_back({path_of(ctx, "username", {A, E}), "username must be provided with password"});
  if (!c.username.empty() && c.password.empty())
    errors.push_back({path_of(ctx, "password", {A, E}), "password must be provided with username"});
}

struct Target {
  std::vector<std::string> urls;  // base URLs, in the configured order
  std::string key;
  etcd::Credentials credentials;
  net::TlsOptions tls;
  std::chrono::seconds watchdog{1200};
  std::string description;  // "etcd http://a:2379,http://b:2379"
};

class EtcdScaler final : public Scaler {
 public:
  EtcdScaler(std::shared_ptr<net::HttpClient> client, etcd::Tokens& tokens, Target target,
             double activation)
      : client_(std::move(client)),
        tokens_(tokens),
        target_(std::move(target)),
        activation_(activation) {}
  ~EtcdScaler() override { stop_watch(); }

  Result<PollResult> poll() override {
    auto text = read();
    if (!text) return unexpected(text.error());
    auto value = strconv_parse_float(*text);
    if (!value)
      return fail("error getting metric value: " + target_.description + ": " + value.error());
    return PollResult{*value, *value > activation_};
  }

  void watch(std::function<void()> changed) override {
    std::lock_guard lock(mutex_);
    if (thread_.joinable() || stopping_) return;
    thread_ = std::thread([this, changed = std::move(changed)] { run_watch(changed); });
  }

  void stop_watch() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      if (cancel_) cancel_->cancel();
    }
    wake_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  // The key's value as text, from the first endpoint that answers (starting with the one that
  // answered last time), within the poll's budget.
  Result<std::string> read() {
    const auto deadline = std::chrono::steady_clock::now() + kPollBudget;
    const std::size_t n = target_.urls.size();
    const std::size_t first = preferred_.load();
    std::vector<std::string> problems;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t index = (first + i) % n;
      const auto left =
          std::chrono::duration_cast<net::Timeout>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        problems.push_back(target_.urls[index] + ": not asked, the poll's " +
                           std::to_string(kPollBudget.count()) + " s were used up");
        continue;
      }
      auto value = etcd::read_key(*client_, tokens_, target_.urls[index], target_.credentials,
                                  target_.key, left);
      if (value) {
        preferred_ = index;
        if (!*value)
          return fail("error getting metric value: " + target_.urls[index] + ": watchKey " +
                          target_.key + " doesn't exist",
                      true);
        return std::move(**value);
      }
      problems.push_back(value.error().message);
      if (!value.error().transient) break;
    }
    return fail("error getting metric value: " + join(problems, "; "), true);
  }

  // One /v3/watch stream at a time; see the file comment for the backoff.
  void run_watch(const std::function<void()>& changed) {
    auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kFirstBackoff);
    bool broken_before = false;
    std::size_t index = preferred_.load();
    for (;;) {
      auto cancel = std::make_shared<net::HttpStreamCancel>();
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        cancel_ = cancel;
      }
      const bool established =
          watch_once(target_.urls[index % target_.urls.size()], cancel, changed, broken_before);
      {
        std::lock_guard lock(mutex_);
        cancel_.reset();
        if (stopping_) return;
      }
      broken_before = true;
      if (established) {
        backoff = kFirstBackoff;
      } else {
        ++index;  // the next endpoint for the next attempt
      }
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, backoff, [&] { return stopping_; })) return;
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);
    }
  }

  // Returns whether the watch was established (created) before it ended.
  bool watch_once(const std::string& url, const std::shared_ptr<net::HttpStreamCancel>& cancel,
                  const std::function<void()>& changed, bool catch_up) {
    net::HttpRequest request;
    request.method = "POST";
    request.url = url + "/v3/watch";
    request.headers = {{"Content-Type", "application/json"}, {"Grpc-Metadata-hasleader", "true"}};
    request.body = etcd::watch_body(target_.key);
    request.timeout = kPollBudget;
    if (target_.credentials.given()) {
      auto token = tokens_.get(*client_, url, target_.credentials.user,
                               target_.credentials.password, kPollBudget);
      if (!token) return false;
      if (*token) request.headers.emplace_back("Authorization", **token);
    }
    bool created = false, refused_login = false;
    etcd::JsonObjectSplitter splitter;
    net::HttpStreamHandlers handlers;
    handlers.cancel = cancel;
    handlers.on_head = [&](const net::HttpResponse& head) {
      return head.status >= 200 && head.status <= 299;
    };
    handlers.on_data = [&](std::string_view data) {
      return splitter.feed(data, [&](std::string_view text) {
        auto message = etcd::decode_watch_message(text);
        if (!message) return false;
        if (!message->error.empty()) {
          refused_login = message->error.find("invalid auth token") != std::string::npos ||
                          message->error.find("user name is empty") != std::string::npos;
          return false;
        }
        if (message->canceled) return false;
        if (message->created && !created) {
          created = true;
          if (catch_up) changed();
        }
        for (std::size_t i = 0; i < message->events; ++i) changed();
        return true;
      });
    };
    const auto idle = std::chrono::duration_cast<net::Timeout>(target_.watchdog);
    (void)client_->stream(request, idle, handlers);
    if (refused_login) tokens_.drop(url, target_.credentials.user, target_.credentials.password);
    return created;
  }

  std::shared_ptr<net::HttpClient> client_;
  etcd::Tokens& tokens_;
  const Target target_;
  const double activation_;
  std::atomic<std::size_t> preferred_{0};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::shared_ptr<net::HttpStreamCancel> cancel_;
  std::thread thread_;
};

class EtcdTrigger final : public TriggerConfig {
 public:
  EtcdTrigger(MetricSpec spec, Target target)
      : spec_(std::move(spec)), target_(std::move(target)) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override { return target_.description; }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    auto client = pools.get<http::Clients>().get(target_.tls);
    return std::unique_ptr<Scaler>(std::make_unique<EtcdScaler>(
        std::move(client), pools.get<etcd::Tokens>(), target_, spec_.activation_target));
  }

 private:
  MetricSpec spec_;
  Target target_;
};

ParseResult parse(const TriggerContext& ctx) {
  EtcdConfig c;
  FieldErrors errors = table().parse(ctx, c);
  if (!errors.empty()) return unexpected(std::move(errors));
  validate(ctx, c, errors);

  Target target;
  const bool tls = c.tls == "enable";
  for (std::size_t i = 0; i < c.endpoints.size(); ++i) {
    auto url = etcd::endpoint_url(c.endpoints[i], tls);
    if (!url)
      errors.push_back({path_of(ctx, "endpoints", {M}),
                        "endpoint " + std::to_string(i + 1) +
                            " must be host:port, http://host:port or https://host:port, "
                            "got " +
                            ebb::quoted(c.endpoints[i])});
    else
      target.urls.push_back(*url);
  }
  if (!errors.empty()) return unexpected(std::move(errors));

  target.key = c.watch_key;
  target.credentials = {c.username, c.password};
  if (tls) {
    target.tls.enabled = true;
    target.tls.ca_pem = c.ca;
    target.tls.cert_pem = c.cert;
    target.tls.key_pem = c.key;
    target.tls.key_password = c.key_password;
  }
  target.watchdog = std::chrono::seconds(2 * c.watch_progress_notify_interval);
  target.description = "etcd " + join(target.urls, ",");

  auto spec =
      external_metric(ctx, "etcd-" + c.watch_key, c.value, c.activation_value, TargetForm::Milli);
  return std::unique_ptr<TriggerConfig>(
      std::make_unique<EtcdTrigger>(std::move(spec), std::move(target)));
}

}  // namespace

void register_etcd_scaler(Registry& registry) {
  registry.add(ScalerDefinition{.types = {"etcd"},
                                .keda_name = "etcdScaler",
                                .summary = "the number stored under a key",
                                .push = true,
                                .parse = parse}
                   .with_table(table()));
}

}  // namespace ebb::scalers
