// Trigger types external and external-push (keda-compat §6.16, KEDA
// pkg/scalers/external_scaler.go): a scaler of the user's own, over gRPC with KEDA's
// externalscaler.proto (external/README.md). The gRPC side is external::Channels
// (external/client.h), implemented in scalers/clients/external/.
//
// A poll is what KEDA does per metric query: GetMetricSpec, then GetMetrics for each spec (with
// the metric name KEDA would send: "s<i>-<name>" with the index removed again), then IsActive,
// whose answer is the trigger's activity (no activation threshold, as in KEDA). external-push
// also keeps StreamIsActive open (watch()): every `true` it sends makes the adapter poll the
// object at once, so 0 -> 1 does not wait for the polling interval.
//
// Deliberate differences from KEDA (docs/compatibility.md, "external, external-push"):
// - The HPA metric. KEDA names the HPA's metrics after what GetMetricSpec returns
//   ("s0-<metricName>", target targetSize). Ebb's operator derives the HPA from the pure step
//   and never talks gRPC (it links no client library), so it cannot know those names. Each
//   external trigger therefore has one metric, "s<i>-external" / "s<i>-external-push", with the
//   target 100, and the value served is the load in percent of the targets:
//   100 × max over the specs of (sum of the values / target). The HPA's replica count is the
//   same as with KEDA's per-spec metrics (ceil is monotonic, and the HPA takes the maximum over
//   metrics), but the value shown and used in scalingModifiers formulas is that percentage.
// - Errors are never 0: no spec ("got empty metric spec", as KEDA's cache says), a target <= 0
//   (which the HPA API rejects), a metric without values, or any failed call is a poll error.
// - Every call has a deadline: the three calls of a poll share kPollBudget. KEDA sets none.
// - A client certificate without its key (or a key without certificate) is ignored as in KEDA,
//   and unsafeSsl alone leaves the connection in plaintext as in KEDA (so existing setups keep
//   working), but both draw a warning.
// - Metadata keys are not checked against the parameter table: every key is forwarded to the
//   external scaler, so none is unknown.
// - StreamIsActive: the backoff between attempts (2 s doubling to 60 s, as KEDA) is also reset
//   when a stream delivered an answer before it broke (KEDA resets only after a clean end), and
//   a stream is reopened after kStreamLifetime so a peer that vanished silently is noticed.
//   StreamMetricSpec (unreleased in KEDA) is not used: every poll asks GetMetricSpec, so a new
//   target counts from the next poll.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "builtin.h"
#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/params.h"
#include "ebb/scalers/quantity.h"
#include "ebb/scalers/registry.h"
#include "external/client.h"
#include "external/metrics.h"

namespace ebb::scalers {

namespace {

using namespace params;
using external::Channel;
using external::Channels;
using external::ChannelSettings;
using external::ScaledObjectRef;

constexpr std::chrono::seconds kPollBudget{5};
constexpr std::chrono::minutes kStreamLifetime{10};
constexpr std::chrono::seconds kFirstBackoff{2};
constexpr std::chrono::seconds kMaxBackoff{60};

struct ExternalConfig {
  std::string scaler_address;
  bool enable_tls = false;
  bool unsafe_ssl = false;
  std::string ca_cert;
  std::string tls_client_cert;
  std::string tls_client_key;
};

const Table<ExternalConfig>& table() {
  static const Table<ExternalConfig> instance = [] {
    Table<ExternalConfig> t;
    t.add(&ExternalConfig::scaler_address, "scalerAddress", {M});
    t.add(&ExternalConfig::enable_tls, "enableTLS", {M}, {.optional = true});
    t.add(&ExternalConfig::unsafe_ssl, "unsafeSsl", {M}, {.optional = true});
    t.add(&ExternalConfig::ca_cert, "caCert", {A}, {.optional = true});
    t.add(&ExternalConfig::tls_client_cert, "tlsClientCert", {A}, {.optional = true});
    t.add(&ExternalConfig::tls_client_key, "tlsClientKey", {A}, {.optional = true, .secret = true});
    return t;
  }();
  return instance;
}

ChannelSettings channel_settings(const ExternalConfig& c) {
  ChannelSettings s;
  s.address = c.scaler_address;
  s.tls = external::use_tls(c.enable_tls, c.ca_cert, c.tls_client_cert, c.tls_client_key);
  s.unsafe_ssl = c.unsafe_ssl;
  s.ca_pem = c.ca_cert;
  s.cert_pem = c.tls_client_cert;
  s.key_pem = c.tls_client_key;
  return s;
}

class ExternalScaler : public Scaler {
 public:
  ExternalScaler(Channels& channels, ChannelSettings settings, ScaledObjectRef ref,
                 std::size_t index)
      : channels_(channels), settings_(std::move(settings)), ref_(std::move(ref)), index_(index) {}

