// The external and external-push scalers over real gRPC against the project's own external
// scaler (tests/external_scaler, KEDA's externalscaler.proto): values and activity, what is
// sent, TLS and mutual TLS, a server that is down (an error, never 0) and back, a server that
// never answers (the deadline), shared channels, and the push path: pushes, a broken stream that
// falls back to polling and comes back.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "external/client.h"
#include "external_scaler_server.h"
#include "support/support.h"

using namespace ebb;
using namespace ebb::scalers;
using namespace std::chrono_literals;
using Map = std::map<std::string, std::string>;

namespace {

std::unique_ptr<TriggerConfig> config(const std::string& type, Map metadata, Map auth = {},
                                      std::size_t index = 0) {
  TriggerContext ctx;
  ctx.type = type;
  ctx.index = index;
  ctx.metadata = std::move(metadata);
  ctx.auth_params = std::move(auth);
  ctx.scaled_object_name = "orders";
  ctx.scaled_object_namespace = "shop";
  auto parsed = Registry::builtin().parse(ctx);
  INFO((parsed ? std::string() : parsed.error().front().str()));
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

std::unique_ptr<Scaler> scaler(ConnectionPools& pools, const TriggerConfig& cfg) {
  auto s = cfg.create_scaler(pools);
  REQUIRE(s.ok());
  return std::move(s).value();
}

PollResult poll_ok(Scaler& s) {
  auto r = s.poll();
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

}  // namespace

TEST_CASE(
    "external: GetMetricSpec, GetMetrics and IsActive over gRPC give the load and the activity") {
  test::ExternalScalerServer server;
  server.set_metrics({{"queue", 10, 0}});
  server.set_value("queue", 25);
  server.set_active(true);
  ConnectionPools pools;
  auto cfg = config("external", {{"scalerAddress", server.address()}, {"threshold", "10"}}, {}, 1);
  CHECK(cfg->metric_spec().name == "s1-external");
  auto s = scaler(pools, *cfg);
  auto r = poll_ok(*s);
  CHECK(r.value == Approx(250));
  CHECK(r.active);
  // The metric is asked for without its index prefix; the ref carries the object and metadata.
  CHECK(server.requested_metrics() == std::vector<std::string>{"queue"});
  const auto ref = server.last_ref();
  REQUIRE(ref);
  CHECK(ref->name == "orders");
  CHECK(ref->ns == "shop");
  CHECK(ref->metadata == Map{{"scalerAddress", server.address()}, {"threshold", "10"}});
  CHECK(server.calls("GetMetricSpec") == 1);
  CHECK(server.calls("IsActive") == 1);

  // Activity is IsActive's answer; float fields win when > 0; values of one metric add up.
  server.set_active(false);
  server.set_metrics({{"queue", 0, 2.5}, {"rate", 4, 0}});
  server.set_values("queue", {{7, 2.0}, {1, 0}});
  server.set_values("rate", {{2, 0}});
  r = poll_ok(*s);
  CHECK(r.value == Approx(120));  // max((2 + 1) / 2.5, 2 / 4)
  CHECK_FALSE(r.active);

  // A spec without values, or no spec at all, is an error (KEDA serves nothing then).
  server.set_values("rate", {});
  CHECK(s->poll().error().message ==
        "external scaler " + server.address() +
            ": GetMetricSpec/GetMetrics: GetMetrics returned no value for metric s1-rate");
  server.set_metrics({});
  CHECK(s->poll().error().message == "external scaler " + server.address() +
                                         ": GetMetricSpec/GetMetrics: got empty metric spec");

  // A failing call is the gRPC status, as KEDA shows it.
  server.set_metrics({{"queue", 10, 0}});
  server.fail_calls(12);  // UNIMPLEMENTED
  CHECK(s->poll().error().message ==
        "external scaler " + server.address() +
            ": GetMetricSpec: rpc error: code = Unimplemented desc = the test scaler fails "
            "this call");
}

TEST_CASE(
    "external: a server that is down is an error naming it, never 0, and it is used again once back") {
  test::ExternalScalerServer server;
  server.set_metrics({{"queue", 10, 0}});
  server.set_value("queue", 5);
  ConnectionPools pools;
  auto s = scaler(pools, *config("external", {{"scalerAddress", server.address()}}));
  CHECK(poll_ok(*s).value == Approx(50));
  server.stop();
  auto down = s->poll();
  REQUIRE_FALSE(down.ok());
  CHECK_THAT(down.error().message,
             Catch::StartsWith("external scaler " + server.address() +
                               ": GetMetricSpec: rpc error: code = Unavailable desc = "));
  CHECK(down.error().transient);
  server.start();
  server.set_metrics({{"queue", 10, 0}});
  server.set_value("queue", 7);
  // gRPC reconnects on its own (backoff at most 5 s here).
  CHECK(eventually([&] { return s->poll().ok(); }, 10s));
  CHECK(poll_ok(*s).value == Approx(70));
}

TEST_CASE("external: every call has a deadline (KEDA's have none)") {
  test::SilentListener silent;  // accepts TCP, never speaks HTTP/2
  ConnectionPools pools;
  auto s = scaler(
      pools,
      *config("external", {{"scalerAddress", "127.0.0.1:" + std::to_string(silent.port())}}));
  const auto start = std::chrono::steady_clock::now();
  auto r = s->poll();
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message,
             Catch::Contains("GetMetricSpec: rpc error: code = DeadlineExceeded") ||
                 Catch::Contains("GetMetricSpec: rpc error: code = Unavailable"));
  CHECK(took < 8s);
}

TEST_CASE("external: TLS with caCert, unsafeSsl, and a client certificate for mutual TLS") {
  test::TempDir dir;
  const auto certs = test::make_test_certs(dir.path());
  const auto ca = test::read_file(certs.ca_file);
  const auto cert = test::read_file(certs.server_cert_file);
  const auto key = test::read_file(certs.server_key_file);
  test::ExternalScalerServer tls(
      {.tls = true, .cert_pem = cert, .key_pem = key, .client_ca_pem = ""});
  tls.set_metrics({{"queue", 4, 0}});
  tls.set_value("queue", 2);
  ConnectionPools pools;

  // caCert alone turns TLS on (KEDA's rule); the server is verified against it.
  auto verified =
      scaler(pools, *config("external", {{"scalerAddress", tls.address()}}, {{"caCert", ca}}));
  CHECK(poll_ok(*verified).value == Approx(50));
  // enableTLS without the CA: the system roots do not know the test CA.
  auto unknown_ca =
      scaler(pools, *config("external", {{"scalerAddress", tls.address()}, {"enableTLS", "true"}}));
  auto refused = unknown_ca->poll();
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("rpc error: code = Unavailable"));
  // enableTLS with unsafeSsl: no verification.
  auto unsafe = scaler(pools, *config("external", {{"scalerAddress", tls.address()},
                                                   {"enableTLS", "true"},
                                                   {"unsafeSsl", "true"}}));
  CHECK(poll_ok(*unsafe).value == Approx(50));
  // Plaintext to a TLS server fails.
  auto plain = scaler(pools, *config("external", {{"scalerAddress", tls.address()}}));
  CHECK_FALSE(plain->poll().ok());

