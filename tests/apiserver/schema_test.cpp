// The structural-schema engine (schema.h) on its own, and through the Store: a CRD created in
// the store makes its custom resources pruned, defaulted and validated on every write path.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "schema.h"
#include "store.h"

using namespace ebb::testapi;
using nlohmann::json;

namespace {

// The cause for `field`, or a cause with an empty field when there is none.
FieldCause cause_for(const std::vector<FieldCause>& causes, const std::string& field) {
  for (const auto& c : causes)
    if (c.field == field) return c;
  return {};
}

std::string all(const std::vector<FieldCause>& causes) {
  std::string s;
  for (const auto& c : causes) s += c.field + ": " + c.message + "\n";
  return s;
}

const json kSchema = json::parse(R"JSON({
  "type": "object",
  "required": ["spec"],
  "properties": {
    "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
    "spec": {
      "type": "object",
      "required": ["target", "items"],
      "x-kubernetes-validations": [{
        "rule": "!has(self.low) || self.low <= (has(self.high) ? self.high : 100)",
        "message": "low must not exceed high"}],
      "properties": {
        "target": {"type": "object", "required": ["name"],
                   "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 8}}},
        "low": {"type": "integer", "format": "int32", "minimum": 0},
        "high": {"type": "integer", "format": "int32", "minimum": 1},
        "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1},
        "mode": {"type": "string", "enum": ["static", "dynamic"], "default": "static"},
        "code": {"type": "string", "pattern": "^[a-z]+$"},
        "when": {"type": "string", "format": "date-time"},
        "flag": {"type": "boolean"},
        "maybe": {"type": "string", "nullable": true},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                 "properties": {"known": {"type": "integer"}}},
        "size": {"x-kubernetes-int-or-string": true,
                 "anyOf": [{"type": "integer"}, {"type": "string"}], "pattern": "^[0-9]+[a-z]*$"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2, "x-kubernetes-list-type": "set"},
        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}},
        "nested": {"type": "object", "default": {},
                   "properties": {"level": {"type": "integer", "default": 3}}},
        "items": {"type": "array", "minItems": 1,
                  "items": {"type": "object", "required": ["type"],
                            "properties": {"type": {"type": "string"}, "opts": {"type": "object",
                                           "additionalProperties": {"type": "string"}}}}}
      }
    },
    "status": {"type": "object", "properties": {"count": {"type": "integer"}}}
  }
})JSON");

json valid_object() {
  return {{"apiVersion", "x.io/v1"},
          {"kind", "Thing"},
          {"metadata", {{"name", "t"}, {"labels", {{"a", "b"}}}}},
          {"spec", {{"target", {{"name", "web"}}}, {"items", {{{"type", "a"}}}}}}};
}

}  // namespace

TEST_CASE("a valid object passes and gets its defaults, nested defaults included") {
  json o = valid_object();
  auto causes = admit_custom_resource(kSchema, o);
  INFO(all(causes));
  CHECK(causes.empty());
  CHECK(o["spec"]["mode"] == "static");
  CHECK(o["spec"]["nested"] == json{{"level", 3}});
  CHECK(o["metadata"]["labels"]["a"] == "b");  // metadata is not the schema's business
}

TEST_CASE("a default never replaces a value that is present") {
  json o = valid_object();
  o["spec"]["mode"] = "dynamic";
  o["spec"]["nested"] = {{"level", 7}};
  CHECK(admit_custom_resource(kSchema, o).empty());
  CHECK(o["spec"]["mode"] == "dynamic");
  CHECK(o["spec"]["nested"]["level"] == 7);
}

TEST_CASE("unknown fields are pruned, except under preserve-unknown-fields and additionalProperties") {
  json o = valid_object();
  o["spec"]["bogus"] = 1;
  o["spec"]["target"]["extra"] = "x";
  o["spec"]["items"][0]["junk"] = true;
  o["spec"]["labels"] = {{"any-key", "v"}};
  o["spec"]["free"] = {{"known", 1}, {"other", {{"deep", true}}}};
  o["topLevel"] = "gone";
  CHECK(admit_custom_resource(kSchema, o).empty());
  CHECK_FALSE(o["spec"].contains("bogus"));
  CHECK_FALSE(o["spec"]["target"].contains("extra"));
  CHECK_FALSE(o["spec"]["items"][0].contains("junk"));
  CHECK_FALSE(o.contains("topLevel"));
  CHECK(o["spec"]["labels"]["any-key"] == "v");
  CHECK(o["spec"]["free"]["other"]["deep"] == true);
  CHECK(o["apiVersion"] == "x.io/v1");
}