  Result<PollResult> poll() override {
    auto channel = channel_or_error();
    if (!channel) return unexpected(channel.error());
    const auto deadline = std::chrono::steady_clock::now() + kPollBudget;
    auto specs = (*channel)->get_metric_spec(ref_, deadline);
    if (!specs) return failure("GetMetricSpec", specs.error());
    std::vector<external::MetricReading> readings;
    for (const auto& spec : *specs) {
      external::MetricReading reading;
      reading.name = external::metric_name_with_index(index_, spec.metric_name);
      reading.target = external::spec_target(spec);
      auto requested = external::remove_index_from_metric_name(index_, reading.name);
      if (!requested) return failure("GetMetrics", requested.error());
      auto values = (*channel)->get_metrics(ref_, *requested, deadline);
      if (!values) return failure("GetMetrics(" + *requested + ")", values.error());
      reading.values = std::move(values).value();
      readings.push_back(std::move(reading));
    }
    auto load = external::load_percent(readings);
    if (!load) return failure("GetMetricSpec/GetMetrics", load.error());
    auto active = (*channel)->is_active(ref_, deadline);
    if (!active) return failure("IsActive", active.error());
    return PollResult{*load, *active};
  }

 protected:
  Result<std::shared_ptr<Channel>> channel_or_error() {
    std::lock_guard lock(channel_mutex_);
    if (channel_) return channel_;
    auto made = channels_.get(settings_);
    if (!made) return unexpected(made.error());
    channel_ = *made;
    return channel_;
  }

  Unexpected<Error> failure(const std::string& call, const Error& cause) const {
    return fail("external scaler " + settings_.address + ": " + call + ": " + cause.message,
                cause.transient);
  }

  Channels& channels_;
  const ChannelSettings settings_;
  const ScaledObjectRef ref_;
  const std::size_t index_;
  std::mutex channel_mutex_;
  std::shared_ptr<Channel> channel_;
};

// external-push: StreamIsActive kept open on a thread of its own.
class ExternalPushScaler final : public ExternalScaler {
 public:
  using ExternalScaler::ExternalScaler;
  ~ExternalPushScaler() override { stop_watch(); }

  void watch(std::function<void()> changed) override {
    std::lock_guard lock(mutex_);
    if (thread_.joinable() || stopping_) return;
    thread_ = std::thread([this, changed = std::move(changed)] { run(changed); });
  }

  void stop_watch() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      if (stream_) stream_->cancel();
    }
    wake_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  void run(const std::function<void()>& changed) {
    auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kFirstBackoff);
    for (;;) {
      bool reset = false, at_once = false;
      if (auto channel = channel_or_error()) {
        const auto opened = std::chrono::steady_clock::now();
        std::shared_ptr<external::ActiveStream> stream =
            (*channel)->stream_is_active(ref_, kStreamLifetime);
        {
          std::lock_guard lock(mutex_);
          if (stopping_) return;
          stream_ = stream;
        }
        bool received = false;
        while (auto active = stream->next()) {
          received = true;
          // KEDA sends both answers on; only `true` activates, deactivation is the poll's.
          if (*active) changed();
        }
        const auto ended = stream->finish();
        {
          std::lock_guard lock(mutex_);
          stream_.reset();
          if (stopping_) return;
        }
        const bool lived_out =
            std::chrono::steady_clock::now() - opened >= kStreamLifetime * 9 / 10;
        at_once = !ended && lived_out;  // our own lifetime bound, not a failure
        reset = ended.ok() || received;
      }
      if (reset) backoff = kFirstBackoff;
      if (!at_once) {
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, backoff, [&] { return stopping_; })) return;
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);
      } else {
        backoff = kFirstBackoff;
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::shared_ptr<external::ActiveStream> stream_;
  std::thread thread_;
};

