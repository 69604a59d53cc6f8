// The harness proves itself against real servers: if these fail, no integration test result
// can be trusted.
#include <arpa/inet.h>
#include <signal.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "servers.h"
#include "support.h"

using namespace ebb::test;
using namespace std::chrono_literals;

namespace {

std::string redis_cli(std::uint16_t port, std::vector<std::string> args) {
  std::vector<std::string> argv = {"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv).out;
}

// A raw client connection, to see exactly when the proxy drops it.
int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// The reply to a PING on a raw connection, or "" when the connection is broken (whether the
// send or the receive notices first depends on timing).
std::string redis_ping_raw(int fd) {
  const char ping[] = "PING\r\n";
  if (::send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof ping - 1)) return "";
  char buf[64];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

}  // namespace

TEST_CASE("Process logs a program's output and run_command captures it") {
  TempDir dir;
  const std::string log = dir.path() + "/echo.log";
  Process p = Process::start({"sh", "-c", "echo out; echo err >&2"}, log);
  for (int i = 0; i < 200 && p.running(); ++i) std::this_thread::sleep_for(10ms);
  CHECK_FALSE(p.running());
  p.stop();
  CHECK(read_file(log) == "out\nerr\n");

  CommandResult r = run_command({"sh", "-c", "echo hello; echo oops >&2; exit 3"});
  CHECK(r.exit_code == 3);
  CHECK(r.out == "hello\n");
  CHECK(r.err == "oops\n");
  CHECK_THROWS_WITH(run_command({"/nonexistent/program"}), Catch::Contains("/nonexistent/program"));
}

TEST_CASE("run_command kills a command that outlives its timeout") {
  const auto start = std::chrono::steady_clock::now();
  CommandResult r = run_command({"sleep", "30"}, 200ms);
  CHECK(r.exit_code == -1);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("Process::stop ends and reaps the program, and a second stop is harmless") {
  TempDir dir;
  Process p = Process::start({"sleep", "60"}, dir.path() + "/sleep.log");
  CHECK(p.running());
  const pid_t pid = p.pid();
  p.stop();
  CHECK_FALSE(p.running());
  CHECK(::kill(pid, 0) != 0);  // reaped, not a zombie
  p.stop();
}

TEST_CASE("free_port and wait_for_port") {
  const std::uint16_t port = free_port();
  CHECK(port > 0);
  CHECK_FALSE(wait_for_port(port, 100ms));
}

TEST_CASE("TempDir is removed with its contents") {
  std::string path;
  {
    TempDir dir("ebb-tempdir-test");
    path = dir.path();
    std::ofstream(path + "/file") << "x";
    CHECK(std::filesystem::is_directory(path));
  }
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("make_test_certs issues a CA, a server cert for 127.0.0.1/localhost and a client cert") {
  TempDir dir;
  TestCerts c = make_test_certs(dir.path());
  CHECK(c.ca_pem.find("BEGIN CERTIFICATE") != std::string::npos);
  CHECK(c.client_cert_pem.find("BEGIN CERTIFICATE") != std::string::npos);
  CHECK(c.client_key_pem.find("PRIVATE KEY") != std::string::npos);
  CHECK(run_command({"openssl", "verify", "-CAfile", c.ca_file, c.server_cert_file, c.client_cert_file}).exit_code ==
        0);
  const std::string san = run_command({"openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", c.server_cert_file}).out;
  CHECK_THAT(san, Catch::Contains("IP Address:127.0.0.1") && Catch::Contains("DNS:localhost"));
  // The encrypted client key opens with its password only.
  CHECK(c.client_key_encrypted_pem.find("ENCRYPTED PRIVATE KEY") != std::string::npos);
  const std::string encrypted = dir.path() + "/client-encrypted.key";
  CHECK(run_command({"openssl", "pkey", "-in", encrypted, "-passin", "pass:" + c.client_key_password, "-noout"})
            .exit_code == 0);
  CHECK(run_command({"openssl", "pkey", "-in", encrypted, "-passin", "pass:wrong", "-noout"}).exit_code != 0);
}

TEST_CASE("SilentListener accepts connections and never answers") {
  SilentListener silent;
  const int fd = connect_loopback(silent.port());
  REQUIRE(::send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6);
  pollfd p{fd, POLLIN, 0};
  CHECK(::poll(&p, 1, 200) == 0);  // nothing to read, no hang-up
  ::close(fd);
}

TEST_CASE("RedisServer answers PING and restarts on the same port") {
  RedisServer redis;
  const std::uint16_t port = redis.port();
  CHECK(redis.cli({"PING"}) == "PONG");
  CHECK(redis.cli({"SET", "k", "v"}) == "OK");

  redis.stop();
  CHECK(redis.cli({"PING"}).empty());
  CHECK_FALSE(wait_for_port(port, 100ms));

  redis.start();
  CHECK(redis.port() == port);
  CHECK(redis.cli({"PING"}) == "PONG");
  CHECK(redis.cli({"GET", "k"}).empty());  // --save '': a restart starts empty
}

TEST_CASE("RedisServer with a password refuses clients without it") {
  RedisServer redis(RedisServer::Options{.password = "s3cret"});
  CHECK(redis.cli({"PING"}) == "PONG");
  CHECK_THAT(redis_cli(redis.port(), {"PING"}), Catch::Contains("NOAUTH"));
  CHECK_THAT(redis_cli(redis.port(), {"--no-auth-warning", "-a", "wrong", "PING"}),
             Catch::Contains("NOAUTH"));  // AUTH failed, so PING is refused
}

TEST_CASE("RedisServer over TLS only") {
  RedisServer redis(RedisServer::Options{.tls = true});
  const TestCerts& c = redis.certs();
  CHECK(redis.cli({"PING"}) == "PONG");
  // Verified against our CA, without a client certificate.
  CHECK(redis_cli(redis.port(), {"--tls", "--cacert", c.ca_file, "PING"}) == "PONG\n");
  // Plain TCP is not served.
  CHECK(redis_cli(redis.port(), {"PING"}) != "PONG\n");
}

TEST_CASE("RedisServer over TLS with client certificates required") {
  RedisServer redis(RedisServer::Options{.password = "pw", .tls = true, .tls_auth_clients = true});
  const TestCerts& c = redis.certs();
  CHECK(redis.cli({"PING"}) == "PONG");
  CHECK(redis_cli(redis.port(), {"--tls", "--cacert", c.ca_file, "--no-auth-warning", "-a", "pw", "PING"}) !=
        "PONG\n");
}

TEST_CASE("TcpProxy forwards, cut() breaks current and new connections, restore() heals") {
  RedisServer redis;
  TcpProxy proxy("127.0.0.1", redis.port());
  REQUIRE(proxy.port() != redis.port());

  CHECK(redis_cli(proxy.port(), {"PING"}) == "PONG\n");
  CHECK(proxy.connections_accepted() == 1);

  int held = connect_loopback(proxy.port());
  CHECK(redis_ping_raw(held) == "+PONG\r\n");

  proxy.cut();
  CHECK(redis_ping_raw(held).empty());  // the live connection is gone
  ::close(held);
  CHECK(redis_cli(proxy.port(), {"PING"}) != "PONG\n");
  CHECK(redis.cli({"PING"}) == "PONG");  // only the path is cut, not the server

  proxy.restore();
  CHECK(redis_cli(proxy.port(), {"PING"}) == "PONG\n");
  CHECK(proxy.connections_accepted() == 3);
}

TEST_CASE("TcpProxy to a stopped server closes the client at once") {
  RedisServer redis;
  TcpProxy proxy("localhost", redis.port());
  redis.stop();
  CHECK(redis_cli(proxy.port(), {"PING"}) != "PONG\n");
  redis.start();
  CHECK(redis_cli(proxy.port(), {"PING"}) == "PONG\n");
}

// --- shared servers (tests/servers.sh) --------------------------------------------------------

TEST_CASE("shared_servers describes every shared server") {
  const SharedServers& s = shared_servers();
  CHECK(s.rabbitmq_amqp_port > 0);
  CHECK(s.rabbitmq_http_port > 0);
  CHECK_FALSE(s.rabbitmq_user.empty());
  CHECK_FALSE(s.rabbitmq_password.empty());
  CHECK(s.rabbitmq_amqps_port > 0);
  CHECK(s.rabbitmq_https_port > 0);
  CHECK_FALSE(s.rabbitmq_ca_file.empty());
  CHECK_FALSE(s.rabbitmq_client_cert_file.empty());
  CHECK_FALSE(s.rabbitmq_client_key_file.empty());
  CHECK_FALSE(s.rabbitmq_cert_user.empty());
  CHECK_FALSE(s.kafka_bootstrap.empty());
  CHECK(s.redis_cluster_ports.size() == 3);
  CHECK(s.redis_sentinel_port > 0);
  CHECK(s.redis_sentinel_master == "mymaster");
  CHECK(s.redis_sentinel_master_port > 0);
}

TEST_CASE("shared RabbitMQ: management API with the test user and guest, AMQP port open") {
  const SharedServers& s = shared_servers();
  const std::string url = "http://127.0.0.1:" + std::to_string(s.rabbitmq_http_port) + "/api/overview";
  for (const std::string& credentials : {s.rabbitmq_user + ":" + s.rabbitmq_password, std::string("guest:guest")}) {
    CommandResult r = run_command({"curl", "-sS", "--fail", "-u", credentials, url});
    INFO(credentials.substr(0, credentials.find(':')) << ": " << r.err);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("\"rabbitmq_version\""));
  }
  CHECK(run_command({"curl", "-sS", "--fail", "-u", s.rabbitmq_user + ":wrong", url}).exit_code != 0);
  CHECK(wait_for_port(s.rabbitmq_amqp_port, 1s));
}

TEST_CASE("shared RabbitMQ: HTTPS and AMQPS verify with the test CA, and the client cert names its user") {
  const SharedServers& s = shared_servers();
  const std::string url = "https://127.0.0.1:" + std::to_string(s.rabbitmq_https_port) + "/api/overview";
  const std::string credentials = s.rabbitmq_user + ":" + s.rabbitmq_password;
  CommandResult r = run_command({"curl", "-sS", "--fail", "--cacert", s.rabbitmq_ca_file, "-u", credentials, url});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("\"rabbitmq_version\""));
  // Without the CA the server is not trusted.
  CHECK(run_command({"curl", "-sS", "--fail", "-u", credentials, url}).exit_code != 0);

  const std::string amqps = "127.0.0.1:" + std::to_string(s.rabbitmq_amqps_port);
  r = run_command({"openssl", "s_client", "-connect", amqps, "-verify_return_error", "-CAfile", s.rabbitmq_ca_file,
                   "-verify_ip", "127.0.0.1", "-cert", s.rabbitmq_client_cert_file, "-key",
                   s.rabbitmq_client_key_file});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(run_command({"openssl", "s_client", "-connect", amqps, "-verify_return_error"}).exit_code != 0);
  const std::string subject =
      run_command({"openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in",
                   s.rabbitmq_client_cert_file})
          .out;
  CHECK(subject == "subject=CN=" + s.rabbitmq_cert_user + "\n");
}

TEST_CASE("shared Kafka mock: metadata lists 3 brokers and the pre-created topic") {
  const SharedServers& s = shared_servers();
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", s.kafka_bootstrap.c_str(), errstr, sizeof errstr) ==
          RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  REQUIRE(rk != nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, 10000);
  INFO(rd_kafka_err2str(err));
  REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR);
  CHECK(md->broker_cnt == 3);
  bool found = false;
  for (int i = 0; i < md->topic_cnt; ++i)
    if (std::string(md->topics[i].topic) == "orders") found = md->topics[i].partition_cnt == 3;
  CHECK(found);
  rd_kafka_metadata_destroy(md);
  rd_kafka_destroy(rk);
}