TEST_CASE("required fields are reported with kube's message, nested and at the root") {
  json o = {{"apiVersion", "x.io/v1"}, {"kind", "Thing"}, {"metadata", {{"name", "t"}}}};
  auto causes = admit_custom_resource(kSchema, o);
  REQUIRE(causes.size() == 1);
  CHECK(causes[0].field == "spec");
  CHECK(causes[0].message == "Required value");
  CHECK(causes[0].reason == "FieldValueRequired");

  o["spec"] = {{"target", json::object()}};
  causes = admit_custom_resource(kSchema, o);
  CHECK(cause_for(causes, "spec.items").message == "Required value");
  CHECK(cause_for(causes, "spec.target.name").message == "Required value");
  o["spec"]["items"] = {json::object()};
  causes = admit_custom_resource(kSchema, o);
  CHECK(cause_for(causes, "spec.items[0].type").message == "Required value");
}

TEST_CASE("wrong types are FieldValueTypeInvalid and name the expected type") {
  json o = valid_object();
  o["spec"]["low"] = "x";
  o["spec"]["flag"] = "yes";
  o["spec"]["items"][0]["opts"] = {{"n", 5}};
  auto causes = admit_custom_resource(kSchema, o);
  auto low = cause_for(causes, "spec.low");
  CHECK(low.reason == "FieldValueTypeInvalid");
  CHECK(low.message == R"(Invalid value: "string": spec.low in body must be of type integer: "string")");
  CHECK(cause_for(causes, "spec.flag").message ==
        R"(Invalid value: "string": spec.flag in body must be of type boolean: "string")");
  CHECK(cause_for(causes, "spec.items[0].opts.n").message ==
        R"(Invalid value: "integer": spec.items[0].opts.n in body must be of type string: "integer")");
}

TEST_CASE("integers: an integral float is an integer, a fraction is not, an integer is a number") {
  json o = valid_object();
  o["spec"]["low"] = 2.0;
  o["spec"]["ratio"] = 1;
  CHECK(admit_custom_resource(kSchema, o).empty());
  o["spec"]["low"] = 2.5;
  auto causes = admit_custom_resource(kSchema, o);
  CHECK(cause_for(causes, "spec.low").message ==
        R"(Invalid value: "number": spec.low in body must be of type integer: "number")");
}

TEST_CASE("enum, minimum, exclusive minimum and maximum") {
  json o = valid_object();
  o["spec"]["mode"] = "x";
  o["spec"]["low"] = -1;
  o["spec"]["high"] = 0;
  o["spec"]["ratio"] = 0;
  auto causes = admit_custom_resource(kSchema, o);
  INFO(all(causes));
  auto mode = cause_for(causes, "spec.mode");
  CHECK(mode.reason == "FieldValueNotSupported");
  CHECK(mode.message == R"(Unsupported value: "x": supported values: "static", "dynamic")");
  CHECK(cause_for(causes, "spec.low").message == "Invalid value: -1: spec.low in body should be greater than or equal to 0");
  CHECK(cause_for(causes, "spec.high").message == "Invalid value: 0: spec.high in body should be greater than or equal to 1");
  CHECK(cause_for(causes, "spec.ratio").message == "Invalid value: 0: spec.ratio in body should be greater than 0");
  o["spec"]["ratio"] = 1.5;
  causes = admit_custom_resource(kSchema, o);
  CHECK(cause_for(causes, "spec.ratio").message == "Invalid value: 1.5: spec.ratio in body should be less than or equal to 1");
}

