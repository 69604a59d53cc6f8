#include "external/grpc_channels.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <grpc/support/log.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "ebb/process/log.h"

#include "externalscaler.grpc.pb.h"

namespace ebb::scalers::external {
namespace {

namespace pb = ::externalscaler;

constexpr const char* kServiceConfig = R"({"loadBalancingConfig": [{"round_robin":{}}]})";

const char* code_name(int code) {
  static const char* const names[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  return code >= 0 && code < static_cast<int>(std::size(names)) ? names[code] : nullptr;
}

// A failed call is worth retrying unless the server said the request itself is wrong.
bool transient(grpc::StatusCode code) {
  return code != grpc::StatusCode::UNIMPLEMENTED && code != grpc::StatusCode::INVALID_ARGUMENT &&
         code != grpc::StatusCode::PERMISSION_DENIED && code != grpc::StatusCode::UNAUTHENTICATED;
}

Unexpected<Error> rpc_failure(const grpc::Status& status) {
  return fail(go_status_text(status.error_code(), status.error_message()),
              transient(status.error_code()));
}

// The system's trust store (OpenSSL's default file, or $SSL_CERT_FILE), read once. KEDA trusts
// the system roots plus caCert; gRPC replaces its roots with whatever it is given, so both go in.
const std::string& system_roots() {
  static const std::string roots = [] {
    const char* env = std::getenv(X509_get_default_cert_file_env());
    const std::string path = env != nullptr && *env != '\0' ? env : X509_get_default_cert_file();
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }();
  return roots;
}

// KEDA's util.NewTLSConfig checks the PEM material before it dials; gRPC would only fail the
// handshake later with a vaguer message. Same texts as KEDA.
Result<void> check_tls_material(const ChannelSettings& s) {
  if (!s.ca_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(s.ca_pem.data(), static_cast<int>(s.ca_pem.size()));
    X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
    const bool ok = cert != nullptr;
    X509_free(cert);
    BIO_free(bio);
    ERR_clear_error();
    if (!ok) return fail("error appending CA certs");
  }
  if (!s.cert_pem.empty() && !s.key_pem.empty()) {
    BIO* cert_bio = BIO_new_mem_buf(s.cert_pem.data(), static_cast<int>(s.cert_pem.size()));
    BIO* key_bio = BIO_new_mem_buf(s.key_pem.data(), static_cast<int>(s.key_pem.size()));
    X509* cert = cert_bio ? PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr) : nullptr;
    EVP_PKEY* key = key_bio ? PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr) : nullptr;
    std::string problem;
    if (!cert)
      problem = "tls: failed to find any PEM data in certificate input";
    else if (!key)
      problem = "tls: failed to find any PEM data in key input";
    else if (X509_check_private_key(cert, key) != 1)
      problem = "tls: private key does not match public key";
    EVP_PKEY_free(key);
    X509_free(cert);
    BIO_free(key_bio);
    BIO_free(cert_bio);
    ERR_clear_error();
    if (!problem.empty()) return fail("error parse X509KeyPair: " + problem);
  }
  return {};
}

std::string with_newline(std::string pem) {
  if (!pem.empty() && pem.back() != '\n') pem += '\n';
  return pem;
}

std::shared_ptr<grpc::ChannelCredentials> credentials_for(const ChannelSettings& s) {
  if (!s.tls) return grpc::InsecureChannelCredentials();
  const bool client_cert = !s.cert_pem.empty() && !s.key_pem.empty();
  if (!s.unsafe_ssl) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = with_newline(system_roots()) + s.ca_pem;
    if (client_cert) {
      options.pem_cert_chain = s.cert_pem;
      options.pem_private_key = s.key_pem;
    }
    return grpc::SslCredentials(options);
  }
  // unsafeSsl: Go's InsecureSkipVerify; neither the chain nor the name is checked.
  std::vector<grpc::experimental::IdentityKeyCertPair> identity;
  if (client_cert) identity.push_back({s.key_pem, s.cert_pem});
  grpc::experimental::TlsChannelCredentialsOptions options;
  if (client_cert) {
    options.set_certificate_provider(
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(identity));
    options.watch_identity_key_cert_pairs();
  }
  options.set_verify_server_certs(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  options.set_check_call_host(false);
  return grpc::experimental::TlsCredentials(options);
}

// gRPC logs its own lines (a failed TLS handshake, each reconnect) to stderr in its own format,
// which would break the processes' one-JSON-object-per-line logs. Every such failure also
// fails the call, and that error reaches the poll's result, so they go to the debug level.
void route_grpc_logs() {
  static std::once_flag once;
  std::call_once(once, [] {
    gpr_set_log_function([](gpr_log_func_args* args) {
      static const process::Logger logger("grpc");
      logger.debug(args->message, {{"file", args->file ? args->file : ""}, {"line", args->line}});
    });
  });
}

pb::ScaledObjectRef to_proto(const ScaledObjectRef& ref) {
  pb::ScaledObjectRef out;
  out.set_name(ref.name);
  out.set_namespace_(ref.ns);
  auto& metadata = *out.mutable_scalermetadata();
  for (const auto& [k, v] : ref.scaler_metadata) metadata[k] = v;
  return out;
}

void set_deadline(grpc::ClientContext& context, Deadline deadline) {
  const auto left = deadline - std::chrono::steady_clock::now();
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::duration_cast<std::chrono::system_clock::duration>(left));
}