TEST_CASE("shared Redis sentinel reports the master, whose replica is linked") {
  const SharedServers& s = shared_servers();
  CHECK(redis_cli(s.redis_sentinel_port, {"SENTINEL", "get-master-addr-by-name", s.redis_sentinel_master}) ==
        "127.0.0.1\n" + std::to_string(s.redis_sentinel_master_port) + "\n");
  CHECK_THAT(redis_cli(s.redis_sentinel_master_port, {"INFO", "replication"}),
             Catch::Contains("role:master") && Catch::Contains("connected_slaves:1"));
}

TEST_CASE("shared Redis cluster is healthy and redirects across its 3 masters") {
  const SharedServers& s = shared_servers();
  for (std::uint16_t port : s.redis_cluster_ports) {
    INFO("port " << port);
    const std::string info = redis_cli(port, {"CLUSTER", "INFO"});
    CHECK_THAT(info, Catch::Contains("cluster_state:ok") && Catch::Contains("cluster_known_nodes:3"));
  }
  const std::string key = "ebb-support-test-" + std::to_string(::getpid());
  CHECK(redis_cli(s.redis_cluster_ports[0], {"-c", "SET", key, "v"}) == "OK\n");
  CHECK(redis_cli(s.redis_cluster_ports[2], {"-c", "GET", key}) == "v\n");
  CHECK(redis_cli(s.redis_cluster_ports[1], {"-c", "DEL", key}) == "1\n");
}