TEST_CASE("string length, pattern and date-time format") {
  json o = valid_object();
  o["spec"]["target"]["name"] = "";
  o["spec"]["code"] = "ABC";
  o["spec"]["when"] = "yesterday";
  auto causes = admit_custom_resource(kSchema, o);
  CHECK(cause_for(causes, "spec.target.name").message ==
        R"(Invalid value: "": spec.target.name in body should be at least 1 chars long)");
  CHECK(cause_for(causes, "spec.code").message == R"(Invalid value: "ABC": spec.code in body should match '^[a-z]+$')");
  CHECK(cause_for(causes, "spec.when").field == "spec.when");
  o["spec"]["target"]["name"] = "much-too-long";
  o["spec"]["code"] = "abc";
  o["spec"]["when"] = "2026-11-26T19:00:00Z";
  causes = admit_custom_resource(kSchema, o);
  REQUIRE(causes.size() == 1);
  CHECK(causes[0].reason == "FieldValueTooLong");
  CHECK(causes[0].message == "Too long: may not be longer than 8");
  o["spec"]["target"]["name"] = "żółw";  // 4 code points, 7 bytes: length counts characters
  CHECK(admit_custom_resource(kSchema, o).empty());
}

TEST_CASE("item counts and list types") {
  json o = valid_object();
  o["spec"]["items"] = json::array();
  o["spec"]["tags"] = {"a", "b", "c"};
  auto causes = admit_custom_resource(kSchema, o);
  CHECK(cause_for(causes, "spec.items").message == "Invalid value: 0: spec.items in body should have at least 1 items");
  CHECK(cause_for(causes, "spec.tags").message == "Too many: 3: must have at most 2 items");
  o["spec"]["items"] = {{{"type", "a"}}};
  o["spec"]["tags"] = {"a", "a"};
  o["spec"]["ports"] = {{{"name", "http"}, {"port", 80}}, {{"name", "http"}, {"port", 81}}};
  causes = admit_custom_resource(kSchema, o);
  INFO(all(causes));
  CHECK(cause_for(causes, "spec.tags[1]").message == R"(Duplicate value: "a")");
  CHECK(cause_for(causes, "spec.ports[1]").reason == "FieldValueDuplicate");
}

TEST_CASE("nulls: removed or defaulted unless nullable, and a null in a required place is missing") {
  json o = valid_object();
  o["spec"]["low"] = nullptr;
  o["spec"]["mode"] = nullptr;
  o["spec"]["maybe"] = nullptr;
  CHECK(admit_custom_resource(kSchema, o).empty());
  CHECK_FALSE(o["spec"].contains("low"));
  CHECK(o["spec"]["mode"] == "static");
  CHECK(o["spec"]["maybe"].is_null());
  o["spec"]["target"] = nullptr;
  auto causes = admit_custom_resource(kSchema, o);
  CHECK(cause_for(causes, "spec.target").message == "Required value");
  o = valid_object();
  o["spec"]["tags"] = {nullptr};  // array items are not pruned
  causes = admit_custom_resource(kSchema, o);
  CHECK(cause_for(causes, "spec.tags[0]").reason == "FieldValueTypeInvalid");
}

TEST_CASE("int-or-string with anyOf: integers and matching strings only") {
  json o = valid_object();
  o["spec"]["size"] = 5;
  CHECK(admit_custom_resource(kSchema, o).empty());
  o["spec"]["size"] = "10m";
  CHECK(admit_custom_resource(kSchema, o).empty());
  o["spec"]["size"] = "ten";
  CHECK(cause_for(admit_custom_resource(kSchema, o), "spec.size").message ==
        R"(Invalid value: "ten": spec.size in body should match '^[0-9]+[a-z]*$')");
  o["spec"]["size"] = true;
  auto causes = admit_custom_resource(kSchema, o);
  REQUIRE_FALSE(causes.empty());
  CHECK(causes[0].field == "spec.size");
}

TEST_CASE("the bound-comparison CEL rule KEDA uses is enforced, with its message") {
  json o = valid_object();
  o["spec"]["low"] = 5;
  o["spec"]["high"] = 4;
  auto causes = admit_custom_resource(kSchema, o);
  REQUIRE(causes.size() == 1);
  CHECK(causes[0].field == "spec");
  CHECK(causes[0].message == R"(Invalid value: "object": low must not exceed high)");
  o["spec"]["high"] = 5;
  CHECK(admit_custom_resource(kSchema, o).empty());
  o["spec"].erase("high");
  o["spec"]["low"] = 101;  // the constant applies when the bound is absent
  CHECK(admit_custom_resource(kSchema, o).size() == 1);
  o["spec"]["low"] = 100;
  CHECK(admit_custom_resource(kSchema, o).empty());
}

