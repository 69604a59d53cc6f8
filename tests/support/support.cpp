#include "support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef EBB_TEST_DEFAULT_ENV_FILE
#define EBB_TEST_DEFAULT_ENV_FILE "test-servers.env"
#endif

namespace ebb::test {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string errno_text(int e) { return std::strerror(e); }

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// The last lines of a log, for error messages that explain why a server did not start.
std::string log_tail(const std::string& path, std::size_t lines = 20) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += "  | " + all[i] + "\n";
  return out.empty() ? "  | (empty log " + path + ")\n" : out;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// fork + execvp with stdin on /dev/null and stdout/stderr on the given descriptors. The child
// dies with the test process (PR_SET_PDEATHSIG), so a crashed or killed test leaves no servers
// behind; note that this ties the child to the *thread* that started it.
pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd) {
  if (argv.empty()) throw std::invalid_argument("spawn: empty argv");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) throw std::runtime_error("open /dev/null: " + errno_text(errno));
  int exec_error[2];  // CLOEXEC: closes on a successful exec, carries errno otherwise
  if (::pipe2(exec_error, O_CLOEXEC) != 0) {
    ::close(devnull);
    throw std::runtime_error("pipe2: " + errno_text(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(devnull);
    ::close(exec_error[0]);
    ::close(exec_error[1]);
    throw std::runtime_error("fork: " + errno_text(e));
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    // Sockets the test holds (proxies, clients) must not stay open in a server's process.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(args[0], args.data());
    int e = errno;
    [[maybe_unused]] auto n = ::write(exec_error[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(devnull);
  ::close(exec_error[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_error[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(exec_error[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    ::waitpid(pid, nullptr, 0);
    throw std::runtime_error("cannot run " + argv[0] + ": " + errno_text(child_errno));
  }
  return pid;
}

// Exit status, or -1 for a signal.
int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

bool reap_within(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    pid_t r = ::waitpid(pid, nullptr, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

int connect_with_timeout(const sockaddr* addr, socklen_t len, std::chrono::milliseconds timeout) {
  int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (::connect(fd, addr, len) != 0) {
    if (errno != EINPROGRESS) {
      ::close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t err_len = sizeof err;
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0 || err != 0) {
      ::close(fd);
      return -1;
    }
  }
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Closes with RST rather than FIN, so the peer sees the link die rather than a clean goodbye.
void reset_and_close(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Process

Process Process::start(const std::vector<std::string>& argv, const std::string& log_file) {
  int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) throw std::runtime_error("cannot open log " + log_file + ": " + errno_text(errno));
  Process p;
  try {
    p.pid_ = spawn(argv, log, log);
  } catch (...) {
    ::close(log);
    throw;
  }
  ::close(log);
  return p;
}

Process::Process(Process&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

Process::~Process() { stop(); }

void Process::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!reap_within(pid_, 5s)) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

bool Process::running() const {
  if (pid_ <= 0) return false;
  siginfo_t info{};
  // WNOWAIT: look without reaping, so stop() still owns the child.
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == 0;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + errno_text(errno));
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    int e = errno;
    ::close(fd);
    throw std::runtime_error("free_port: " + errno_text(e));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr)
    throw std::runtime_error("mkdtemp " + templ + ": " + errno_text(errno));
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const sockaddr_in a = loopback(port);
  for (;;) {
    int fd = connect_with_timeout(reinterpret_cast<const sockaddr*>(&a), sizeof a, 200ms);
    if (fd >= 0) {
      ::close(fd);
      return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

const std::string& source_dir() {
  static const std::string dir = EBB_SOURCE_DIR;
  return dir;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2: " + errno_text(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error("pipe2: " + errno_text(e));
  }
  pid_t pid;
  try {
    pid = spawn(argv, out[1], err[1]);
  } catch (...) {
    for (int fd : {out[0], out[1], err[0], err[1]}) ::close(fd);
    throw;
  }
  ::close(out[1]);
  ::close(err[1]);

  CommandResult result;
  const auto deadline = Clock::now() + timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  bool timed_out = false;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int r = ::poll(fds, 2, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;  // poll ignores negative descriptors
      }
    }
  }
  for (auto& p : fds) close_fd(p.fd);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = timed_out ? -1 : exit_code_of(status);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Certificates

TestCerts make_test_certs(const std::string& dir) {
  const std::string cnf = dir + "/openssl.cnf";
  {
    std::ofstream f(cnf);
    f << "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n"
         "[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
         "subjectKeyIdentifier = hash\n"
         "[server]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1,DNS:localhost\n"
         "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
         "[client]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
         "extendedKeyUsage = clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";
    if (!f) throw std::runtime_error("cannot write " + cnf);
  }
  auto openssl = [](std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    CommandResult r = run_command(args, 30s);
    if (r.exit_code != 0) throw std::runtime_error("openssl " + args[1] + " failed: " + r.err);
  };
  // EC P-256 keys: fast to make, and every TLS stack we test accepts them.
  const std::vector<std::string> new_key = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                            "-nodes"};
  TestCerts c;
  c.ca_file = dir + "/ca.crt";
  const std::string ca_key = dir + "/ca.key";
  std::vector<std::string> ca = {"req", "-x509", "-new", "-config", cnf, "-extensions", "ca",
                                 "-subj", "/CN=Ebb Test CA", "-days", "3650", "-keyout", ca_key,
                                 "-out", c.ca_file};
  ca.insert(ca.end(), new_key.begin(), new_key.end());
  openssl(ca);

  auto issue = [&](const std::string& name, const std::string& cn, const std::string& section,
                   std::string& cert, std::string& key) {
    cert = dir + "/" + name + ".crt";
    key = dir + "/" + name + ".key";
    const std::string csr = dir + "/" + name + ".csr";
    std::vector<std::string> req = {"req", "-new", "-config", cnf, "-subj", "/CN=" + cn, "-keyout", key,
                                    "-out", csr};
    req.insert(req.end(), new_key.begin(), new_key.end());
    openssl(req);
    openssl({"x509", "-req", "-in", csr, "-CA", c.ca_file, "-CAkey", ca_key, "-CAcreateserial",
             "-days", "3650", "-extfile", cnf, "-extensions", section, "-out", cert});
  };
  issue("server", "localhost", "server", c.server_cert_file, c.server_key_file);
  issue("client", "ebb-test-client", "client", c.client_cert_file, c.client_key_file);
  c.client_key_password = "hunter2";
  const std::string encrypted_key = dir + "/client-encrypted.key";
  openssl({"pkey", "-in", c.client_key_file, "-aes256", "-passout", "pass:" + c.client_key_password, "-out",
           encrypted_key});
  c.ca_pem = read_file(c.ca_file);
  c.client_cert_pem = read_file(c.client_cert_file);
  c.client_key_pem = read_file(c.client_key_file);
  c.client_key_encrypted_pem = read_file(encrypted_key);
  return c;
}

// ---------------------------------------------------------------------------------------------
// LocalServer

LocalServer::LocalServer(ServerSpec spec) : spec_(std::move(spec)), dir_("ebb-" + spec_.name) {
  for (int attempt = 1;; ++attempt) {
    ports_.clear();
    for (int i = 0; i < spec_.ports; ++i) ports_.push_back(free_port());
    try {
      if (attempt == 1 && spec_.prepare) spec_.prepare(*this);
      launch();
      return;
    } catch (const std::exception&) {
      // free_port() can race with another test process taking the same port.
      std::string text;
      try {
        text = read_file(log());
      } catch (...) {
      }
      const bool taken = text.find("already in use") != std::string::npos ||
                         text.find("Address in use") != std::string::npos || text.find("bind:") != std::string::npos;
      if (attempt >= 3 || !taken) throw;
    }
  }
}

LocalServer::~LocalServer() = default;

std::uint16_t LocalServer::port(std::size_t i) const { return ports_.at(i); }
std::string LocalServer::address(std::size_t i) const { return "127.0.0.1:" + std::to_string(port(i)); }
const std::string& LocalServer::dir() const { return dir_.path(); }
std::string LocalServer::log() const { return dir_.path() + "/" + spec_.name + ".log"; }
bool LocalServer::running() const { return process_.running(); }
void LocalServer::stop() { process_.stop(); }

void LocalServer::start() {
  if (process_.running()) return;
  process_.stop();  // reap one that died on its own
  launch();
}

void LocalServer::launch() {
  process_ = Process::start(spec_.command(*this), log());
  const auto deadline = Clock::now() + spec_.start_timeout;
  while (Clock::now() < deadline) {
    if (!process_.running()) break;
    if (wait_for_port(port(0), 100ms) && (!spec_.ready || spec_.ready(*this))) return;
    std::this_thread::sleep_for(20ms);
  }
  process_.stop();
  throw std::runtime_error(spec_.name + " on " + address(0) + " did not become ready within " +
                           std::to_string(spec_.start_timeout.count()) + " s; log " + log() + ":\n" + log_tail(log()));
}

// ---------------------------------------------------------------------------------------------
// RedisServer

struct RedisServer::Impl {
  Options options;
  TestCerts certs;
  std::unique_ptr<LocalServer> server;

  std::vector<std::string> cli_prefix(std::uint16_t port) const {
    std::vector<std::string> argv = {"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port)};
    if (options.tls) {
      argv.insert(argv.end(), {"--tls", "--cacert", certs.ca_file, "--cert", certs.client_cert_file,
                               "--key", certs.client_key_file});
    }
    if (!options.password.empty()) argv.insert(argv.end(), {"--no-auth-warning", "-a", options.password});
    return argv;
  }

  std::string cli(std::uint16_t port, const std::vector<std::string>& args) const {
    std::vector<std::string> argv = cli_prefix(port);
    argv.insert(argv.end(), args.begin(), args.end());
    return trim(run_command(argv).out);
  }
};

RedisServer::RedisServer() : RedisServer(Options{}) {}

RedisServer::RedisServer(Options options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  Impl* impl = impl_.get();
  ServerSpec spec;
  spec.name = "redis-server";
  spec.prepare = [impl](LocalServer& s) {
    if (impl->options.tls) impl->certs = make_test_certs(s.dir());
  };
  spec.command = [impl](const LocalServer& s) {
    std::vector<std::string> argv = {"redis-server", "--bind", "127.0.0.1", "--dir", s.dir(), "--save", "",
                                     "--appendonly", "no", "--daemonize", "no", "--logfile", ""};
    const auto port = std::to_string(s.port());
    if (impl->options.tls) {
      argv.insert(argv.end(), {"--port", "0", "--tls-port", port, "--tls-cert-file", impl->certs.server_cert_file,
                               "--tls-key-file", impl->certs.server_key_file, "--tls-ca-cert-file",
                               impl->certs.ca_file, "--tls-auth-clients", impl->options.tls_auth_clients ? "yes" : "no"});
    } else {
      argv.insert(argv.end(), {"--port", port});
    }
    if (!impl->options.password.empty()) argv.insert(argv.end(), {"--requirepass", impl->options.password});
    return argv;
  };
  spec.ready = [impl](const LocalServer& s) { return impl->cli(s.port(), {"PING"}) == "PONG"; };
  spec.start_timeout = 10s;
  impl_->server = std::make_unique<LocalServer>(std::move(spec));
}

RedisServer::~RedisServer() = default;
std::uint16_t RedisServer::port() const { return impl_->server->port(); }
const TestCerts& RedisServer::certs() const { return impl_->certs; }
void RedisServer::stop() { impl_->server->stop(); }
void RedisServer::start() { impl_->server->start(); }
std::string RedisServer::cli(const std::vector<std::string>& args) const { return impl_->cli(port(), args); }

// ---------------------------------------------------------------------------------------------
// SilentListener

SilentListener::SilentListener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("SilentListener: " + errno_text(errno));
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    int e = errno;
    close_fd(fd_);
    throw std::runtime_error("SilentListener listen: " + errno_text(e));
  }
  port_ = ntohs(a.sin_port);
}

SilentListener::~SilentListener() { close_fd(fd_); }

// ---------------------------------------------------------------------------------------------
// TcpProxy

struct TcpProxy::Impl {
  struct Link {
    int client = -1, upstream = -1;
    bool done = false;
    std::thread pump;
  };

  std::string target_host;  // guarded by mu (retarget)
  std::uint16_t target_port = 0;
  int listener = -1;
  int wake = -1;  // eventfd that stops the acceptor
  std::uint16_t port = 0;
  std::atomic<bool> is_cut{false};
  std::atomic<std::size_t> accepted{0};
  std::mutex mu;  // guards links and every Link's descriptors
  std::list<std::shared_ptr<Link>> links;
  std::thread acceptor;

  int connect_upstream() {
    std::string host;
    std::uint16_t port_number = 0;
    {
      std::lock_guard lock(mu);
      host = target_host;
      port_number = target_port;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port_number).c_str(), &hints, &res) != 0)
      return -1;
    int fd = -1;
    for (addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) fd = connect_with_timeout(ai->ai_addr, ai->ai_addrlen, 3s);
    ::freeaddrinfo(res);
    return fd;
  }

  static bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  void pump(const std::shared_ptr<Link>& link) {
    // Copies both directions; an EOF on one side is passed on as a half-close.
    pollfd fds[2] = {{link->client, POLLIN, 0}, {link->upstream, POLLIN, 0}};
    const int peer[2] = {link->upstream, link->client};
    char buf[64 * 1024];
    int open_directions = 2;
    while (open_directions > 0) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      bool failed = false;
      for (int i = 0; i < 2 && !failed; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n > 0) {
          failed = !write_all(peer[i], buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
          ::shutdown(peer[i], SHUT_WR);
          fds[i].fd = -1;
          --open_directions;
        } else {
          failed = true;
        }
      }
      if (failed) break;
    }
    std::lock_guard lock(mu);
    close_fd(link->client);
    close_fd(link->upstream);
    link->done = true;
  }

  // Joins finished pumps so a long test does not accumulate threads.
  void reap_finished() {
    std::list<std::shared_ptr<Link>> finished;
    {
      std::lock_guard lock(mu);
      for (auto it = links.begin(); it != links.end();) {
        if ((*it)->done) {
          finished.push_back(*it);
          it = links.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& l : finished) l->pump.join();
  }

  // Breaks every current link and waits until their pumps have closed both ends.
  void break_all_links() {
    std::list<std::shared_ptr<Link>> all;
    {
      std::lock_guard lock(mu);
      for (auto& l : links) {
        if (l->client >= 0) ::shutdown(l->client, SHUT_RDWR);
        if (l->upstream >= 0) ::shutdown(l->upstream, SHUT_RDWR);
      }
      all.swap(links);
    }
    for (auto& l : all) l->pump.join();
  }

  void accept_loop() {
    pollfd fds[2] = {{listener, POLLIN, 0}, {wake, POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      if (fds[0].revents == 0) continue;
      int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      reap_finished();
      if (is_cut) {
        reset_and_close(client);
        continue;
      }
      int upstream = connect_upstream();
      if (upstream < 0) {
        reset_and_close(client);
        continue;
      }
      std::lock_guard lock(mu);
      if (is_cut) {  // cut() ran while we were connecting
        reset_and_close(client);
        ::close(upstream);
        continue;
      }
      auto link = std::make_shared<Link>();
      link->client = client;
      link->upstream = upstream;
      link->pump = std::thread([this, link] { pump(link); });
      links.push_back(link);
      ++accepted;
    }
  }
};

TcpProxy::TcpProxy(std::string target_host, std::uint16_t target_port) : impl_(std::make_unique<Impl>()) {
  impl_->target_host = std::move(target_host);
  impl_->target_port = target_port;
  impl_->listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  impl_->wake = ::eventfd(0, EFD_CLOEXEC);
  if (impl_->listener < 0 || impl_->wake < 0) {
    close_fd(impl_->listener);
    close_fd(impl_->wake);
    throw std::runtime_error("TcpProxy: " + errno_text(errno));
  }
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(impl_->listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(impl_->listener, 128) != 0 ||
      ::getsockname(impl_->listener, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    int e = errno;
    close_fd(impl_->listener);
    close_fd(impl_->wake);
    throw std::runtime_error("TcpProxy listen: " + errno_text(e));
  }
  impl_->port = ntohs(a.sin_port);
  impl_->acceptor = std::thread([impl = impl_.get()] { impl->accept_loop(); });
}

TcpProxy::~TcpProxy() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(impl_->wake, &one, sizeof one);
  impl_->acceptor.join();
  impl_->break_all_links();
  close_fd(impl_->listener);
  close_fd(impl_->wake);
}

std::uint16_t TcpProxy::port() const { return impl_->port; }

void TcpProxy::cut() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->is_cut = true;
  }
  impl_->break_all_links();
}

void TcpProxy::restore() { impl_->is_cut = false; }

void TcpProxy::retarget(std::string target_host, std::uint16_t target_port) {
  std::lock_guard lock(impl_->mu);
  impl_->target_host = std::move(target_host);
  impl_->target_port = target_port;
}
std::size_t TcpProxy::connections_accepted() const { return impl_->accepted; }

// ---------------------------------------------------------------------------------------------
// Shared servers

namespace {

std::map<std::string, std::string> read_env_file(const std::string& path) {
  std::map<std::string, std::string> vars;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = trim(line.substr(7));
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    vars[trim(line.substr(0, eq))] = value;
  }
  return vars;
}

SharedServers load_shared_servers() {
  const char* env_file = std::getenv("EBB_TEST_ENV_FILE");
  const std::string path = env_file && *env_file ? env_file : EBB_TEST_DEFAULT_ENV_FILE;
  const auto file_vars = read_env_file(path);

  // The process environment wins over the file, so one value can be pointed elsewhere by hand.
  auto get = [&](const std::string& name) -> std::string {
    if (const char* v = std::getenv(name.c_str()); v && *v) return v;
    if (auto it = file_vars.find(name); it != file_vars.end() && !it->second.empty()) return it->second;
    throw std::runtime_error(name + " is not set (environment or " + path +
                             "): the shared test servers are not running; start them with tests/servers.sh "
                             "(bash scripts/test.sh does) and point EBB_TEST_ENV_FILE at its env file");
  };
  auto get_port = [&](const std::string& name) -> std::uint16_t {
    const std::string v = get(name);
    char* end = nullptr;
    long p = std::strtol(v.c_str(), &end, 10);
    if (end == v.c_str() || *end != '\0' || p <= 0 || p > 65535)
      throw std::runtime_error(name + "=" + v + " is not a port number");
    return static_cast<std::uint16_t>(p);
  };

  SharedServers s;
  s.rabbitmq_amqp_port = get_port("EBB_TEST_RABBITMQ_AMQP_PORT");
  s.rabbitmq_http_port = get_port("EBB_TEST_RABBITMQ_HTTP_PORT");
  s.rabbitmq_user = get("EBB_TEST_RABBITMQ_USER");
  s.rabbitmq_password = get("EBB_TEST_RABBITMQ_PASSWORD");
  s.rabbitmq_amqps_port = get_port("EBB_TEST_RABBITMQ_AMQPS_PORT");
  s.rabbitmq_https_port = get_port("EBB_TEST_RABBITMQ_HTTPS_PORT");
  s.rabbitmq_ca_file = get("EBB_TEST_RABBITMQ_CA_FILE");
  s.rabbitmq_client_cert_file = get("EBB_TEST_RABBITMQ_CLIENT_CERT_FILE");
  s.rabbitmq_client_key_file = get("EBB_TEST_RABBITMQ_CLIENT_KEY_FILE");
  s.rabbitmq_cert_user = get("EBB_TEST_RABBITMQ_CERT_USER");
  // Empty when the servers were started without Kafka (the ThreadSanitizer run, where no test
  // uses it); a Kafka test then fails on an empty bootstrap.servers.
  try {
    s.kafka_bootstrap = get("EBB_TEST_KAFKA_BOOTSTRAP");
  } catch (const std::runtime_error&) {
    s.kafka_bootstrap.clear();
  }
  {
    std::stringstream list(get("EBB_TEST_REDIS_CLUSTER_PORTS"));
    for (std::string item; std::getline(list, item, ',');) {
      char* end = nullptr;
      long p = std::strtol(item.c_str(), &end, 10);
      if (end == item.c_str() || p <= 0 || p > 65535)
        throw std::runtime_error("EBB_TEST_REDIS_CLUSTER_PORTS has a bad port '" + item + "'");
      s.redis_cluster_ports.push_back(static_cast<std::uint16_t>(p));
    }
  }
  s.redis_sentinel_port = get_port("EBB_TEST_REDIS_SENTINEL_PORT");
  s.redis_sentinel_master = get("EBB_TEST_REDIS_SENTINEL_MASTER");
  s.redis_sentinel_master_port = get_port("EBB_TEST_REDIS_SENTINEL_MASTER_PORT");
  return s;
}

}  // namespace

const SharedServers& shared_servers() {
  // A throwing initialiser leaves the static uninitialised, so every test that asks fails loudly.
  static const SharedServers servers = load_shared_servers();
  return servers;
}

}  // namespace ebb::test
