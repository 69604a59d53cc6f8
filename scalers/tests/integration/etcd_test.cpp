// The etcd scaler against real etcd 3.4 (tests/support/servers.h etcd_server(), plus variants
// with a short auth token TTL and with TLS): values, activation, KEDA's errors for a missing key
// and a value that is no number, a stopped server (an error, never 0) and its recovery, endpoint
// failover, username/password auth (users made with etcdctl) including an expired token, TLS
// with a CA and with client certificates, and the /v3/watch push path across a server restart.
// Keys are written with etcdctl, etcd's own client.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <thread>

#include "ebb/scalers/connection_pools.h"
#include "ebb/scalers/registry.h"
#include "http/client.h"
#include "support/servers.h"
#include "support/support.h"

using namespace ebb;
using namespace ebb::scalers;
using namespace std::chrono_literals;
using Map = std::map<std::string, std::string>;

namespace {

std::string url(std::uint16_t port, bool tls = false) {
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
}

// etcdctl against `endpoint`; extra flags (--user, TLS files) first. Fails the test on error.
std::string etcdctl(const std::string& endpoint, std::vector<std::string> args,
                    std::vector<std::string> flags = {}) {
  std::vector<std::string> argv{"env", "ETCDCTL_API=3", "etcdctl", "--endpoints=" + endpoint,
                                "--command-timeout=5s"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = test::run_command(argv, 20s);
  INFO("etcdctl " << join(args, " ") << ": " << r.err << r.out);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

std::unique_ptr<TriggerConfig> config(Map metadata, Map auth = {}) {
  TriggerContext ctx;
  ctx.type = "etcd";
  ctx.metadata = std::move(metadata);
  ctx.auth_params = std::move(auth);
  auto parsed = Registry::builtin().parse(ctx);
  INFO((parsed ? std::string() : parsed.error().front().str()));
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

Map trigger(const std::string& endpoints, const std::string& key) {
  return {{"endpoints", endpoints}, {"watchKey", key}, {"value", "1.5"}, {"activationValue", "5"}};
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
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

// etcd_server() with extra flags, and a TLS variant whose client URL is https.
test::ServerSpec etcd_with(std::vector<std::string> extra, const test::TestCerts* certs = nullptr,
                           bool client_certs = false) {
  auto spec = test::etcd_server();
  const auto base = spec.command;
  spec.command = [base, extra, certs, client_certs](const test::LocalServer& s) {
    auto argv = base(s);
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (certs) {
      for (auto& a : argv)
        if (a == "http://" + s.address(0)) a = "https://" + s.address(0);
      argv.insert(argv.end(),
                  {"--cert-file", certs->server_cert_file, "--key-file", certs->server_key_file});
      if (client_certs)
        argv.insert(argv.end(), {"--client-cert-auth", "--trusted-ca-file", certs->ca_file});
    }
    return argv;
  };
  if (certs) {
    spec.ready = [certs, client_certs](const test::LocalServer& s) {
      std::vector<std::string> argv{"env",
                                    "ETCDCTL_API=3",
                                    "etcdctl",
                                    "--endpoints=https://" + s.address(0),
                                    "--cacert=" + certs->ca_file,
                                    "endpoint",
                                    "health"};
      if (client_certs)
        argv.insert(argv.end(),
                    {"--cert=" + certs->client_cert_file, "--key=" + certs->client_key_file});
      return test::run_command(argv, 5s).exit_code == 0;
    };
  }
  return spec;
}

// etcd's gateway calls etcd's own gRPC endpoint with the server certificate as its client
// certificate, so with --client-cert-auth the server certificate needs clientAuth as well (as
// kubeadm's etcd certificates have). make_test_certs's is serverAuth only: issue one from its CA.
test::TestCerts with_dual_use_server_cert(const std::string& dir, test::TestCerts certs) {
  const std::string ext = dir + "/dual.ext";
  {
    std::ofstream f(ext);
    f << "basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = serverAuth,clientAuth\nsubjectAltName = IP:127.0.0.1,DNS:localhost\n";
  }
  auto run = [](std::vector<std::string> argv) {
    auto r = test::run_command(argv, 30s);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  };
  certs.server_cert_file = dir + "/dual.crt";
  certs.server_key_file = dir + "/dual.key";
  run({"openssl", "req", "-new", "-subj", "/CN=etcd", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", certs.server_key_file, "-out",
       dir + "/dual.csr"});
  run({"openssl", "x509", "-req", "-in", dir + "/dual.csr", "-CA", certs.ca_file, "-CAkey",
       dir + "/ca.key", "-CAcreateserial", "-extfile", ext, "-days", "30", "-out",
       certs.server_cert_file});
  return certs;
}

}  // namespace

TEST_CASE(
    "etcd: the number under watchKey, activationValue, and KEDA's errors for missing and "
    "non-numbers") {
  test::LocalServer etcd(test::etcd_server());
  const std::string endpoint = url(etcd.port(0));
  etcdctl(endpoint, {"put", "length", "7.5"});
  ConnectionPools pools;
  auto cfg = config(trigger("127.0.0.1:" + std::to_string(etcd.port(0)), "length"));
  CHECK(cfg->metric_spec().name == "s0-etcd-length");
  CHECK(cfg->endpoint() == "etcd " + endpoint);
  auto s = scaler(pools, *cfg);
  auto r = poll_ok(*s);
  CHECK(r.value == 7.5);
  CHECK(r.active);
  etcdctl(endpoint, {"put", "length", "5"});
  r = poll_ok(*s);
  CHECK(r.value == 5);
  CHECK_FALSE(r.active);  // strictly greater than activationValue
  etcdctl(endpoint, {"put", "length", "1_000"});
  CHECK(poll_ok(*s).value == 1000);  // Go's ParseFloat

  etcdctl(endpoint, {"put", "length", "abc"});
  CHECK(s->poll().error().message == "error getting metric value: etcd " + endpoint +
                                         ": strconv.ParseFloat: parsing \"abc\": invalid syntax");
  etcdctl(endpoint, {"del", "length"});
  CHECK(s->poll().error().message ==
        "error getting metric value: " + endpoint + ": watchKey length doesn't exist");

  // Another trigger on the same etcd shares the kept-alive connection.
  etcdctl(endpoint, {"put", "other", "2"});
  auto other = scaler(pools, *config(trigger("127.0.0.1:" + std::to_string(etcd.port(0)), "other")));
  for (int i = 0; i < 3; ++i) {
    CHECK(poll_ok(*other).value == 2);
    CHECK_FALSE(s->poll().ok());
  }
  CHECK(pools.get<http::Clients>().get(net::TlsOptions{})->open_connections() == 1);
}

TEST_CASE("etcd: a stopped server is an error naming it, never 0, and endpoints are tried in order") {
  test::LocalServer etcd(test::etcd_server());
  const std::string endpoint = url(etcd.port(0));
  etcdctl(endpoint, {"put", "jobs", "12"});
  const auto dead = test::free_port();
  ConnectionPools pools;
  // The first endpoint does not answer; the second does.
  auto s = scaler(pools, *config(trigger("127.0.0.1:" + std::to_string(dead) +
                                             ",127.0.0.1:" + std::to_string(etcd.port(0)),
                                         "jobs")));
  CHECK(poll_ok(*s).value == 12);
  CHECK(poll_ok(*s).value == 12);

  etcd.stop();
  auto down = s->poll();
  REQUIRE_FALSE(down.ok());
  CHECK_THAT(down.error().message, Catch::StartsWith("error getting metric value: "));
  CHECK_THAT(down.error().message, Catch::Contains(endpoint + ": connect"));
  CHECK_THAT(down.error().message, Catch::Contains(url(dead) + ": connect"));
  CHECK(down.error().transient);
  etcd.start();
  CHECK(eventually([&] { return s->poll().ok(); }, 10s));
  CHECK(poll_ok(*s).value == 12);
}

TEST_CASE("etcd: username and password log in, and wrong ones are an error without the password") {
  test::LocalServer etcd(test::etcd_server());
  const std::string endpoint = url(etcd.port(0));
  etcdctl(endpoint, {"put", "jobs", "9"});
  // Before auth is enabled, credentials are accepted and no token is needed (as clientv3).
  ConnectionPools pools;
  auto early = scaler(pools, *config(trigger("127.0.0.1:" + std::to_string(etcd.port(0)), "jobs"),
                                     {{"username", "root"}, {"password", "r00t-pw"}}));
  CHECK(poll_ok(*early).value == 9);

  etcdctl(endpoint, {"user", "add", "root", "--new-user-password=r00t-pw"});
  etcdctl(endpoint, {"user", "grant-role", "root", "root"});
  etcdctl(endpoint, {"auth", "enable"});
  const std::vector<std::string> as_root{"--user=root:r00t-pw"};
  etcdctl(endpoint, {"put", "jobs", "11"}, as_root);

  auto good = scaler(pools, *config(trigger("127.0.0.1:" + std::to_string(etcd.port(0)), "jobs"),
                                    {{"username", "root"}, {"password", "r00t-pw"}}));
  CHECK(poll_ok(*good).value == 11);
  // The scaler that learnt "auth is off" logs in now that it is on.
  CHECK(poll_ok(*early).value == 11);

  auto wrong = scaler(pools, *config(trigger("127.0.0.1:" + std::to_string(etcd.port(0)), "jobs"),
                                     {{"username", "root"}, {"password", "not-the-pw"}}));
  auto refused = wrong->poll();
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("authentication failed"));
  CHECK_THAT(refused.error().message, Catch::Contains(endpoint));
  CHECK_THAT(refused.error().message, !Catch::Contains("not-the-pw"));

  auto anonymous =
      scaler(pools, *config(trigger("127.0.0.1:" + std::to_string(etcd.port(0)), "jobs")));
  auto denied = anonymous->poll();
  REQUIRE_FALSE(denied.ok());
  CHECK_THAT(denied.error().message, Catch::Contains("user name is empty"));
}

TEST_CASE("etcd: an expired auth token is replaced by logging in again") {
  test::LocalServer etcd(etcd_with({"--auth-token=simple", "--auth-token-ttl=1"}));
  const std::string endpoint = url(etcd.port(0));
  etcdctl(endpoint, {"user", "add", "root", "--new-user-password=r00t-pw"});
  etcdctl(endpoint, {"user", "grant-role", "root", "root"});
  etcdctl(endpoint, {"auth", "enable"});
  etcdctl(endpoint, {"put", "jobs", "3"}, {"--user=root:r00t-pw"});
  ConnectionPools pools;
  auto s = scaler(pools, *config(trigger("127.0.0.1:" + std::to_string(etcd.port(0)), "jobs"),
                                 {{"username", "root"}, {"password", "r00t-pw"}}));
  CHECK(poll_ok(*s).value == 3);
  std::this_thread::sleep_for(3s);
  CHECK(poll_ok(*s).value == 3);
}

TEST_CASE("etcd: TLS with the server's CA, and client certificates") {
  test::TempDir dir;
  const auto certs = test::make_test_certs(dir.path());
  const auto ca = test::read_file(certs.ca_file);
  {
    test::LocalServer etcd(etcd_with({}, &certs));
    etcdctl(url(etcd.port(0), true), {"put", "jobs", "4"}, {"--cacert=" + certs.ca_file});
    ConnectionPools pools;
    auto s = scaler(pools, *config(trigger("127.0.0.1:" + std::to_string(etcd.port(0)), "jobs"),
                                   {{"tls", "enable"}, {"ca", ca}}));
    CHECK(poll_ok(*s).value == 4);
    // Without the CA the server's certificate is not trusted.
    auto untrusted = scaler(
        pools,
        *config(trigger("127.0.0.1:" + std::to_string(etcd.port(0)), "jobs"), {{"tls", "enable"}}));
    auto r = untrusted->poll();
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(url(etcd.port(0), true)));
    // Plain HTTP to a TLS port fails too.
    auto plain =
        scaler(pools, *config(trigger("127.0.0.1:" + std::to_string(etcd.port(0)), "jobs")));
    CHECK_FALSE(plain->poll().ok());
  }
  const auto dual = with_dual_use_server_cert(dir.path(), certs);
  test::LocalServer mutual(etcd_with({}, &dual, true));
  etcdctl(url(mutual.port(0), true), {"put", "jobs", "6"},
          {"--cacert=" + certs.ca_file, "--cert=" + certs.client_cert_file,
           "--key=" + certs.client_key_file});
  ConnectionPools pools;
  const auto at = "127.0.0.1:" + std::to_string(mutual.port(0));
  auto with_cert =
      scaler(pools, *config(trigger(at, "jobs"), {{"tls", "enable"},
                                                  {"ca", ca},
                                                  {"cert", certs.client_cert_pem},
                                                  {"key", certs.client_key_encrypted_pem},
                                                  {"keyPassword", certs.client_key_password}}));
  CHECK(poll_ok(*with_cert).value == 6);
  auto without_cert = scaler(pools, *config(trigger(at, "jobs"), {{"tls", "enable"}, {"ca", ca}}));
  auto r = without_cert->poll();
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, !Catch::Contains(certs.client_key_password));
}

TEST_CASE("etcd: the watch pushes every change, breaks with the server and comes back") {
  test::LocalServer etcd(test::etcd_server());
  const std::string endpoint = url(etcd.port(0));
  etcdctl(endpoint, {"put", "var", "1"});
  ConnectionPools pools;
  auto s = scaler(pools, *config(trigger("127.0.0.1:" + std::to_string(etcd.port(0)), "var")));
  std::atomic<int> changes{0};
  s->watch([&] { ++changes; });
  std::this_thread::sleep_for(500ms);  // the watch is created
  CHECK(changes == 0);
  etcdctl(endpoint, {"put", "var", "9"});
  CHECK(eventually([&] { return changes == 1; }, 5s));
  CHECK(poll_ok(*s).value == 9);
  etcdctl(endpoint, {"put", "var", "2"});
  etcdctl(endpoint, {"del", "var"});
  CHECK(eventually([&] { return changes == 3; }, 5s));

  // The server goes away: polls fail, the watch waits and tries again; back, it catches up once.
  etcd.stop();
  CHECK_FALSE(s->poll().ok());
  etcd.start();
  CHECK(eventually([&] { return changes == 4; }, 20s));
  etcdctl(endpoint, {"put", "var", "8"});
  CHECK(eventually([&] { return changes == 5; }, 5s));
  CHECK(poll_ok(*s).value == 8);
  s->stop_watch();
  etcdctl(endpoint, {"put", "var", "7"});
  std::this_thread::sleep_for(500ms);
  CHECK(changes == 5);
}

TEST_CASE("etcd: the watch logs in when auth is enabled") {
  test::LocalServer etcd(test::etcd_server());
  const std::string endpoint = url(etcd.port(0));
  etcdctl(endpoint, {"user", "add", "root", "--new-user-password=r00t-pw"});
  etcdctl(endpoint, {"user", "grant-role", "root", "root"});
  etcdctl(endpoint, {"auth", "enable"});
  ConnectionPools pools;
  auto s = scaler(pools, *config(trigger("127.0.0.1:" + std::to_string(etcd.port(0)), "var"),
                                 {{"username", "root"}, {"password", "r00t-pw"}}));
  std::atomic<int> changes{0};
  s->watch([&] { ++changes; });
  std::this_thread::sleep_for(500ms);
  etcdctl(endpoint, {"put", "var", "6"}, {"--user=root:r00t-pw"});
  CHECK(eventually([&] { return changes == 1; }, 5s));
  s->stop_watch();
}