class GrpcActiveStream final : public ActiveStream {
 public:
  GrpcActiveStream(pb::ExternalScaler::Stub& stub, const ScaledObjectRef& ref,
                   std::chrono::milliseconds max_duration) {
    context_.set_deadline(std::chrono::system_clock::now() + max_duration);
    request_ = to_proto(ref);
    reader_ = stub.StreamIsActive(&context_, request_);
  }
  ~GrpcActiveStream() override {
    if (!finished_) {
      context_.TryCancel();
      pb::IsActiveResponse drain;
      while (reader_->Read(&drain)) {
      }
      reader_->Finish();
    }
  }

  std::optional<bool> next() override {
    pb::IsActiveResponse response;
    if (reader_->Read(&response)) return response.result();
    return std::nullopt;
  }

  Result<void> finish() override {
    finished_ = true;
    const grpc::Status status = reader_->Finish();
    if (status.ok()) return {};
    return rpc_failure(status);
  }

  void cancel() override { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  pb::ScaledObjectRef request_;
  std::unique_ptr<grpc::ClientReader<pb::IsActiveResponse>> reader_;
  bool finished_ = false;
};

class GrpcChannel final : public Channel {
 public:
  GrpcChannel(std::string address, std::shared_ptr<grpc::Channel> channel)
      : address_(std::move(address)),
        channel_(std::move(channel)),
        stub_(pb::ExternalScaler::NewStub(channel_)) {}

  const std::string& address() const override { return address_; }

  Result<std::vector<MetricSpecEntry>> get_metric_spec(const ScaledObjectRef& ref,
                                                       Deadline deadline) override {
    grpc::ClientContext context;
    set_deadline(context, deadline);
    pb::GetMetricSpecResponse response;
    const auto status = stub_->GetMetricSpec(&context, to_proto(ref), &response);
    if (!status.ok()) return rpc_failure(status);
    std::vector<MetricSpecEntry> out;
    for (const auto& s : response.metricspecs())
      out.push_back({s.metricname(), s.targetsize(), s.targetsizefloat()});
    return out;
  }

  Result<std::vector<MetricValueEntry>> get_metrics(const ScaledObjectRef& ref,
                                                    const std::string& metric_name,
                                                    Deadline deadline) override {
    grpc::ClientContext context;
    set_deadline(context, deadline);
    pb::GetMetricsRequest request;
    *request.mutable_scaledobjectref() = to_proto(ref);
    request.set_metricname(metric_name);
    pb::GetMetricsResponse response;
    const auto status = stub_->GetMetrics(&context, request, &response);
    if (!status.ok()) return rpc_failure(status);
    std::vector<MetricValueEntry> out;
    for (const auto& v : response.metricvalues())
      out.push_back({v.metricname(), v.metricvalue(), v.metricvaluefloat()});
    return out;
  }

  Result<bool> is_active(const ScaledObjectRef& ref, Deadline deadline) override {
    grpc::ClientContext context;
    set_deadline(context, deadline);
    pb::IsActiveResponse response;
    const auto status = stub_->IsActive(&context, to_proto(ref), &response);
    if (!status.ok()) return rpc_failure(status);
    return response.result();
  }

  std::unique_ptr<ActiveStream> stream_is_active(const ScaledObjectRef& ref,
                                                 std::chrono::milliseconds max_duration) override {
    return std::make_unique<GrpcActiveStream>(*stub_, ref, max_duration);
  }

 private:
  const std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::ExternalScaler::Stub> stub_;
};

}  // namespace

std::string go_status_text(int code, const std::string& message) {
  const char* name = code_name(code);
  return "rpc error: code = " + (name ? std::string(name) : "Code(" + std::to_string(code) + ")") +
         " desc = " + message;
}

GrpcChannels::GrpcChannels() {
  route_grpc_logs();
}

Result<std::shared_ptr<Channel>> GrpcChannels::get(const ChannelSettings& settings) {
  std::lock_guard lock(mutex_);
  std::erase_if(channels_, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = channels_[settings.key()];
  if (auto existing = slot.lock()) return existing;
  if (settings.tls || !settings.ca_pem.empty())
    if (auto checked = check_tls_material(settings); !checked)
      return fail("external scaler " + settings.address + ": " + checked.error().message);

  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(kServiceConfig);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  // A channel of its own per settings key: gRPC would otherwise share subchannels between
  // channels with equal arguments, and one pool entry's connection state would leak into another.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(settings.address, credentials_for(settings), args);
  if (!channel)
    return fail("external scaler " + settings.address + ": cannot create a gRPC channel");
  std::shared_ptr<Channel> created =
      std::make_shared<GrpcChannel>(settings.address, std::move(channel));
  slot = created;
  return created;
}

std::size_t GrpcChannels::size() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [key, channel] : channels_)
    if (!channel.expired()) ++n;
  return n;
}

}  // namespace ebb::scalers::external
