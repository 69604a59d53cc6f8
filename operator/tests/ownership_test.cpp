// Ownership rules shared by the webhook and the reconciler (keda-compat §3.8, ARCHITECTURE.md
// decision 7): one table per function, each row a namespace's objects and the expected verdict.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "ebb/operator/ownership.h"

using ebb::op::ConflictMode;
using ebb::op::OwnershipConflict;
using Json = nlohmann::json;

namespace {

struct SoSpec {
  std::string name;
  std::string target;
  std::string kind = "";
  std::string api_version = "";
  std::string hpa_name = "";
  std::string created = "2026-01-01T00:00:00Z";
  std::string uid = "";
  Json annotations = Json::object();
  std::string ns = "shop";
};

Json so(const SoSpec& s) {
  Json ref = {{"name", s.target}};
  if (!s.kind.empty()) ref["kind"] = s.kind;
  if (!s.api_version.empty()) ref["apiVersion"] = s.api_version;
  Json object = {{"apiVersion", "keda.sh/v1alpha1"},
                 {"kind", "ScaledObject"},
                 {"metadata", {{"name", s.name}, {"namespace", s.ns}}},
                 {"spec", {{"scaleTargetRef", ref}, {"triggers", Json::array()}}}};
  if (!s.created.empty()) object["metadata"]["creationTimestamp"] = s.created;
  if (!s.uid.empty()) object["metadata"]["uid"] = s.uid;
  if (!s.annotations.empty()) object["metadata"]["annotations"] = s.annotations;
  if (!s.hpa_name.empty())
    object["spec"]["advanced"] = {{"horizontalPodAutoscalerConfig", {{"name", s.hpa_name}}}};
  return object;
}

struct Owner {
  std::string name;
  std::string uid = "";
  bool controller = true;
  std::string kind = "ScaledObject";
};

struct HpaSpec {
  std::string name;
  std::string target;
  std::optional<Owner> owner = std::nullopt;
  std::string kind = "Deployment";
  std::string api_version = "apps/v1";
  Json annotations = Json::object();
};

Json hpa(const HpaSpec& h) {
  Json ref = {{"name", h.target}};
  if (!h.kind.empty()) ref["kind"] = h.kind;
  if (!h.api_version.empty()) ref["apiVersion"] = h.api_version;
  Json object = {{"apiVersion", "autoscaling/v2"},
                 {"kind", "HorizontalPodAutoscaler"},
                 {"metadata", {{"name", h.name}, {"namespace", "shop"}}},
                 {"spec", {{"scaleTargetRef", ref}, {"minReplicas", 1}, {"maxReplicas", 5}}}};
  if (!h.annotations.empty()) object["metadata"]["annotations"] = h.annotations;
  if (h.owner) {
    Json owner = {{"apiVersion", "keda.sh/v1alpha1"},
                  {"kind", h.owner->kind},
                  {"name", h.owner->name},
                  {"controller", h.owner->controller},
                  {"blockOwnerDeletion", true}};
    if (!h.owner->uid.empty()) owner["uid"] = h.owner->uid;
    object["metadata"]["ownerReferences"] = Json::array({owner});
  }
  return object;
}

struct Expected {
  std::string reason;
  std::string message;
  std::string other;
};

void check(const std::optional<OwnershipConflict>& got, const std::optional<Expected>& want) {
  if (!want) {
    if (got) FAIL_CHECK("unexpected conflict " << got->reason << ": " << got->message);
    return;
  }
  REQUIRE(got.has_value());
  CHECK(got->reason == want->reason);
  CHECK(got->message == want->message);
  CHECK(got->other == want->other);
}

Expected other_so(const std::string& target, const std::string& gvk, const std::string& other) {
  return {"other-scaled-object",
          "the workload '" + target + "' of type '" + gvk +
              "' is already managed by the ScaledObject '" + other + "'",
          other};
}

Expected other_so_hpa(const std::string& hpa_name, const std::string& other) {
  return {"other-scaled-object-hpa",
          "the HPA '" + hpa_name + "' is already managed by the ScaledObject '" + other + "'",
          other};
}

struct ConflictCase {
  std::string name;
  ConflictMode mode;
  Json so;
  std::vector<Json> others;
  std::vector<Json> hpas;
  std::optional<Expected> want;
};

}  // namespace