  // Mutual TLS: the server requires a certificate from the test CA.
  test::ExternalScalerServer mtls(
      {.tls = true, .cert_pem = cert, .key_pem = key, .client_ca_pem = ca});
  mtls.set_metrics({{"queue", 4, 0}});
  mtls.set_value("queue", 4);
  auto with_cert = scaler(pools, *config("external", {{"scalerAddress", mtls.address()}},
                                         {{"caCert", ca},
                                          {"tlsClientCert", certs.client_cert_pem},
                                          {"tlsClientKey", certs.client_key_pem}}));
  CHECK(poll_ok(*with_cert).value == Approx(100));
  auto without_cert =
      scaler(pools, *config("external", {{"scalerAddress", mtls.address()}}, {{"caCert", ca}}));
  auto no_cert = without_cert->poll();
  REQUIRE_FALSE(no_cert.ok());
  CHECK_THAT(no_cert.error().message, !Catch::Contains("PRIVATE KEY"));

  // Broken PEM material: KEDA's messages, no key in them.
  auto bad_pair =
      scaler(pools, *config("external", {{"scalerAddress", mtls.address()}},
                            {{"tlsClientCert", certs.client_cert_pem},
                             {"tlsClientKey",
                              "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"}}));
  CHECK(bad_pair->poll().error().message ==
        "external scaler " + mtls.address() +
            ": error parse X509KeyPair: tls: failed to find any PEM data in key input");
  auto bad_ca = scaler(pools, *config("external", {{"scalerAddress", mtls.address()}},
                                      {{"caCert", "not a certificate"}}));
  CHECK(bad_ca->poll().error().message ==
        "external scaler " + mtls.address() + ": error appending CA certs");
}

