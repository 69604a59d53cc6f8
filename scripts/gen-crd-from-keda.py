#!/usr/bin/env python3
"""Writes one of crds/ from KEDA's generated CRD, mechanically, the way crds/ are kept.

    python3 scripts/gen-crd-from-keda.py KEDA_CRD.yaml > crds/keda.sh_<plural>.yaml

KEDA_CRD.yaml is KEDA's config/crd/bases/keda.sh_<plural>.yaml (e.g. `git show
HEAD:config/crd/bases/keda.sh_scaledjobs.yaml` in a KEDA checkout). What changes, and why:

- the patches KEDA's kustomization applies before it ships the file (config/crd/patches/), so the
  schema is the one KEDA users have installed: for ScaledJob, `protocol` required in the ports of
  the job template's containers, `x-kubernetes-preserve-unknown-fields` on the template's
  metadata, and no `triggers[].metricType`;
- Ebb's conventions for crds/: a header comment, the `app.kubernetes.io/part-of: ebb` label
  instead of controller-gen's annotation, the version's name/served/storage/subresources first,
  no `description` (the ScaledJob schema embeds a whole batch/v1 JobSpec: descriptions are
  most of its size);
- status conditions keep `observedGeneration` and `lastTransitionTime`, which Ebb writes on every
  condition (ebb/api/status.h; KEDA's schema would prune them, and every status write would then
  differ from what is stored).

Needs python3-yaml (PyYAML). The output is deterministic: run it again to check a file.
"""
import re
import sys

import yaml

HEADER = ("# {kind} (keda.sh/v1alpha1) for Ebb: the same API as KEDA's CRD,\n"
          "# so existing KEDA objects apply unchanged. Install: kubectl apply --server-side -f crds/\n")


def strip_descriptions(node):
    if isinstance(node, dict):
        return {k: strip_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [strip_descriptions(v) for v in node]
    return node


def at(schema, *path):
    node = schema
    for key in path:
        node = node["items"] if key == "[]" else node["properties"][key]
    return node


def kustomize_patches(kind, schema):
    """KEDA's config/crd/patches/<kind>_patch.yaml, as JSON-patch operations on the schema."""
    if kind != "ScaledJob":
        return
    template = at(schema, "spec", "jobTargetRef", "template")
    for containers in ("containers", "ephemeralContainers", "initContainers"):
        ports = at(template, "spec", containers, "[]", "ports", "[]")
        ports["required"].append("protocol")
    template["properties"]["metadata"]["x-kubernetes-preserve-unknown-fields"] = True
    del at(schema, "spec", "triggers", "[]")["properties"]["metricType"]


def ebb_conditions(schema):
    status = schema["properties"].get("status", {}).get("properties", {})
    if "conditions" not in status:
        return
    props = status["conditions"]["items"]["properties"]
    props["lastTransitionTime"] = {"format": "date-time", "type": "string"}
    props["observedGeneration"] = {"format": "int64", "type": "integer"}
    status["conditions"]["items"]["properties"] = dict(sorted(props.items()))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        crd = yaml.safe_load(f)
    kind = crd["spec"]["names"]["kind"]
    version = crd["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    kustomize_patches(kind, schema)
    ebb_conditions(schema)
    order = ["name", "served", "storage", "subresources", "additionalPrinterColumns", "schema"]
    reordered = {k: version[k] for k in order if k in version}
    reordered.update({k: v for k, v in version.items() if k not in reordered})
    reordered["schema"] = strip_descriptions(reordered["schema"])
    crd["spec"]["versions"][0] = reordered
    out = {
        "apiVersion": crd["apiVersion"],
        "kind": crd["kind"],
        "metadata": {"name": crd["metadata"]["name"], "labels": {"app.kubernetes.io/part-of": "ebb"}},
        "spec": crd["spec"],
    }
    sys.stdout.write(HEADER.format(kind=kind))
    text = yaml.safe_dump(out, sort_keys=False, default_flow_style=False, width=100000)
    # KEDA's files write the empty string as "" (PyYAML: ''); keep KEDA's spelling.
    sys.stdout.write(re.sub(r": ''$", ': ""', text, flags=re.M))


if __name__ == "__main__":
    main()