TEST_CASE("scaled_object_conflict: same target or HPA name, both modes") {
  const auto w = ConflictMode::webhook;
  const auto r = ConflictMode::reconciler;
  const std::string older = "2026-01-01T00:00:00Z";
  const std::string newer = "2026-02-01T00:00:00Z";

  const std::vector<ConflictCase> cases = {
      // --- webhook mode: any other object is a conflict --------------------------------------
      {"webhook: another SO on the same Deployment",
       w,
       so({"b", "api"}),
       {so({"a", "api"})},
       {},
       other_so("api", "apps/v1.Deployment", "a")},
      {"webhook: the newer one is denied too, even the older one",
       w,
       so({"a", "api", "", "", "", older}),
       {so({"b", "api", "", "", "", newer})},
       {},
       other_so("api", "apps/v1.Deployment", "b")},
      {"webhook: the object itself in the list is ignored (by name)",
       w,
       so({"a", "api"}),
       {so({"a", "api"})},
       {},
       std::nullopt},
      {"webhook: the object itself in the list is ignored (by uid)",
       w,
       so({"a", "api", "", "", "", older, "uid-a"}),
       {so({"a", "api", "", "", "", older, "uid-a"})},
       {},
       std::nullopt},
      {"webhook: no other objects", w, so({"a", "api"}), {}, {}, std::nullopt},
      {"webhook: other target name", w, so({"b", "api"}), {so({"a", "web"})}, {}, std::nullopt},
      {"webhook: same name, different kind (Deployment vs StatefulSet)",
       w,
       so({"b", "api"}),
       {so({"a", "api", "StatefulSet"})},
       {},
       std::nullopt},
      {"webhook: StatefulSet vs StatefulSet",
       w,
       so({"b", "db", "StatefulSet"}),
       {so({"a", "db", "StatefulSet"})},
       {},
       other_so("db", "apps/v1.StatefulSet", "a")},
      {"webhook: defaults apply: empty apiVersion/kind equals apps/v1 Deployment",
       w,
       so({"b", "api", "Deployment", "apps/v1"}),
       {so({"a", "api"})},
       {},
       other_so("api", "apps/v1.Deployment", "a")},
      {"webhook: same group and kind, other version: not the same group/version.Kind",
       w,
       so({"b", "api", "Deployment", "apps/v1"}),
       {so({"a", "api", "Deployment", "apps/v1beta2"})},
       {},
       std::nullopt},
      {"webhook: same version and kind, other group",
       w,
       so({"b", "r", "Rollout", "argoproj.io/v1alpha1"}),
       {so({"a", "r", "Rollout", "example.com/v1alpha1"})},
       {},
       std::nullopt},
      {"webhook: custom resource, same GVK",
       w,
       so({"b", "r", "Rollout", "argoproj.io/v1alpha1"}),
       {so({"a", "r", "Rollout", "argoproj.io/v1alpha1"})},
       {},
       other_so("r", "argoproj.io/v1alpha1.Rollout", "a")},
      {"webhook: core group is written with an empty group",
       w,
       so({"b", "x", "Thing", "v1"}),
       {so({"a", "x", "Thing", "v1"})},
       {},
       other_so("x", "/v1.Thing", "a")},
      {"webhook: other namespace does not count",
       w,
       so({"b", "api"}),
       {so({"a", "api", "", "", "", older, "", Json::object(), "other"})},
       {},
       std::nullopt},
      {"webhook: same custom HPA name, different targets",
       w,
       so({"b", "web", "", "", "shared"}),
       {so({"a", "api", "", "", "shared"})},
       {},
       other_so_hpa("shared", "a")},
      {"webhook: custom HPA name equal to another's default name",
       w,
       so({"b", "web", "", "", "keda-hpa-a"}),
       {so({"a", "api"})},
       {},
       other_so_hpa("keda-hpa-a", "a")},
      {"webhook: default HPA name equal to another's custom name",
       w,
       so({"a", "web"}),
       {so({"z", "api", "", "", "keda-hpa-a"})},
       {},
       other_so_hpa("keda-hpa-a", "z")},
      {"webhook: the target clash is reported before the HPA-name clash",
       w,
       so({"c", "api", "", "", "shared"}),
       {so({"a", "web", "", "", "shared"}), so({"b", "api"})},
       {},
       other_so("api", "apps/v1.Deployment", "b")},
      {"webhook: HPA name clash across different kinds still conflicts",
       w,
       so({"b", "api", "StatefulSet", "", "shared"}),
       {so({"a", "api", "", "", "shared"})},
       {},
       other_so_hpa("shared", "a")},

      // --- reconciler mode: only the loser gets a conflict ------------------------------------
      {"reconciler: other holds its HPA, we are older: we lose",
       r,
       so({"a", "api", "", "", "", older}),
       {so({"b", "api", "", "", "", newer})},
       {hpa({"keda-hpa-b", "api", Owner{"b"}})},
       other_so("api", "apps/v1.Deployment", "b")},
      {"reconciler: we hold our HPA, other is older: we keep it",
       r,
       so({"b", "api", "", "", "", newer}),
       {so({"a", "api", "", "", "", older})},
       {hpa({"keda-hpa-b", "api", Owner{"b"}})},
       std::nullopt},
      {"reconciler: both hold an HPA: the older wins",
       r,
       so({"b", "api", "", "", "", newer}),
       {so({"a", "api", "", "", "", older})},
       {hpa({"keda-hpa-a", "api", Owner{"a"}}), hpa({"keda-hpa-b", "api", Owner{"b"}})},
       other_so("api", "apps/v1.Deployment", "a")},
      {"reconciler: nobody holds an HPA, we are older: we keep it",
       r,
       so({"a", "api", "", "", "", older}),
       {so({"b", "api", "", "", "", newer})},
       {},
       std::nullopt},
      {"reconciler: nobody holds an HPA, we are newer: we lose",
       r,
       so({"b", "api", "", "", "", newer}),
       {so({"a", "api", "", "", "", older})},
       {},
       other_so("api", "apps/v1.Deployment", "a")},
      {"reconciler: same creationTimestamp: the smaller name wins (we are 'a')",
       r,
       so({"a", "api", "", "", "", older}),
       {so({"b", "api", "", "", "", older})},
       {},
       std::nullopt},
      {"reconciler: same creationTimestamp: the smaller name wins (we are 'b')",
       r,
       so({"b", "api", "", "", "", older}),
       {so({"a", "api", "", "", "", older})},
       {},
       other_so("api", "apps/v1.Deployment", "a")},
      {"reconciler: no creationTimestamp counts as newest",
       r,
       so({"a", "api", "", "", "", ""}),
       {so({"b", "api", "", "", "", newer})},
       {},
       other_so("api", "apps/v1.Deployment", "b")},
      {"reconciler: an ownerReference without controller: true does not hold",
       r,
       so({"a", "api", "", "", "", older}),
       {so({"b", "api", "", "", "", newer})},
       {hpa({"keda-hpa-b", "api", Owner{"b", "", false}})},
       std::nullopt},
      {"reconciler: an ownerReference of another kind does not hold",
       r,
       so({"a", "api", "", "", "", older}),
       {so({"b", "api", "", "", "", newer})},
       {hpa({"keda-hpa-b", "api", Owner{"b", "", true, "ScaledJob"}})},
       std::nullopt},
      {"reconciler: an ownerReference with another uid does not hold",
       r,
       so({"a", "api", "", "", "", older}),
       {so({"b", "api", "", "", "", newer, "uid-b"})},
       {hpa({"keda-hpa-b", "api", Owner{"b", "uid-old"}})},
       std::nullopt},
      {"reconciler: an ownerReference with the same uid holds",
       r,
       so({"a", "api", "", "", "", older}),
       {so({"b", "api", "", "", "", newer, "uid-b"})},
       {hpa({"keda-hpa-b", "api", Owner{"b", "uid-b"}})},
       other_so("api", "apps/v1.Deployment", "b")},
      {"reconciler: HPA-name clash, the holder keeps it",
       r,
       so({"a", "web", "", "", "shared", older}),
       {so({"b", "api", "", "", "shared", newer})},
       {hpa({"shared", "api", Owner{"b"}})},
       other_so_hpa("shared", "b")},
      {"reconciler: HPA-name clash, nobody holds: the older keeps it",
       r,
       so({"a", "web", "", "", "shared", older}),
       {so({"b", "api", "", "", "shared", newer})},
       {},
       std::nullopt},
      {"reconciler: different kinds never conflict",
       r,
       so({"b", "api", "", "", "", newer}),
       {so({"a", "api", "StatefulSet", "", "", older})},
       {},
       std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    check(ebb::op::scaled_object_conflict(c.so, c.others, c.hpas, c.mode), c.want);
  }
}

TEST_CASE("scaled_object_conflict: the reconciler's verdicts are complementary") {
  // Whatever the inputs, of two objects on one target exactly one keeps it.
  const auto a = so({"a", "api", "", "", "", "2026-03-01T00:00:00Z"});
  const auto b = so({"b", "api", "", "", "", "2026-01-01T00:00:00Z"});
  const std::vector<std::vector<Json>> hpa_sets = {
      {}, {hpa({"keda-hpa-a", "api", Owner{"a"}})}, {hpa({"keda-hpa-b", "api", Owner{"b"}})}};
  for (const auto& hpas : hpa_sets) {
    CAPTURE(Json(hpas).dump());
    const auto a_conflict =
        ebb::op::scaled_object_conflict(a, {a, b}, hpas, ConflictMode::reconciler);
    const auto b_conflict =
        ebb::op::scaled_object_conflict(b, {a, b}, hpas, ConflictMode::reconciler);
    CHECK(a_conflict.has_value() != b_conflict.has_value());
  }
}

TEST_CASE("scaled_object_conflict: malformed objects never throw") {
  const std::vector<Json> junk = {Json(nullptr), Json("x"), Json::array(), Json{{"spec", 5}},
                                  Json{{"metadata", {{"name", 3}}}, {"spec", {{"advanced", 1}}}}};
  const auto me = so({"a", "api"});
  for (const auto& j : junk) {
    CAPTURE(j.dump());
    CHECK_NOTHROW(ebb::op::scaled_object_conflict(me, {j}, {j}, ConflictMode::reconciler));
    CHECK_NOTHROW(ebb::op::scaled_object_conflict(j, {me}, {}, ConflictMode::webhook));
    CHECK_NOTHROW(ebb::op::foreign_hpa_conflict(me, {j}));
    CHECK_NOTHROW(ebb::op::foreign_hpa_conflict(j, {hpa({"h", "api"})}));
  }
  // An object without a target name claims no workload.
  CHECK_FALSE(
      ebb::op::scaled_object_conflict(so({"b", ""}), {so({"a", ""})}, {}, ConflictMode::webhook)
          .has_value());
}

namespace {

struct ForeignCase {
  std::string name;
  Json so;
  std::vector<Json> hpas;
  std::optional<Expected> want;
};

Expected other_hpa(const std::string& target, const std::string& gvk, const std::string& hpa_name) {
  return {"other-hpa",
          "the workload '" + target + "' of type '" + gvk + "' is already managed by the hpa '" +
              hpa_name + "'",
          hpa_name};
}

Expected missing_name(const std::string& hpa_name, const std::string& target,
                      const std::string& gvk) {
  return {"transfer-ownership-missing-hpa-name",
          "the existing hpa '" + hpa_name + "' for workload '" + target + "' of type '" + gvk +
              "' must be specified by name in advanced settings to enable ownership transfer",
          hpa_name};
}

}  // namespace

TEST_CASE("foreign_hpa_conflict: foreign HPAs, the opt-out annotation and ownership transfer") {
  const Json transfer = {{"scaledobject.keda.sh/transfer-hpa-ownership", "true"}};
  const Json opt_out = {{"validations.keda.sh/hpa-ownership", "false"}};
  const std::string t = "2026-01-01T00:00:00Z";

  const std::vector<ForeignCase> cases = {
      {"no HPAs", so({"a", "api"}), {}, std::nullopt},
      {"a foreign HPA on the same Deployment",
       so({"a", "api"}),
       {hpa({"manual", "api"})},
       other_hpa("api", "apps/v1.Deployment", "manual")},
      {"a foreign HPA on another workload",
       so({"a", "api"}),
       {hpa({"manual", "web"})},
       std::nullopt},
      {"a foreign HPA on a StatefulSet of the same name",
       so({"a", "api"}),
       {hpa({"manual", "api", std::nullopt, "StatefulSet"})},
       std::nullopt},
      {"a foreign HPA on another version of the group",
       so({"a", "api"}),
       {hpa({"manual", "api", std::nullopt, "Deployment", "apps/v1beta1"})},
       std::nullopt},
      {"an HPA without apiVersion/kind gets the same defaults",
       so({"a", "api"}),
       {hpa({"manual", "api", std::nullopt, "", ""})},
       other_hpa("api", "apps/v1.Deployment", "manual")},
      {"a custom resource target",
       so({"a", "r", "Rollout", "argoproj.io/v1alpha1"}),
       {hpa({"manual", "r", std::nullopt, "Rollout", "argoproj.io/v1alpha1"})},
       other_hpa("r", "argoproj.io/v1alpha1.Rollout", "manual")},
      {"validations.keda.sh/hpa-ownership: \"false\" on the HPA makes it ignorable",
       so({"a", "api"}),
       {hpa({"manual", "api", std::nullopt, "Deployment", "apps/v1", opt_out})},
       std::nullopt},
      {"hpa-ownership with another value does not",
       so({"a", "api"}),
       {hpa({"manual",
             "api",
             std::nullopt,
             "Deployment",
             "apps/v1",
             {{"validations.keda.sh/hpa-ownership", "False"}}})},
       other_hpa("api", "apps/v1.Deployment", "manual")},
      {"hpa-ownership on the ScaledObject (not the HPA) does not help",
       so({"a", "api", "", "", "", t, "", opt_out}),
       {hpa({"manual", "api"})},
       other_hpa("api", "apps/v1.Deployment", "manual")},
      {"the HPA controlled by this ScaledObject is not foreign",
       so({"a", "api"}),
       {hpa({"keda-hpa-a", "api", Owner{"a"}})},
       std::nullopt},
      {"controlled by this ScaledObject, uid matching",
       so({"a", "api", "", "", "", t, "uid-a"}),
       {hpa({"keda-hpa-a", "api", Owner{"a", "uid-a"}})},
       std::nullopt},
      {"controlled by a former ScaledObject of the same name (other uid) is foreign",
       so({"a", "api", "", "", "", t, "uid-a"}),
       {hpa({"keda-hpa-a", "api", Owner{"a", "uid-0"}})},
       other_hpa("api", "apps/v1.Deployment", "keda-hpa-a")},
      {"an ownerReference to us without controller: true is foreign",
       so({"a", "api"}),
       {hpa({"keda-hpa-a", "api", Owner{"a", "", false}})},
       other_hpa("api", "apps/v1.Deployment", "keda-hpa-a")},
      {"controlled by another ScaledObject",
       so({"a", "api"}),
       {hpa({"keda-hpa-b", "api", Owner{"b"}})},
       other_hpa("api", "apps/v1.Deployment", "keda-hpa-b")},
      {"controlled by something that is not a ScaledObject",
       so({"a", "api"}),
       {hpa({"keda-hpa-a", "api", Owner{"a", "", true, "Deployment"}})},
       other_hpa("api", "apps/v1.Deployment", "keda-hpa-a")},
      {"transfer requested and the HPA named: allowed",
       so({"a", "api", "", "", "manual", t, "", transfer}),
       {hpa({"manual", "api"})},
       std::nullopt},
      {"transfer requested without a name",
       so({"a", "api", "", "", "", t, "", transfer}),
       {hpa({"manual", "api"})},
       missing_name("manual", "api", "apps/v1.Deployment")},
      {"transfer requested naming another HPA",
       so({"a", "api", "", "", "mine", t, "", transfer}),
       {hpa({"manual", "api"})},
       missing_name("manual", "api", "apps/v1.Deployment")},
      {"naming the HPA without the transfer annotation is not enough",
       so({"a", "api", "", "", "manual"}),
       {hpa({"manual", "api"})},
       other_hpa("api", "apps/v1.Deployment", "manual")},
      {"only the exact value \"true\" requests the transfer",
       so({"a",
           "api",
           "",
           "",
           "manual",
           t,
           "",
           {{"scaledobject.keda.sh/transfer-hpa-ownership", "True"}}}),
       {hpa({"manual", "api"})},
       other_hpa("api", "apps/v1.Deployment", "manual")},
      {"two foreign HPAs, transfer names one: the other still conflicts",
       so({"a", "api", "", "", "manual", t, "", transfer}),
       {hpa({"manual", "api"}), hpa({"legacy", "api"})},
       missing_name("legacy", "api", "apps/v1.Deployment")},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    check(ebb::op::foreign_hpa_conflict(c.so, c.hpas), c.want);
  }
}

TEST_CASE("conflict_condition_reason maps webhook labels to condition reasons") {
  CHECK(ebb::op::conflict_condition_reason("other-scaled-object") ==
        "ScaleTargetOwnedByOtherScaledObject");
  CHECK(ebb::op::conflict_condition_reason("other-scaled-object-hpa") ==
        "HPANameUsedByOtherScaledObject");
  CHECK(ebb::op::conflict_condition_reason("other-hpa") == "ScaleTargetOwnedByForeignHPA");
  CHECK(ebb::op::conflict_condition_reason("transfer-ownership-missing-hpa-name") ==
        "HPATransferMissingName");
  CHECK(ebb::op::conflict_condition_reason("something-else") == "OwnershipConflict");
}
