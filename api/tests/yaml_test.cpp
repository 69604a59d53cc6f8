// YAML and JSON text -> documents: core-schema typing, multi-document streams, duplicate keys,
// merge keys, tags, syntax errors, Lists.
#include <catch2/catch.hpp>

#include <cmath>

#include "ebb/api/decode.h"
#include "test_support.h"
#include "yaml_json.h"

using nlohmann::json;
using namespace ebb::api;
using ebb::api::test::strings;

namespace {

json scalar(const std::string& yaml_value) {
  auto value = yaml_to_json("v: " + yaml_value + "\n");
  CAPTURE(yaml_value);
  REQUIRE(value.ok());
  return value.value()["v"];
}

}  // namespace

TEST_CASE("plain scalars are typed with the YAML 1.2 core schema, quoted ones stay strings") {
  struct Case {
    const char* yaml;
    json expected;
  };
  const std::vector<Case> cases = {
      {"5", 5},
      {"-12", -12},
      {"+7", 7},
      {"017", 17},  // 1.2: decimal, not octal
      {"0o17", 15},
      {"0x1F", 31},
      {"9223372036854775808", json(9223372036854775808ULL)},
      {"1.5", 1.5},
      {"1e3", 1000.0},
      {".5", 0.5},
      {"-2.50", -2.5},
      {"true", true},
      {"True", true},
      {"FALSE", false},
      {"~", nullptr},
      {"null", nullptr},
      {"Null", nullptr},
      {"", nullptr},
      {"yes", "yes"},  // YAML 1.1 booleans are strings in 1.2
      {"off", "off"},
      {"1_000", "1_000"},
      {"0b101", "0b101"},
      {"12:30", "12:30"},
      {"2024-01-01", "2024-01-01"},
      {"1.2.3", "1.2.3"},
      {"abc", "abc"},
      {"\"5\"", "5"},
      {"'true'", "true"},
      {"\"null\"", "null"},
      {"'~'", "~"},
      {"!!str 5", "5"},
      {"!!int \"12\"", 12},
      {"!!float 3", 3.0},
      {"! 5", "5"},
      {"|\n  line\n", "line\n"},
      {">-\n  folded\n  text\n", "folded text"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.yaml);
    const auto got = scalar(c.yaml);
    CHECK(got == c.expected);
    CHECK(got.type() == c.expected.type());
  }
  CHECK(std::isinf(scalar(".inf").get<double>()));
  CHECK(scalar("-.Inf").get<double>() < 0);
  CHECK(std::isnan(scalar(".nan").get<double>()));
}

TEST_CASE("unknown and mismatching tags are errors") {
  auto unknown = yaml_to_json("v: !foo bar\n");
  REQUIRE_FALSE(unknown.ok());
  CHECK(strings(unknown.error()) == std::vector<std::string>{"v: unsupported YAML tag \"!foo\""});
  auto bad_int = yaml_to_json("v: !!int abc\n");
  REQUIRE_FALSE(bad_int.ok());
  CHECK(strings(bad_int.error()) ==
        std::vector<std::string>{"v: value \"abc\" is not a valid !!int"});
}

TEST_CASE("merge keys apply, explicit keys win") {
  auto value = yaml_to_json("base: &base {a: 1, b: 2}\nx:\n  <<: *base\n  b: 3\n");
  REQUIRE(value.ok());
  CHECK(value.value()["x"] == json({{"a", 1}, {"b", 3}}));
}

TEST_CASE("a multi-document file yields one document per object, in order") {
  const auto docs = decode_yaml(test::read_data_file("multi_doc.yaml"));
  REQUIRE(docs.size() == 4);
  for (const auto& d : docs) CHECK(strings(d.errors).empty());

  CHECK(docs[0].index == 0);
  CHECK(docs[0].line == 3);
  CHECK(docs[0].kind == "ScaledObject");
  REQUIRE(docs[0].scaled_object());
  CHECK(docs[0].scaled_object()->spec.triggers.at(0).authentication_ref->name == "rabbit-auth");

  CHECK(docs[1].index == 1);
  CHECK(docs[1].kind == "TriggerAuthentication");
  REQUIRE(docs[1].trigger_authentication());

  CHECK(docs[2].index == 2);
  REQUIRE(docs[2].other());
  CHECK(docs[2].other()->kind == "Secret");
  CHECK(docs[2].other()->name == "rabbit-secret");

  CHECK(docs[3].index == 3);
  CHECK(docs[3].kind == "Deployment");
  CHECK(docs[3].line == 40);
  REQUIRE(docs[3].other());
}

TEST_CASE("a syntax error spoils only its own document") {
  const std::string text =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
      "---\n"
      "apiVersion: v1\nkind: ConfigMap\ndata: [1\n"
      "---\n"
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
  const auto docs = decode_yaml(text);
  REQUIRE(docs.size() == 3);
  CHECK(docs[0].ok());
  CHECK(
      strings(docs[1].errors) ==
      std::vector<std::string>{"invalid YAML at line 8, column 1: end of sequence flow not found"});
  CHECK(docs[1].index == 1);
  CHECK(docs[2].ok());
  CHECK(docs[2].name == "c");
}

TEST_CASE(
    "a comma where a document's node starts or after it ends is an error, not an endless loop") {
  // yaml-cpp 0.7 loops on these, allocating until the process dies (found by fuzzing).
  for (const std::string bad :
       {",\n", "  ,x\n", "# c\n,\n", "\"x\"\n,\n", "{a: 1}\n,\n", "!tag ,\n"}) {
    INFO(bad);
    const auto docs =
        decode_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n" + bad);
    REQUIRE(docs.size() == 2);
    CHECK(docs[0].ok());
    REQUIRE(docs[1].errors.size() == 1);
    CHECK(docs[1].errors[0].message.find("',' outside a flow collection") != std::string::npos);
    CHECK(docs[1].errors[0].message.rfind("invalid YAML at line ", 0) == 0);
  }
  // Commas inside scalars and flow collections are fine.
  const auto docs = decode_yaml(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {l: \"x,y\"}}\ndata:\n  k: "
      "plain, with commas\n");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].ok());
}

