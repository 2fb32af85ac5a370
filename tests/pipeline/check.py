#!/usr/bin/env python3
"""Checks for `reagent export`'s pipelines, with the engines' own models.

    check.py yaml2json FILE   the YAML document as JSON on stdout; fails unless
                              PyYAML (YAML 1.1) and ruamel.yaml (YAML 1.2) read
                              it the same way
    check.py argo FILE        validate an Argo `Workflow` against the
                              argo-workflows SDK's model (types, required and
                              unknown fields), then the DAG rules Argo's
                              controller applies (names, references, cycles)
    check.py --self-check     the libraries import

GitHub and GitLab pipelines are checked with check-jsonschema's built-in
schemas (vendor.github-workflows, vendor.gitlab-ci) by the test itself.
"""

import json
import re
import sys


def load(path):
    import yaml
    from ruamel.yaml import YAML

    with open(path, encoding="utf-8") as f:
        text = f.read()
    old = yaml.safe_load(text)
    new = YAML(typ="safe", pure=True).load(text)
    if json.dumps(old, sort_keys=True) != json.dumps(new, sort_keys=True):
        sys.exit(f"{path}: YAML 1.1 and 1.2 parsers disagree:\n{old!r}\n{new!r}")
    return new


def strict(data, types, path, errors):
    """Every mapping key must be a field of the model the SDK expects there."""
    from argo_workflows.model_utils import OpenApiModel

    for t in types:
        if isinstance(t, list) and isinstance(data, list):
            for i, item in enumerate(data):
                strict(item, tuple(t), path + [i], errors)
            return
        if isinstance(t, dict) and isinstance(data, dict):
            (value_types,) = t.values()
            for k, v in data.items():
                strict(v, value_types, path + [k], errors)
            return
        if isinstance(t, type) and issubclass(t, OpenApiModel) and isinstance(data, dict):
            fields = {v: k for k, v in t.attribute_map.items()}
            for k, v in data.items():
                if k not in fields:
                    errors.append(f"{'.'.join(map(str, path))}: {t.__name__} has no field `{k}`")
                else:
                    strict(v, t.openapi_types[fields[k]], path + [k], errors)
            return


NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
GENERATE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?-$")


def check_argo(path):
    from argo_workflows.api_client import ApiClient
    from argo_workflows.configuration import Configuration
    from argo_workflows.model.io_argoproj_workflow_v1alpha1_workflow import (
        IoArgoprojWorkflowV1alpha1Workflow as Workflow,
    )

    doc = load(path)

    class Response:
        data = json.dumps(doc)

        def getheader(self, _name):
            return None

    config = Configuration()
    config.discard_unknown_keys = False
    # Types and required fields, as the SDK reads a Workflow from the API server.
    ApiClient(config).deserialize(Response(), (Workflow,), True)
    errors = []
    strict(doc, (Workflow,), ["Workflow"], errors)

    if doc.get("apiVersion") != "argoproj.io/v1alpha1" or doc.get("kind") != "Workflow":
        errors.append("not an argoproj.io/v1alpha1 Workflow")
    gen = doc.get("metadata", {}).get("generateName", "")
    if not GENERATE_NAME.match(gen) or len(gen) > 58:
        errors.append(f"generateName `{gen}` is not a Kubernetes name prefix")
    spec = doc["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    if len(templates) != len(spec["templates"]):
        errors.append("template names repeat")
    if spec.get("entrypoint") not in templates:
        errors.append(f"entrypoint `{spec.get('entrypoint')}` is no template")
    volumes = {v["name"] for v in spec.get("volumes", [])}
    workflow_params = {p["name"] for p in spec.get("arguments", {}).get("parameters", [])}
    for name, t in templates.items():
        if not NAME.match(name):
            errors.append(f"template name `{name}` is not valid")
        for m in t.get("container", {}).get("volumeMounts", []):
            if m["name"] not in volumes:
                errors.append(f"template {name} mounts unknown volume `{m['name']}`")
        inputs = {p["name"] for p in t.get("inputs", {}).get("parameters", [])}
        text = json.dumps(t)
        for ref in re.findall(r"\{\{inputs\.parameters\.([^}]+)\}\}", text):
            if ref not in inputs:
                errors.append(f"template {name} uses undeclared input `{ref}`")
        for ref in re.findall(r"\{\{workflow\.parameters\.([^}]+)\}\}", text):
            if ref not in workflow_params:
                errors.append(f"template {name} uses undeclared workflow parameter `{ref}`")
        dag = t.get("dag")
        if not dag:
            continue
        tasks = {task["name"]: task for task in dag["tasks"]}
        if not tasks:
            errors.append(f"DAG {name} has no tasks")
        if len(tasks) != len(dag["tasks"]):
            errors.append(f"task names repeat in DAG {name}")
        for tname, task in tasks.items():
            if not NAME.match(tname) or len(tname) > 128:
                errors.append(f"task name `{tname}` is not valid")
            target = templates.get(task.get("template"))
            if target is None:
                errors.append(f"task {tname} runs unknown template `{task.get('template')}`")
                continue
            given = {p["name"] for p in task.get("arguments", {}).get("parameters", [])}
            needed = {
                p["name"]
                for p in target.get("inputs", {}).get("parameters", [])
                if "value" not in p and "default" not in p
            }
            if needed - given:
                errors.append(f"task {tname} lacks parameters {sorted(needed - given)}")
            for dep in task.get("dependencies", []):
                if dep not in tasks:
                    errors.append(f"task {tname} depends on unknown task `{dep}`")
        # No cycles: Kahn's algorithm must take every task.
        indegree = {n: len(t.get("dependencies", [])) for n, t in tasks.items()}
        ready = [n for n, d in indegree.items() if d == 0]
        taken = 0
        while ready:
            n = ready.pop()
            taken += 1
            for m, t in tasks.items():
                if n in t.get("dependencies", []):
                    indegree[m] -= 1
                    if indegree[m] == 0:
                        ready.append(m)
        if taken != len(tasks):
            errors.append(f"DAG {name} has a cycle")
    if errors:
        sys.exit(f"{path}: invalid Argo Workflow:\n  " + "\n  ".join(errors))
    print(f"{path}: valid Argo Workflow ({len(templates)} templates)")


def main(argv):
    if argv[1:] == ["--self-check"]:
        import argo_workflows  # noqa: F401
        import ruamel.yaml  # noqa: F401
        import yaml  # noqa: F401

        print("ok")
        return
    if len(argv) == 3 and argv[1] == "yaml2json":
        print(json.dumps(load(argv[2])))
        return
    if len(argv) == 3 and argv[1] == "argo":
        check_argo(argv[2])
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
