#include "http_test_server.h"

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace ebb::net::testing {
namespace {

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

std::vector<std::string> http_argv(bool tls, const std::string& dir, const ebb::test::TestCerts& certs,
                                   std::uint16_t port) {
  const std::string script = dir + "/http_server.py";
  std::ofstream(script) << kHttpServerScript;
  std::vector<std::string> argv = {"python3", script, std::to_string(port)};
  if (tls) argv.insert(argv.end(), {certs.server_cert_file, certs.server_key_file});
  return argv;
}

}  // namespace

HttpServer::HttpServer(bool tls)
    : tls_(tls),
      certs_(tls ? ebb::test::make_test_certs(dir_.path()) : ebb::test::TestCerts{}),
      port_(ebb::test::free_port()),
      process_(ebb::test::Process::start(http_argv(tls, dir_.path(), certs_, port_), dir_.path() + "/http.log")) {
  if (!ebb::test::wait_for_port(port_, std::chrono::seconds(10)))
    throw std::runtime_error("the test HTTP server did not listen on 127.0.0.1:" + std::to_string(port_) +
                             "; log " + dir_.path() + "/http.log:\n" + ebb::test::read_file(dir_.path() + "/http.log"));
}

std::string HttpServer::url(const std::string& path) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
}

}  // namespace ebb::net::testing
