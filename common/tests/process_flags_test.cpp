// The process helpers of ebb_common that decide something (flags.h): where cluster-scoped
// objects' Secrets are read, with the environment and the namespace file injected.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "ebb/process/flags.h"

using namespace ebb::process;

namespace {

NamespaceLookups lookups(std::map<std::string, std::string> env, std::string file) {
  return {[env](const char* name) {
            auto it = env.find(name);
            return it == env.end() ? std::string() : it->second;
          },
          [file] { return file; }};
}

}  // namespace

TEST_CASE(
    "cluster object namespace: flag, then KEDA_CLUSTER_OBJECT_NAMESPACE, POD_NAMESPACE, the file, "
    "keda") {
  const std::map<std::string, std::string> both{{"KEDA_CLUSTER_OBJECT_NAMESPACE", "from-keda-env"},
                                                {"POD_NAMESPACE", "from-pod-env"}};
  CHECK(cluster_object_namespace("from-flag", lookups(both, "from-file")) == "from-flag");
  CHECK(cluster_object_namespace("", lookups(both, "from-file")) == "from-keda-env");
  CHECK(cluster_object_namespace("", lookups({{"POD_NAMESPACE", "from-pod-env"}}, "from-file")) ==
        "from-pod-env");
  CHECK(cluster_object_namespace("", lookups({}, "from-file")) == "from-file");
  CHECK(cluster_object_namespace("", lookups({}, "")) == "keda");
}

TEST_CASE("cluster object namespace: empty values count as unset") {
  CHECK(cluster_object_namespace(
            "", lookups({{"KEDA_CLUSTER_OBJECT_NAMESPACE", ""}, {"POD_NAMESPACE", "pods"}}, "")) ==
        "pods");
  CHECK(cluster_object_namespace(
            "", lookups({{"KEDA_CLUSTER_OBJECT_NAMESPACE", ""}, {"POD_NAMESPACE", ""}}, "")) ==
        "keda");
}

TEST_CASE("cluster object namespace: the default lookups read the environment") {
  ::setenv("KEDA_CLUSTER_OBJECT_NAMESPACE", "env-keda", 1);
  CHECK(cluster_object_namespace("") == "env-keda");
  ::unsetenv("KEDA_CLUSTER_OBJECT_NAMESPACE");
  ::setenv("POD_NAMESPACE", "env-pod", 1);
  CHECK(cluster_object_namespace("") == "env-pod");
  ::unsetenv("POD_NAMESPACE");
  CHECK(cluster_object_namespace("x") == "x");
}

TEST_CASE("pod namespace: read from the file, trailing white space dropped, empty when absent") {
  const std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                           "/ebb-ns-test-" + std::to_string(::getpid());
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    std::fputs("team-a\n", f);
    std::fclose(f);
  }
  CHECK(pod_namespace(path) == "team-a");
  std::remove(path.c_str());
  CHECK(pod_namespace(path).empty());
}

TEST_CASE("watch namespace: KEDA's WATCH_NAMESPACE as a comma list, empty means all") {
  auto env = [](std::string value) {
    return [value](const char* name) {
      return std::string(name) == "WATCH_NAMESPACE" ? value : std::string();
    };
  };
  CHECK(watch_namespace_env(env("")).empty());
  CHECK(watch_namespace_env(env("shop")) == std::vector<std::string>{"shop"});
  CHECK(watch_namespace_env(env(" shop, team-a ,,")) == std::vector<std::string>{"shop", "team-a"});
  ::setenv("WATCH_NAMESPACE", "a,b", 1);
  CHECK(watch_namespace_env() == std::vector<std::string>{"a", "b"});
  ::unsetenv("WATCH_NAMESPACE");
  CHECK(watch_namespace_env().empty());
}