TEST_CASE("duplicate keys are errors in YAML and in JSON") {
  const std::string yaml = test::scaled_object_yaml(
      "  scaleTargetRef: {name: w}\n"
      "  minReplicaCount: 1\n"
      "  minReplicaCount: 2\n"
      "  triggers: [{type: cron, metadata: {a: b, a: c}}]\n");
  const auto docs = decode_yaml(yaml);
  REQUIRE(docs.size() == 1);
  CHECK(
      strings(docs[0].errors) ==
      std::vector<std::string>{
          "spec.minReplicaCount: duplicate key \"minReplicaCount\" at line 7 (first defined at "
          "line 6)",
          "spec.triggers[0].metadata.a: duplicate key \"a\" at line 8 (first defined at line 8)"});

  const auto json_docs = decode_json(
      R"({"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","metadata":{"name":"a"},)"
      R"("spec":{"triggers":[{"type":"a"},{"type":"b","type":"c"}],"x":1,"x":2}})");
  REQUIRE(json_docs.size() == 1);
  CHECK(strings(json_docs[0].errors) ==
        std::vector<std::string>{"spec.triggers[1].type: duplicate key \"type\"",
                                 "spec.x: duplicate key \"x\""});
  CHECK(json_docs[0].kind == "ScaledObject");
}

TEST_CASE("JSON input decodes like YAML, and bad JSON is one error") {
  const auto docs = decode_manifest(
      R"({"apiVersion":"keda.sh/v1alpha1","kind":"ScaledObject","metadata":{"name":"a"},)"
      R"("spec":{"scaleTargetRef":{"name":"w"},"triggers":[{"type":"cron","metadata":{}}]}})");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].ok());
  CHECK(docs[0].scaled_object());

  const auto bad = decode_json("{\"a\": }");
  REQUIRE(bad.size() == 1);
  REQUIRE(bad[0].errors.size() == 1);
  CHECK(bad[0].errors[0].message.rfind("invalid JSON: parse error at line 1, column 7", 0) == 0);
}

TEST_CASE("a v1 List is expanded into its items, with positions relative to each item") {
  const std::string text =
      "apiVersion: v1\n"
      "kind: List\n"
      "items:\n"
      "- apiVersion: keda.sh/v1alpha1\n"
      "  kind: ScaledObject\n"
      "  metadata: {name: a}\n"
      "  spec:\n"
      "    scaleTargetRef: {name: w}\n"
      "    triggers: [{type: cron, metadata: {}}]\n"
      "- apiVersion: keda.sh/v1alpha1\n"
      "  kind: ScaledObject\n"
      "  metadata: {name: b}\n"
      "  spec:\n"
      "    scaleTargetRef: {name: w}\n"
      "    minReplicaCount: many\n"
      "    triggers: [{type: cron, metadata: {}}]\n";
  const auto docs = decode_yaml(text);
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].ok());
  CHECK(docs[0].list_item == 0u);
  CHECK(docs[1].list_item == 1u);
  CHECK(docs[1].index == 0);
  CHECK(docs[1].name == "b");
  CHECK(strings(docs[1].errors) ==
        std::vector<std::string>{"spec.minReplicaCount: must be an integer, got string \"many\""});
  auto pos = docs[1].position_of("spec.minReplicaCount");
  REQUIRE(pos);
  CHECK(pos->line == 15);
  CHECK(pos->column == 5);
  // A missing field points at its nearest ancestor.
  auto missing = docs[1].position_of("spec.fallback.replicas");
  REQUIRE(missing);
  CHECK(missing->line == 13);
}

TEST_CASE("plain YAML 1.1 booleans in string fields get a warning, kubectl would reject them") {
  const auto docs = decode_yaml(test::scaled_object_yaml(
      "  scaleTargetRef: {name: w}\n"
      "  triggers:\n"
      "    - type: kafka\n"
      "      metadata: {tls: enable, allowIdleConsumers: yes, quoted: 'no'}\n"));
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].ok());
  CHECK(strings(docs[0].warnings) ==
        std::vector<std::string>{
            "spec.triggers[0].metadata.allowIdleConsumers: plain yes is a boolean to kubectl "
            "(YAML 1.1), which would reject it here; quote it: \"yes\""});
}

TEST_CASE("empty input and comment-only input have no documents") {
  CHECK(decode_yaml("").empty());
  CHECK(decode_yaml("# nothing\n---\n---\n").empty());
}

TEST_CASE("alias bombs are cut off") {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i)
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + std::string("*a") +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
            std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  auto value = yaml_to_json(text);
  REQUIRE_FALSE(value.ok());
  CHECK(
      strings(value.error()) ==
      std::vector<std::string>{"document too large (over 1000000 nodes after expanding aliases)"});
}

TEST_CASE("a JSON number beyond double is an error on the document, not an exception") {
  // Found by fuzzing: nlohmann throws out_of_range (not parse_error) for it, which ended the
  // process (ebb validate reads manifests with it).
  const auto docs = decode_json(R"({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": 1e999}})");
  REQUIRE(docs.size() == 1);
  REQUIRE(docs[0].errors.size() == 1);
  CHECK(docs[0].errors[0].message == "invalid JSON: number overflow parsing '1e999'");
}
