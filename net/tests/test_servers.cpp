#include "test_servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ebb::net::testing {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_file) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

std::string tail(const std::string& text, std::size_t n = 2000) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/ebb-net-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

Process::Process(const std::vector<std::string>& argv, const std::string& log_file)
    : pid_(spawn(argv, log_file)) {}

Process::~Process() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

void run_command(const std::vector<std::string>& argv, const std::string& log_file) {
  const pid_t pid = spawn(argv, log_file);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("waitpid");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(argv[0] + " failed; log:\n" + tail(read_file(log_file)));
  }
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
    ::close(fd);
    throw_errno("bind");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

void wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (up) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("nothing listens on 127.0.0.1:" + std::to_string(port));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Certs make_certs(const std::string& dir) {
  const std::string log = dir + "/openssl.log";
  const auto path = [&](const char* name) { return dir + "/" + name; };
  const auto write = [](const std::string& file, const std::string& text) { std::ofstream(file) << text; };
  const std::vector<std::string> ec_key = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
  const auto request = [&](const std::string& name, const std::string& subject) {
    std::vector<std::string> argv = {"openssl", "req"};
    argv.insert(argv.end(), ec_key.begin(), ec_key.end());
    argv.insert(argv.end(), {"-keyout", path("") + name + ".key", "-out", path("") + name + ".csr", "-subj", subject});
    run_command(argv, log);
  };
  const auto sign = [&](const std::string& name, const std::string& extensions) {
    write(path("") + name + ".ext", extensions);
    run_command({"openssl", "x509", "-req", "-in", path("") + name + ".csr", "-CA", path("ca.crt"), "-CAkey",
                 path("ca.key"), "-CAcreateserial", "-days", "2", "-out", path("") + name + ".crt",
                 "-extfile", path("") + name + ".ext"},
                log);
  };

  std::vector<std::string> ca = {"openssl", "req", "-x509"};
  ca.insert(ca.end(), ec_key.begin(), ec_key.end());
  ca.insert(ca.end(), {"-keyout", path("ca.key"), "-out", path("ca.crt"), "-days", "2", "-subj", "/CN=ebb test CA",
                       "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                       "keyUsage=critical,keyCertSign,cRLSign"});
  run_command(ca, log);
  request("server", "/CN=localhost");
  sign("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  request("client", "/CN=ebb test client");
  sign("client", "extendedKeyUsage=clientAuth\n");

  Certs certs;
  run_command({"openssl", "pkey", "-in", path("client.key"), "-aes256", "-passout",
               "pass:" + certs.client_key_password, "-out", path("client-encrypted.key")},
              log);
  certs.ca_file = path("ca.crt");
  certs.ca_pem = read_file(certs.ca_file);
  certs.server_cert_file = path("server.crt");
  certs.server_key_file = path("server.key");
  certs.client_cert_pem = read_file(path("client.crt"));
  certs.client_key_pem = read_file(path("client.key"));
  certs.client_key_encrypted_pem = read_file(path("client-encrypted.key"));
  return certs;
}

SilentListener::SilentListener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || ::listen(fd_, 16) < 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
    ::close(fd_);
    throw_errno("listen");
  }
  port_ = ntohs(addr.sin_port);
}

SilentListener::~SilentListener() { ::close(fd_); }

namespace {

std::vector<std::string> redis_argv(RedisServer::Mode mode, const std::string& dir, const Certs& certs,
                                    std::uint16_t port) {
  std::vector<std::string> argv = {"redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                   "--dir", dir};
  const std::string p = std::to_string(port);
  if (mode == RedisServer::Mode::plain) {
    argv.insert(argv.end(), {"--port", p});
  } else {
    argv.insert(argv.end(), {"--port", "0", "--tls-port", p, "--tls-cert-file", certs.server_cert_file,
                             "--tls-key-file", certs.server_key_file, "--tls-ca-cert-file", certs.ca_file,
                             "--tls-auth-clients", mode == RedisServer::Mode::tls_client_auth ? "yes" : "no"});
  }
  return argv;
}

// Routes used by http_client_test.cpp. One handler object serves one connection, which is what
// /peer (the client's port identifies its connection) and /arm-drop rely on.
constexpr const char* kHttpServerScript = R"PY(
import ssl, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    drop_next = False

    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))

    def handle_one_request(self):
        if self.drop_next:
            # Read the next request, then hang up without answering: a keep-alive connection
            # that the server gave up on just as the client reused it.
            self.rfile.readline(65537)
            self.close_connection = True
            return
        super().handle_one_request()

    def reply(self, status, body, headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self.route()

    def do_HEAD(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        path, _, query = self.path.partition("?")
        if path == "/hello":
            self.reply(200, "hello world", [("X-Test", "yes")])
        elif path == "/peer":
            self.reply(200, str(self.client_address[1]))
        elif path == "/auth":
            self.reply(200, self.headers.get("Authorization", "<none>"))
        elif path == "/echo":
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.reply(200, "%s %s %s" % (self.command, self.path, body.decode()))
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in [b"hello ", b"chunked", b" world"]:
                self.wfile.write(b"%x;name=value\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Trailer: ignored\r\n\r\n")
        elif path == "/many-chunks":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"a\r\n0123456789\r\n" * 5000 + b"0\r\n\r\n")
        elif path == "/close":
            self.reply(200, "bye", [("Connection", "close")])
        elif path == "/drop":
            self.reply(200, "dropping")
            self.close_connection = True
        elif path == "/arm-drop":
            self.reply(200, "armed")
            self.drop_next = True
        elif path == "/slow":
            time.sleep(float(query or "2"))
            self.reply(200, "slow")
        elif path == "/big":
            self.reply(200, "x" * 100000)
        else:
            self.reply(404, "no route for " + path)

ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
if len(sys.argv) > 2:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[2], sys.argv[3])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
)PY";

std::vector<std::string> http_argv(bool tls, const std::string& dir, const Certs& certs, std::uint16_t port) {
  const std::string script = dir + "/http_server.py";
  std::ofstream(script) << kHttpServerScript;
  std::vector<std::string> argv = {"python3", script, std::to_string(port)};
  if (tls) argv.insert(argv.end(), {certs.server_cert_file, certs.server_key_file});
  return argv;
}

}  // namespace

RedisServer::RedisServer(Mode mode)
    : certs_(mode == Mode::plain ? Certs{} : make_certs(dir_.path())),
      port_(free_port()),
      process_(redis_argv(mode, dir_.path(), certs_, port_), dir_.path() + "/redis.log") {
  wait_for_port(port_);
}

HttpServer::HttpServer(bool tls)
    : tls_(tls),
      certs_(tls ? make_certs(dir_.path()) : Certs{}),
      port_(free_port()),
      process_(http_argv(tls, dir_.path(), certs_, port_), dir_.path() + "/http.log") {
  wait_for_port(port_);
}

std::string HttpServer::url(const std::string& path) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
}

}  // namespace ebb::net::testing