TEST_CASE("external: triggers with the same address and TLS settings share one channel") {
  test::ExternalScalerServer server;
  server.set_metrics({{"queue", 10, 0}});
  server.set_value("queue", 1);
  ConnectionPools pools;
  auto a = scaler(pools, *config("external", {{"scalerAddress", server.address()}, {"x", "1"}}));
  auto b = scaler(
      pools, *config("external-push", {{"scalerAddress", server.address()}, {"x", "2"}}, {}, 3));
  auto c = scaler(
      pools, *config("external", {{"scalerAddress", server.address()}, {"enableTLS", "false"}}));
  for (auto* s : {a.get(), b.get(), c.get()}) poll_ok(*s);
  CHECK(pools.get<external::Channels>().size() == 1);
  test::TempDir dir;
  auto other = scaler(
      pools, *config("external", {{"scalerAddress", server.address()}, {"enableTLS", "true"}}));
  (void)other->poll();
  CHECK(pools.get<external::Channels>().size() == 2);
  other.reset();
  a.reset();
  b.reset();
  c.reset();
  CHECK(pools.get<external::Channels>().size() == 0);
}

TEST_CASE("external-push: `true` on StreamIsActive calls changed(), `false` does not") {
  test::ExternalScalerServer server;
  ConnectionPools pools;
  auto s = scaler(pools, *config("external-push", {{"scalerAddress", server.address()}}));
  std::atomic<int> changes{0};
  s->watch([&] { ++changes; });
  REQUIRE(server.wait_for_streams(1, 10s));
  server.push(false);
  server.push(true);
  CHECK(eventually([&] { return changes == 1; }, 5s));
  server.push(false);
  server.push(true);
  server.push(true);
  CHECK(eventually([&] { return changes == 3; }, 5s));
  std::this_thread::sleep_for(200ms);
  CHECK(changes == 3);
  s->stop_watch();
  CHECK(server.wait_for_streams(0, 5s));
  server.push(true);
  std::this_thread::sleep_for(200ms);
  CHECK(changes == 3);
}

TEST_CASE(
    "external-push: a broken stream falls back to polling, then reconnects with KEDA's backoff") {
  test::ExternalScalerServer server;
  server.set_metrics({{"queue", 10, 0}});
  server.set_value("queue", 30);
  ConnectionPools pools;
  auto s = scaler(pools, *config("external-push", {{"scalerAddress", server.address()}}));
  std::atomic<int> changes{0};
  s->watch([&] { ++changes; });
  REQUIRE(server.wait_for_streams(1, 10s));
  CHECK(server.calls("StreamIsActive") == 1);

  // Broken, and new streams refused for a while: pushes are lost, polls still work.
  server.refuse_streams(true);
  server.break_streams();
  REQUIRE(server.wait_for_streams(0, 5s));
  CHECK(poll_ok(*s).value == Approx(300));
  // Retried after 2 s, then 4 s (refused each time).
  CHECK(eventually([&] { return server.calls("StreamIsActive") == 2; }, 4s));
  CHECK(eventually([&] { return server.calls("StreamIsActive") == 3; }, 6s));
  server.refuse_streams(false);
  // The next attempt (8 s later) succeeds; the stream that delivered resets the backoff.
  REQUIRE(server.wait_for_streams(1, 12s));
  server.push(true);
  CHECK(eventually([&] { return changes == 1; }, 5s));

  // The server goes away and comes back: the stream is opened again.
  server.stop();
  CHECK(s->poll().error().message.find("Unavailable") != std::string::npos);
  server.start();
  REQUIRE(server.wait_for_streams(1, 20s));
  server.push(true);
  CHECK(eventually([&] { return changes == 2; }, 5s));
  s->stop_watch();
}