TEST_CASE("rules that are not the understood form are not enforced") {
  json s = {{"type", "object"},
            {"x-kubernetes-validations", {{{"rule", "self.a.startsWith('x')"}, {"message", "m"}}}},
            {"properties", {{"a", {{"type", "string"}}}}}};
  json o = {{"a", "y"}};
  CHECK(validate_against_schema(s, o).empty());
}

// --- through the Store ---------------------------------------------------------------------

namespace {

json crd_with(const json& schema, bool status_subresource = true) {
  json version = {{"name", "v1"}, {"served", true}, {"storage", true}, {"schema", {{"openAPIV3Schema", schema}}}};
  if (status_subresource) version["subresources"] = {{"status", json::object()}};
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          {"metadata", {{"name", "things.x.io"}}},
          {"spec",
           {{"group", "x.io"},
            {"scope", "Namespaced"},
            {"names", {{"plural", "things"}, {"singular", "thing"}, {"kind", "Thing"}}},
            {"versions", {version}}}}};
}

struct Fixture {
  Store store;
  ResourceInfo crds = *store.find("apiextensions.k8s.io", "v1", "customresourcedefinitions");
  ResourceInfo things;
  Fixture() {
    Reply c = store.create(crds, "v1", "", crd_with(kSchema));
    REQUIRE(c.code == 201);
    things = *store.find("x.io", "v1", "things");
  }
};

}  // namespace

TEST_CASE("store: create prunes, defaults, and answers 422 with kube's Status for a bad object") {
  Fixture f;
  json o = valid_object();
  o["spec"]["bogus"] = 1;
  Reply ok = f.store.create(f.things, "v1", "default", o);
  REQUIRE(ok.code == 201);
  CHECK_FALSE(ok.body["spec"].contains("bogus"));
  CHECK(ok.body["spec"]["mode"] == "static");
  CHECK(f.store.get(f.things, "v1", "default", "t").body["spec"]["mode"] == "static");

  json bad = valid_object();
  bad["metadata"]["name"] = "bad";
  bad["spec"].erase("items");
  bad["spec"]["mode"] = "x";
  Reply r = f.store.create(f.things, "v1", "default", bad);
  REQUIRE(r.code == 422);
  CHECK(r.body["reason"] == "Invalid");
  CHECK(r.body["details"]["kind"] == "Thing");
  CHECK(r.body["details"]["group"] == "x.io");
  CHECK(r.body["details"]["name"] == "bad");
  REQUIRE(r.body["details"]["causes"].size() == 2);
  std::string msg = r.body["message"];
  CHECK(msg.rfind(R"(Thing.x.io "bad" is invalid: [)", 0) == 0);
  CHECK(msg.find("spec.items: Required value") != std::string::npos);
  CHECK(msg.find(R"(spec.mode: Unsupported value: "x")") != std::string::npos);
  CHECK(f.store.get(f.things, "v1", "default", "bad").code == 404);
}

TEST_CASE("store: update, merge patch and JSON patch are validated too") {
  Fixture f;
  Reply c = f.store.create(f.things, "v1", "default", valid_object());
  REQUIRE(c.code == 201);
  json next = c.body;
  next["spec"]["low"] = "x";
  Reply u = f.store.update(f.things, "v1", "default", "t", next);
  REQUIRE(u.code == 422);
  CHECK(u.body["details"]["causes"][0]["field"] == "spec.low");
  CHECK(u.body["details"]["causes"][0]["reason"] == "FieldValueTypeInvalid");

  Reply m = f.store.patch(f.things, "v1", "default", "t", PatchType::Merge, R"({"spec":{"low":-3}})");
  REQUIRE(m.code == 422);
  CHECK(m.body["details"]["causes"][0]["field"] == "spec.low");
  Reply j = f.store.patch(f.things, "v1", "default", "t", PatchType::Json, R"([{"op":"remove","path":"/spec/target"}])");
  REQUIRE(j.code == 422);
  CHECK(j.body["details"]["causes"][0]["field"] == "spec.target");

  Reply good = f.store.patch(f.things, "v1", "default", "t", PatchType::Merge, R"({"spec":{"low":3,"junk":1}})");
  REQUIRE(good.code == 200);
  CHECK(good.body["spec"]["low"] == 3);
  CHECK_FALSE(good.body["spec"].contains("junk"));
  // The unchanged object is still stored after the rejected writes.
  CHECK(f.store.get(f.things, "v1", "default", "t").body["spec"]["low"] == 3);
}