// Every server of servers.h starts, answers, stops and comes back on the same ports.
TEST_CASE("servers: postgres, mariadb, nats, etcd, beanstalkd and prometheus start, stop and restart") {
  using ebb::test::LocalServer;
  {
    LocalServer pg(ebb::test::postgres_server());
    CHECK(ebb::test::psql(pg, "select 40 + 2") == "42");
    const auto port = pg.port();
    pg.stop();
    CHECK_FALSE(ebb::test::wait_for_port(port, std::chrono::milliseconds(100)));
    pg.start();
    CHECK(pg.port() == port);
    CHECK(ebb::test::psql(pg, "select 1") == "1");
    CHECK_THROWS(ebb::test::psql(pg, "select 1", "wrong-password"));
  }
  {
    LocalServer db(ebb::test::mariadb_server());
    CHECK(ebb::test::mariadb_sql(db, "select 40 + 2") == "42");
    db.stop();
    db.start();
    CHECK(ebb::test::mariadb_sql(db, "select database() is null, count(*) from information_schema.schemata where schema_name = 'test'") ==
          "1\t1");
  }
  {
    LocalServer nats(ebb::test::nats_server());
    CHECK(ebb::test::http_get(nats.port(1), "/jsz").first == 200);
  }
  {
    LocalServer etcd(ebb::test::etcd_server());
    CHECK(ebb::test::http_get(etcd.port(0), "/version").second.find("etcdserver") != std::string::npos);
  }
  {
    LocalServer beanstalkd(ebb::test::beanstalkd_server());
    CHECK(ebb::test::wait_for_port(beanstalkd.port(), std::chrono::milliseconds(500)));
  }
  {
    LocalServer prometheus(ebb::test::prometheus_server({"127.0.0.1:1"}));
    CHECK(ebb::test::http_get(prometheus.port(), "/api/v1/query?query=up").second.find("\"status\":\"success\"") !=
          std::string::npos);
  }
}