class ExternalTrigger final : public TriggerConfig {
 public:
  ExternalTrigger(MetricSpec spec, ChannelSettings settings, ScaledObjectRef ref, std::size_t index,
                  bool push)
      : spec_(std::move(spec)),
        settings_(std::move(settings)),
        ref_(std::move(ref)),
        index_(index),
        push_(push) {}
  const MetricSpec& metric_spec() const override { return spec_; }
  std::string endpoint() const override { return "external scaler " + settings_.address; }
  Result<std::unique_ptr<Scaler>> create_scaler(ConnectionPools& pools) const override {
    auto& channels = pools.get<Channels>();
    if (push_)
      return std::unique_ptr<Scaler>(
          std::make_unique<ExternalPushScaler>(channels, settings_, ref_, index_));
    return std::unique_ptr<Scaler>(
        std::make_unique<ExternalScaler>(channels, settings_, ref_, index_));
  }

 private:
  MetricSpec spec_;
  ChannelSettings settings_;
  ScaledObjectRef ref_;
  std::size_t index_;
  bool push_;
};

ParseResult parse_trigger(const TriggerContext& ctx, bool push) {
  ExternalConfig c;
  FieldErrors errors = table().parse(ctx, c);
  if (!errors.empty()) return unexpected(std::move(errors));

  auto spec = external_metric(ctx, ctx.type, static_cast<double>(external::kLoadTarget), 0,
                              TargetForm::Integer);
  return std::unique_ptr<TriggerConfig>(std::make_unique<ExternalTrigger>(
      std::move(spec), channel_settings(c), external::scaled_object_ref(ctx), ctx.index, push));
}

// Announcements only (every metadata key is forwarded, none is unknown), plus the TLS settings
// KEDA silently ignores.
FieldErrors warnings(const TriggerContext& ctx) {
  FieldErrors out = table().announcements(ctx);
  ExternalConfig c;
  if (!table().parse(ctx, c).empty()) return out;
  if (c.tls_client_cert.empty() != c.tls_client_key.empty())
    out.push_back(
        {path_of(ctx, c.tls_client_cert.empty() ? "tlsClientKey" : "tlsClientCert", {A}),
         "tlsClientCert and tlsClientKey only work together; this one is ignored (as KEDA does)"});
  if (c.unsafe_ssl &&
      !external::use_tls(c.enable_tls, c.ca_cert, c.tls_client_cert, c.tls_client_key))
    out.push_back({path_of(ctx, "unsafeSsl", {M}),
                   "unsafeSsl has no effect without enableTLS, caCert or a client certificate: the "
                   "connection is "
                   "plaintext (as in KEDA)"});
  return out;
}

}  // namespace

void register_external_scaler(Registry& registry) {
  auto add = [&](std::string type, std::string keda_name, std::string summary, bool push) {
    ScalerDefinition def = ScalerDefinition{
        .types = {std::move(type)},
        .keda_name = std::move(keda_name),
        .summary = std::move(summary),
        .push = push,
        .parse = [push](const TriggerContext& ctx) {
          return parse_trigger(ctx, push);
        }}.with_table(table());
    def.warnings = warnings;
    registry.add(std::move(def));
  };
  add("external", "externalScaler",
      "a scaler of your own over gRPC (KEDA's externalscaler.proto): load in percent of its "
      "targets",
      false);
  add("external-push", "externalPushScaler",
      "a scaler of your own over gRPC that also pushes activity (StreamIsActive): load in percent "
      "of its targets",
      true);
}

}  // namespace ebb::scalers
