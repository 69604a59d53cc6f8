#include "test_apiserver.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "http_server.h"

namespace ebb::testapi {

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("test apiserver: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

struct TestApiServer::Impl {
  std::unique_ptr<Store> store;
  std::unique_ptr<Router> router;
  std::unique_ptr<HttpServer> main, plain;
  bool tls = false;
  std::string cert;
};

TestApiServer::TestApiServer(TestApiServerOptions o) : impl_(std::make_unique<Impl>()) {
  StoreOptions so;
  so.watch_window = o.watch_window;
  so.preregister_keda = o.preregister_keda;
  so.workload_controllers = o.workload_controllers;
  so.extension_apiserver_authentication = o.extension_apiserver_authentication;
  impl_->store = std::make_unique<Store>(so);
  RouterOptions ro;
  ro.bookmark_interval = o.bookmark_interval;
  ro.access_policy = o.access_policy;
  impl_->router = std::make_unique<Router>(*impl_->store, ro);
  impl_->router->on_close_watches = [s = impl_->store.get()] { s->close_watches(); };
  HttpServerOptions ho;
  ho.port = o.port;
  std::string cert = o.tls_cert_pem, key = o.tls_key_pem;
  if (!o.tls_cert_file.empty()) cert = slurp(o.tls_cert_file);
  if (!o.tls_key_file.empty()) key = slurp(o.tls_key_file);
  if (o.tls_self_signed && cert.empty()) std::tie(cert, key) = make_self_signed_certificate();
  impl_->tls = !cert.empty();
  if (impl_->tls) {
    ho.tls = true;
    ho.cert_pem = cert;
    ho.key_pem = key;
    impl_->cert = cert;
  }
  impl_->main = std::make_unique<HttpServer>(*impl_->router, ho);
  if (impl_->tls && o.http_port) {
    HttpServerOptions po;
    po.port = *o.http_port;
    impl_->plain = std::make_unique<HttpServer>(*impl_->router, po);
  }
}

TestApiServer::~TestApiServer() { stop(); }

void TestApiServer::stop() {
  if (impl_->store) impl_->store->close_watches();
  if (impl_->plain) impl_->plain->stop();
  if (impl_->main) impl_->main->stop();
}

std::string TestApiServer::url() const { return impl_->tls ? https_url() : http_url(); }

std::string TestApiServer::http_url() const {
  if (!impl_->tls) return "http://127.0.0.1:" + std::to_string(impl_->main->port());
  if (impl_->plain) return "http://127.0.0.1:" + std::to_string(impl_->plain->port());
  return "";
}

std::string TestApiServer::https_url() const {
  return impl_->tls ? "https://127.0.0.1:" + std::to_string(impl_->main->port()) : "";
}

std::string TestApiServer::ca_pem() const { return impl_->cert; }
void TestApiServer::inject(Fault fault) { impl_->router->inject(std::move(fault)); }
void TestApiServer::clear_faults() { impl_->router->clear_faults(); }
void TestApiServer::pause(std::chrono::milliseconds d) { impl_->router->pause(d); }
void TestApiServer::close_watches() { impl_->store->close_watches(); }
void TestApiServer::drop_connections() {
  impl_->main->drop_connections();
  if (impl_->plain) impl_->plain->drop_connections();
}
std::vector<LoggedRequest> TestApiServer::request_log() const { return impl_->router->request_log(); }
void TestApiServer::clear_request_log() { impl_->router->clear_request_log(); }
Store& TestApiServer::store() { return *impl_->store; }

}  // namespace ebb::testapi
