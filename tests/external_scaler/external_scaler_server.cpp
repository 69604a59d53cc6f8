#include "external_scaler_server.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include "externalscaler.grpc.pb.h"

namespace ebb::test {

namespace pb = ::externalscaler;
using namespace std::chrono_literals;

struct ExternalScalerServer::Impl final : pb::ExternalScaler::Service {
  Options options;
  std::uint16_t port = 0;
  std::unique_ptr<grpc::Server> server;

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::vector<Metric> metrics;
  std::map<std::string, std::vector<Value>> values;
  bool active = false;
  std::map<std::string, bool> active_by_object;
  int fail_code = 0;
  bool refused = false;
  bool state_on_open = false;
  std::uint64_t push_seq = 0;        // every push() and break_streams() moves it
  std::vector<bool> pushes;          // pushed values, index = seq - 1 (break: a marker below)
  std::vector<bool> breaks;          // breaks[i]: event i is a break
  std::vector<std::string> targets;  // targets[i]: the object event i is for ("" = every one)
  std::size_t streams = 0;
  std::map<std::string, std::size_t> call_counts;
  std::optional<Ref> ref;
  std::vector<std::string> requested;

  void seen(const std::string& method, const pb::ScaledObjectRef& r) {
    std::lock_guard lock(mutex);
    ++call_counts[method];
    Ref out{r.name(), r.namespace_(), {}};
    for (const auto& [k, v] : r.scalermetadata()) out.metadata[k] = v;
    ref = std::move(out);
  }

  grpc::Status failing() const {
    std::lock_guard lock(mutex);
    if (fail_code == 0) return grpc::Status::OK;
    return grpc::Status(static_cast<grpc::StatusCode>(fail_code),
                        "the test scaler fails this call");
  }

  grpc::Status IsActive(grpc::ServerContext*, const pb::ScaledObjectRef* request,
                        pb::IsActiveResponse* response) override {
    seen("IsActive", *request);
    if (auto s = failing(); !s.ok()) return s;
    std::lock_guard lock(mutex);
    response->set_result(active_of(request->name()));
    return grpc::Status::OK;
  }

  bool active_of(const std::string& object) const {
    auto it = active_by_object.find(object);
    return it == active_by_object.end() ? active : it->second;
  }

  grpc::Status GetMetricSpec(grpc::ServerContext*, const pb::ScaledObjectRef* request,
                             pb::GetMetricSpecResponse* response) override {
    seen("GetMetricSpec", *request);
    if (auto s = failing(); !s.ok()) return s;
    std::lock_guard lock(mutex);
    for (const auto& m : metrics) {
      auto* spec = response->add_metricspecs();
      spec->set_metricname(m.name);
      spec->set_targetsize(m.target);
      spec->set_targetsizefloat(m.target_float);
    }
    return grpc::Status::OK;
  }

  grpc::Status GetMetrics(grpc::ServerContext*, const pb::GetMetricsRequest* request,
                          pb::GetMetricsResponse* response) override {
    seen("GetMetrics", request->scaledobjectref());
    if (auto s = failing(); !s.ok()) return s;
    std::lock_guard lock(mutex);
    requested.push_back(request->metricname());
    auto it = values.find(request->metricname());
    if (it == values.end()) return grpc::Status::OK;
    for (const auto& v : it->second) {
      auto* value = response->add_metricvalues();
      value->set_metricname(request->metricname());
      value->set_metricvalue(v.value);
      value->set_metricvaluefloat(v.value_float);
    }
    return grpc::Status::OK;
  }

  grpc::Status StreamIsActive(grpc::ServerContext* context, const pb::ScaledObjectRef* request,
                              grpc::ServerWriter<pb::IsActiveResponse>* writer) override {
    seen("StreamIsActive", *request);
    std::unique_lock lock(mutex);
    if (refused)
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the test scaler refuses streams");
    ++streams;
    changed.notify_all();
    std::uint64_t next = push_seq;  // only events after the stream opened
    if (state_on_open) {
      pb::IsActiveResponse response;
      response.set_result(active_of(request->name()));
      lock.unlock();
      writer->Write(response);
      lock.lock();
    }
    grpc::Status status = grpc::Status::OK;
    for (;;) {
      changed.wait_for(lock, 50ms, [&] { return push_seq > next; });
      if (context->IsCancelled()) {
        status = grpc::Status::CANCELLED;
        break;
      }
      if (push_seq == next) continue;
      if (!targets[next].empty() && targets[next] != request->name()) {
        ++next;
        continue;
      }
      if (breaks[next]) {
        status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the test scaler broke the stream");
        break;
      }
      pb::IsActiveResponse response;
      response.set_result(pushes[next]);
      ++next;
      lock.unlock();
      const bool written = writer->Write(response);
      lock.lock();
      if (!written) break;
    }
    --streams;
    changed.notify_all();
    return status;
  }

