// Real servers for the net tests: child processes on free loopback ports, in a private temp dir.
//
// Deliberately local to net/: tests/support is owned elsewhere and still changing, and these
// tests need only a handful of helpers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ebb::net::testing {

// A fresh directory under $TMPDIR (or /tmp), removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process (stdin /dev/null, stdout+stderr to `log_file`), killed and reaped on destruction.
// The child also gets SIGKILL if the test binary dies, so no server outlives a crashed run.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log_file);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Runs a command to completion; throws with the tail of its log if it fails.
void run_command(const std::vector<std::string>& argv, const std::string& log_file);

std::uint16_t free_port();
// Throws if nothing accepts on 127.0.0.1:port within `timeout`.
void wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
std::string read_file(const std::string& path);

// A CA, a server certificate for IP:127.0.0.1 and DNS:localhost, and a client certificate whose
// key also exists encrypted with `client_key_password`.
struct Certs {
  std::string ca_file, ca_pem;
  std::string server_cert_file, server_key_file;
  std::string client_cert_pem, client_key_pem, client_key_encrypted_pem;
  std::string client_key_password = "hunter2";
};
Certs make_certs(const std::string& dir);

// A socket that listens but never accepts or answers: connects succeed (the kernel completes the
// handshake from the backlog) and every read waits forever.
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

class RedisServer {
 public:
  enum class Mode { plain, tls, tls_client_auth };
  explicit RedisServer(Mode mode = Mode::plain);
  std::uint16_t port() const { return port_; }
  const Certs& certs() const { return certs_; }

 private:
  TempDir dir_;
  Certs certs_;
  std::uint16_t port_;
  Process process_;
};

// A small Python ThreadingHTTPServer (HTTP/1.1, keep-alive), optionally over TLS with make_certs()
// certificates. Its routes (/hello, /peer, /chunked, /arm-drop, ...) are listed in the .cpp.
class HttpServer {
 public:
  explicit HttpServer(bool tls = false);
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const;
  const Certs& certs() const { return certs_; }

 private:
  bool tls_;
  TempDir dir_;
  Certs certs_;
  std::uint16_t port_;
  Process process_;
};

}  // namespace ebb::net::testing
