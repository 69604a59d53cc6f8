// Test support: real servers on loopback ports, started and stopped by tests.
//
// Shared, long-running servers (RabbitMQ, the Kafka mock, a Redis cluster and sentinel group)
// are started once by tests/servers.sh and described by environment variables; env() reads them
// and fails loudly (throws) when one is missing, so a test never silently skips.
// Cheap servers (redis-server) are started per test with RedisServer, which is how tests stop
// and restart a server to check that a scaler reports an error and then recovers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ebb::test {

// A child process; killed (SIGTERM, then SIGKILL) and reaped on stop() or destruction.
class Process {
 public:
  Process() = default;
  // stdout and stderr go to `log_file` (stdin is /dev/null). Throws if exec fails.
  static Process start(const std::vector<std::string>& argv, const std::string& log_file);
  Process(Process&&) noexcept;
  Process& operator=(Process&&) noexcept;
  ~Process();
  void stop();
  bool running() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

std::uint16_t free_port();
// A fresh directory under $TMPDIR (or /tmp), removed recursively by the returned guard.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ebb-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};
bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout);
std::string read_file(const std::string& path);
// The repository's root (crds/, examples/, charts/ live there), as the build configured it.
const std::string& source_dir();
// "<prefix>-<pid>-<n>", a name for a key, queue, topic or group that no other test of this run
// and no concurrent run against the same shared servers uses.
std::string unique_name(const std::string& prefix);

// Runs a command to completion (stdin /dev/null) and captures its output. A command still
// running after `timeout` is killed and reported with exit_code -1, so a hung client cannot
// hang a test. Throws only when the program cannot be started.
struct CommandResult {
  int exit_code = -1;  // the exit status, or -1 when killed by a signal or the timeout
  std::string out, err;
};
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A CA and a server certificate for 127.0.0.1/localhost, and a client certificate, made with the
// openssl command line in `dir`. Paths and PEM contents are both provided. The client key also
// exists encrypted (AES-256) with `client_key_password`, for clients that take encrypted keys.
struct TestCerts {
  std::string ca_file, ca_pem;
  std::string server_cert_file, server_key_file;
  std::string client_cert_file, client_cert_pem, client_key_file, client_key_pem;
  std::string client_key_encrypted_pem, client_key_password;
};
TestCerts make_test_certs(const std::string& dir);

// A server of its own on free loopback ports, for one test: the shared harness every scaler's
// integration tests start their servers with. A kind of server is one ServerSpec (one small
// function in servers.h: the command line, what to prepare once, how to tell it is ready).
// stop()/start() keep the same ports and directory, so a test can take a server away and bring
// it back to see an error and then the recovery.
class LocalServer;
struct ServerSpec {
  std::string name;   // "redis-server", for messages
  int ports = 1;      // free loopback ports it listens on: port(0), port(1), ...
  // Once, before the first start, in dir() (initdb, configuration files, certificates).
  std::function<void(LocalServer&)> prepare;
  // The command line for the current ports and directory.
  std::function<std::vector<std::string>(const LocalServer&)> command;
  // True once the server answers; asked until it does or start_timeout passes.
  std::function<bool(const LocalServer&)> ready;
  std::chrono::seconds start_timeout{15};
};

class LocalServer {
 public:
  // Starts the server (throws with the log's tail when it does not become ready). A port another
  // process took between choosing and binding is retried with new ports.
  explicit LocalServer(ServerSpec spec);
  ~LocalServer();
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  std::uint16_t port(std::size_t i = 0) const;
  std::string address(std::size_t i = 0) const;  // "127.0.0.1:<port>"
  const std::string& dir() const;
  std::string log() const;  // stdout and stderr of the server
  bool running() const;
  void stop();   // SIGTERM, then SIGKILL
  void start();  // again, on the same ports; no-op while running

 private:
  void launch();
  ServerSpec spec_;
  TempDir dir_;
  std::vector<std::uint16_t> ports_;
  Process process_;
};

// A redis-server of its own on a free loopback port (servers.h's redis_server() with the
// redis-cli helper most redis tests want).
class RedisServer {
 public:
  struct Options {
    std::string password;      // requirepass (user "default")
    bool tls = false;          // serve TLS only (port() is the TLS port), certs from make_test_certs
    bool tls_auth_clients = false;
  };
  RedisServer();
  explicit RedisServer(Options options);
  ~RedisServer();
  std::uint16_t port() const;
  const TestCerts& certs() const;  // valid when options.tls
  void stop();
  void start();
  // Runs a command with redis-cli against this server (with its password and TLS files) and
  // returns its stdout, trimmed; a refused connection gives "" (redis-cli writes that to stderr).
  std::string cli(const std::vector<std::string>& args) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A loopback socket that listens but never accepts or answers: connects succeed (the kernel
// completes the handshake from the backlog) and every read waits forever. For timeout tests.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A TCP forwarder on a free loopback port, so a test can cut a path to a shared server
// (RabbitMQ, Kafka) and restore it without restarting the server. cut() closes every
// connection and refuses new ones until restore().
class TcpProxy {
 public:
  TcpProxy(std::string target_host, std::uint16_t target_port);
  ~TcpProxy();
  std::uint16_t port() const;
  void cut();
  void restore();
  // New connections go to this target from now on; current ones stay where they are (a service
  // address that moved to a replacement server).
  void retarget(std::string target_host, std::uint16_t target_port);
  // Connections accepted and forwarded (those closed at once while cut are not counted).
  std::size_t connections_accepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Shared servers started by tests/servers.sh (variables written to the file named by
// EBB_TEST_ENV_FILE, default <build>/test-servers.env, or present in the environment).
struct SharedServers {
  std::uint16_t rabbitmq_amqp_port = 0;
  std::uint16_t rabbitmq_http_port = 0;
  std::string rabbitmq_user, rabbitmq_password;
  // The same RabbitMQ over TLS (AMQPS, HTTPS management), with certificates from its own CA for
  // 127.0.0.1/localhost. It verifies a client certificate when one is presented; the client
  // certificate below logs in with SASL EXTERNAL as rabbitmq_cert_user (who has no password).
  std::uint16_t rabbitmq_amqps_port = 0;
  std::uint16_t rabbitmq_https_port = 0;
  std::string rabbitmq_ca_file, rabbitmq_client_cert_file, rabbitmq_client_key_file;  // PEM files
  std::string rabbitmq_cert_user;  // the client certificate's CN
  std::string kafka_bootstrap;  // "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"; "" without Kafka
  std::vector<std::uint16_t> redis_cluster_ports; // 3 masters
  std::uint16_t redis_sentinel_port = 0;
  std::string redis_sentinel_master;              // "mymaster"
  std::uint16_t redis_sentinel_master_port = 0;
};
// Throws std::runtime_error naming the missing variable when the servers are not running.
const SharedServers& shared_servers();

}  // namespace ebb::test