  void event(bool value, bool is_break, const std::string& target = "") {
    std::lock_guard lock(mutex);
    pushes.push_back(value);
    breaks.push_back(is_break);
    targets.push_back(target);
    ++push_seq;
    changed.notify_all();
  }

  void launch() {
    grpc::ServerBuilder builder;
    std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
    if (options.tls) {
      grpc::SslServerCredentialsOptions ssl(
          options.client_ca_pem.empty()
              ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      ssl.pem_root_certs = options.client_ca_pem;
      ssl.pem_key_cert_pairs.push_back({options.key_pem, options.cert_pem});
      credentials = grpc::SslServerCredentials(ssl);
    }
    int selected = 0;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), credentials, &selected);
    builder.RegisterService(this);
    server = builder.BuildAndStart();
    if (!server || selected == 0)
      throw std::runtime_error("the test external scaler cannot listen on 127.0.0.1:" +
                               std::to_string(port));
    port = static_cast<std::uint16_t>(selected);
  }

  void shutdown() {
    if (!server) return;
    {
      // Open streams return within their next wait; the deadline bounds the rest.
      std::lock_guard lock(mutex);
      changed.notify_all();
    }
    server->Shutdown(std::chrono::system_clock::now() + 2s);
    server->Wait();
    server.reset();
  }
};

ExternalScalerServer::ExternalScalerServer() : ExternalScalerServer(Options{}) {}

ExternalScalerServer::ExternalScalerServer(Options options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->launch();
}

ExternalScalerServer::~ExternalScalerServer() {
  impl_->shutdown();
}

std::uint16_t ExternalScalerServer::port() const {
  return impl_->port;
}
std::string ExternalScalerServer::address() const {
  return "127.0.0.1:" + std::to_string(impl_->port);
}

void ExternalScalerServer::stop() {
  impl_->shutdown();
}
void ExternalScalerServer::start() {
  if (!impl_->server) impl_->launch();
}

void ExternalScalerServer::set_metrics(std::vector<Metric> metrics) {
  std::lock_guard lock(impl_->mutex);
  impl_->metrics = std::move(metrics);
}
void ExternalScalerServer::set_value(const std::string& metric, double value) {
  set_values(metric, {Value{0, value}});
}
void ExternalScalerServer::set_values(const std::string& metric, std::vector<Value> values) {
  std::lock_guard lock(impl_->mutex);
  impl_->values[metric] = std::move(values);
}
void ExternalScalerServer::set_active(bool active) {
  std::lock_guard lock(impl_->mutex);
  impl_->active = active;
}
void ExternalScalerServer::fail_calls(int grpc_code) {
  std::lock_guard lock(impl_->mutex);
  impl_->fail_code = grpc_code;
}
void ExternalScalerServer::set_active(const std::string& object, bool active) {
  std::lock_guard lock(impl_->mutex);
  impl_->active_by_object[object] = active;
}
void ExternalScalerServer::push(bool active) {
  impl_->event(active, false);
}
void ExternalScalerServer::push(const std::string& object, bool active) {
  impl_->event(active, false, object);
}
void ExternalScalerServer::break_streams() {
  impl_->event(false, true);
}
void ExternalScalerServer::refuse_streams(bool refused) {
  std::lock_guard lock(impl_->mutex);
  impl_->refused = refused;
}
void ExternalScalerServer::send_state_on_open(bool on) {
  std::lock_guard lock(impl_->mutex);
  impl_->state_on_open = on;
}

std::size_t ExternalScalerServer::open_streams() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->streams;
}

bool ExternalScalerServer::wait_for_streams(std::size_t n,
                                            std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->streams == n; });
}

std::size_t ExternalScalerServer::calls(const std::string& method) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->call_counts.find(method);
  return it == impl_->call_counts.end() ? 0 : it->second;
}

std::optional<ExternalScalerServer::Ref> ExternalScalerServer::last_ref() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->ref;
}

std::vector<std::string> ExternalScalerServer::requested_metrics() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requested;
}

}  // namespace ebb::test
