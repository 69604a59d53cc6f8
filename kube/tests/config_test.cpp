#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "ebb/kube/config.h"

using namespace ebb::kube;

namespace {
const std::string kData = EBB_KUBE_TEST_DATA_DIR;

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

struct ScratchDir {
  std::filesystem::path path;
  ScratchDir() {
    path = std::filesystem::temp_directory_path() / ("ebb-kube-test-" + std::to_string(::getpid()) + "-" +
                                                     std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
};
}  // namespace

TEST_CASE("kubeconfig: current context with a CA file relative to the kubeconfig and a static token") {
  auto config = load_kubeconfig({kData + "/first.yaml"});
  REQUIRE(config.ok());
  CHECK(config->server == "https://dev.example:6443");  // trailing slash dropped
  CHECK(config->namespace_name == "team-a");
  CHECK(config->ca_pem.find("FAKECA") != std::string::npos);
  REQUIRE(config->token);
  CHECK(*config->token->current() == "static-token");
  CHECK(config->cert_pem.empty());
  CHECK_FALSE(config->insecure_skip_tls_verify);
}

TEST_CASE("kubeconfig: explicit context, tokenFile and insecure-skip-tls-verify") {
  auto config = load_kubeconfig({kData + "/first.yaml"}, "shared");
  REQUIRE(config.ok());
  CHECK(config->server == "https://from-first:443");
  CHECK(config->insecure_skip_tls_verify);
  CHECK(config->namespace_name == "default");
  REQUIRE(config->token);
  CHECK(*config->token->current() == "file-token-1");
}

TEST_CASE("kubeconfig: KUBECONFIG merge, first file wins per name and for current-context") {
  const auto paths = split_kubeconfig_paths(kData + "/first.yaml:" + kData + "/missing.yaml::" + kData +
                                            "/second.yaml:" + kData + "/first.yaml");
  REQUIRE(paths.size() == 3);
  auto merged = load_kubeconfig(paths);
  REQUIRE(merged.ok());
  CHECK(merged->context == "dev");  // current-context of the first file
  auto shared = load_kubeconfig(paths, "shared");
  REQUIRE(shared.ok());
  CHECK(shared->server == "https://from-first:443");

  // The order decides: second first.
  auto reversed = load_kubeconfig({kData + "/second.yaml", kData + "/first.yaml"}, "shared");
  REQUIRE(reversed.ok());
  CHECK(reversed->server == "https://from-second:443");
  CHECK(reversed->context == "shared");
}

TEST_CASE("kubeconfig: client certificate and CA data, tls-server-name") {
  auto config = load_kubeconfig({kData + "/first.yaml", kData + "/second.yaml"}, "prod");
  REQUIRE(config.ok());
  CHECK(config->ca_pem == "CADATA");
  CHECK(config->cert_pem == "CERTPEM");
  CHECK(config->key_pem == "KEYPEM");
  CHECK(config->tls_server_name == "api.prod.internal");
  CHECK_FALSE(config->token);
}

TEST_CASE("kubeconfig: errors name the problem, never a secret") {
  auto exec = load_kubeconfig({kData + "/second.yaml"}, "exec");
  REQUIRE_FALSE(exec.ok());
  CHECK_THAT(exec.error().message, Catch::Contains("exec"));

  auto missing_context = load_kubeconfig({kData + "/first.yaml"}, "nope");
  REQUIRE_FALSE(missing_context.ok());
  CHECK_THAT(missing_context.error().message, Catch::Contains("\"nope\" not found"));

  auto bad = load_kubeconfig({kData + "/bad.yaml"});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("bad.yaml"));

  auto none = load_kubeconfig({kData + "/missing.yaml"});
  REQUIRE_FALSE(none.ok());

  auto half = parse_kubeconfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://x"}}]
users: [{name: u, user: {client-certificate-data: Zm9v, token: s3cret}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)", "");
  REQUIRE(half.ok());
  auto resolved = resolve_kubeconfig(*half);
  REQUIRE_FALSE(resolved.ok());
  CHECK_THAT(resolved.error().message, Catch::Contains("client key"));
  CHECK(resolved.error().message.find("s3cret") == std::string::npos);

  auto bad_b64 = parse_kubeconfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://x", certificate-authority-data: "!!"}}]
contexts: [{name: c, context: {cluster: k}}]
)", "");
  REQUIRE(bad_b64.ok());
  auto unresolved = resolve_kubeconfig(*bad_b64);
  REQUIRE_FALSE(unresolved.ok());
  CHECK_THAT(unresolved.error().message, Catch::Contains("base64"));
}

TEST_CASE("in-cluster config: service host, CA, namespace, and a token re-read when it rotates") {
  ScratchDir dir;
  InClusterPaths paths;
  paths.token_file = (dir.path / "token").string();
  paths.ca_file = (dir.path / "ca.crt").string();
  paths.namespace_file = (dir.path / "namespace").string();
  write(paths.token_file, "token-one\n");
  write(paths.ca_file, "CA");
  write(paths.namespace_file, "ebb-system\n");

  auto config = in_cluster_config("10.96.0.1", "443", paths);
  REQUIRE(config.ok());
  CHECK(config->server == "https://10.96.0.1:443");
  CHECK(config->namespace_name == "ebb-system");
  CHECK(config->ca_pem == "CA");
  CHECK(*config->token->current() == "token-one");

  // kubelet swaps the file atomically: a new inode.
  write(paths.token_file + ".new", "token-two-longer\n");
  std::filesystem::rename(paths.token_file + ".new", paths.token_file);
  CHECK(*config->token->current() == "token-two-longer");

  // During a swap the file may briefly be missing: keep the last token.
  std::filesystem::remove(paths.token_file);
  CHECK(*config->token->current() == "token-two-longer");

  auto v6 = in_cluster_config("fd00::1", "6443", paths);
  REQUIRE_FALSE(v6.ok());  // token file gone and nothing read yet
  write(paths.token_file, "t");
  v6 = in_cluster_config("fd00::1", "6443", paths);
  REQUIRE(v6.ok());
  CHECK(v6->server == "https://[fd00::1]:6443");

  CHECK_FALSE(in_cluster_config("", "", paths).ok());
}