TEST_CASE("store: a write whose only change is pruned is a no-op (no new resourceVersion)") {
  Fixture f;
  Reply c = f.store.create(f.things, "v1", "default", valid_object());
  REQUIRE(c.code == 201);
  Reply p = f.store.patch(f.things, "v1", "default", "t", PatchType::Merge, R"({"spec":{"junk":1}})");
  REQUIRE(p.code == 200);
  CHECK(p.body["metadata"]["resourceVersion"] == c.body["metadata"]["resourceVersion"]);
  CHECK(p.body["metadata"]["generation"] == 1);
}

TEST_CASE("store: the status subresource is pruned and validated against the schema") {
  Fixture f;
  Reply c = f.store.create(f.things, "v1", "default", valid_object());
  REQUIRE(c.code == 201);
  Reply bad = f.store.patch(f.things, "v1", "default", "t", PatchType::Merge, R"({"status":{"count":"many"}})",
                            Sub::Status);
  REQUIRE(bad.code == 422);
  CHECK(bad.body["details"]["causes"][0]["field"] == "status.count");
  Reply ok = f.store.patch(f.things, "v1", "default", "t", PatchType::Merge, R"({"status":{"count":2,"other":1}})",
                           Sub::Status);
  REQUIRE(ok.code == 200);
  CHECK(ok.body["status"] == json{{"count", 2}});
}

TEST_CASE("store: server-side apply goes through the schema") {
  Fixture f;
  json o = valid_object();
  o["spec"]["low"] = "x";
  Reply a = f.store.patch(f.things, "v1", "default", "t", PatchType::Apply, o.dump(), Sub::Main, "me");
  REQUIRE(a.code == 422);
  o["spec"]["low"] = 1;
  a = f.store.patch(f.things, "v1", "default", "t", PatchType::Apply, o.dump(), Sub::Main, "me");
  REQUIRE(a.code == 201);
  CHECK(a.body["spec"]["mode"] == "static");
}

TEST_CASE("store: updating the CRD's schema changes what is accepted") {
  Fixture f;
  json schema = kSchema;
  schema["properties"]["spec"]["properties"]["extra"] = {{"type", "string"}};
  Reply cur = f.store.get(f.crds, "v1", "", "things.x.io");
  json crd = cur.body;
  crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = schema;
  REQUIRE(f.store.update(f.crds, "v1", "", "things.x.io", crd).code == 200);
  ResourceInfo things = *f.store.find("x.io", "v1", "things");
  json o = valid_object();
  o["spec"]["extra"] = "kept";
  Reply c = f.store.create(things, "v1", "default", o);
  REQUIRE(c.code == 201);
  CHECK(c.body["spec"]["extra"] == "kept");
  // The CRD object itself round-trips as written.
  CHECK(f.store.get(f.crds, "v1", "", "things.x.io").body["spec"]["versions"][0]["schema"]["openAPIV3Schema"] == schema);
}

TEST_CASE("store: resources without a schema (preregistered keda.sh) are stored as given") {
  Store store(StoreOptions{.preregister_keda = true});
  ResourceInfo so = *store.find("keda.sh", "v1alpha1", "scaledobjects");
  json o = {{"apiVersion", "keda.sh/v1alpha1"}, {"kind", "ScaledObject"}, {"metadata", {{"name", "s"}}},
            {"spec", {{"anything", 1}}}};
  Reply c = store.create(so, "v1alpha1", "default", o);
  REQUIRE(c.code == 201);
  CHECK(c.body["spec"]["anything"] == 1);
}
