"""A small Kustomize renderer for the project's own manifests, so the tests need no kubectl.

It implements exactly the subset ``openshift/`` and ``conf/kustomization.yaml`` use, and refuses anything else
(a field it does not know would otherwise be silently ignored): ``resources`` (files and kustomization folders),
``namespace``, ``labels`` (``pairs`` on metadata only), ``images`` (``newName``/``newTag``), ``patches``
(strategic merge from a file, matched by kind and name), and ``configMapGenerator`` with ``files`` under
``generatorOptions.disableNameSuffixHash``. Where a kubectl is on the PATH, the tests compare its output with
this one's.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

KNOWN_FIELDS = {"apiVersion", "kind", "namespace", "resources", "labels", "images", "patches",
                "configMapGenerator", "generatorOptions"}
# Lists Kubernetes merges by a key instead of replacing (the strategic-merge keys of the fields we patch).
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath", "ports": "containerPort"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


class KustomizeError(ValueError):
    """A kustomization this renderer does not support, or one that refers to something missing."""


def render(folder: Path) -> list[dict[str, Any]]:
    """The objects ``kustomize build folder`` would print, in resource order."""
    folder = folder.resolve()
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text()) or {}
    unknown = set(kustomization) - KNOWN_FIELDS
    if unknown:
        raise KustomizeError(f"{folder}/kustomization.yaml uses {sorted(unknown)}: not supported by this renderer")

    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            objects += render(path)
        else:
            _inside(folder, path)
            objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    objects += _generated(folder, kustomization)

    for patch_entry in kustomization.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise KustomizeError(f"{folder}: only file patches ({{path: ...}}) are supported")
        patch_file = (folder / patch_entry["path"]).resolve()
        _inside(folder, patch_file)
        for patch in yaml.safe_load_all(patch_file.read_text()):
            if patch:
                target = _find(objects, patch["kind"], patch["metadata"]["name"], patch_file)
                strategic_merge(target, patch)

    for image in kustomization.get("images", []):
        _set_image(objects, image)
    for label_set in kustomization.get("labels", []):
        if set(label_set) != {"pairs"}:
            raise KustomizeError(f"{folder}: labels support only 'pairs' (no selectors, no templates)")
        for obj in objects:
            obj.setdefault("metadata", {}).setdefault("labels", {}).update(label_set["pairs"])
    if "namespace" in kustomization:
        _set_namespace(objects, kustomization["namespace"])
    return objects


def _inside(folder: Path, path: Path) -> None:
    # Kustomize's load restrictor: files only from the kustomization's own folder (other folders as resources).
    if folder not in path.parents:
        raise KustomizeError(f"{path} is not in or below {folder}")
    if not path.is_file():
        raise KustomizeError(f"{path} does not exist")


def _generated(folder: Path, kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    generators = kustomization.get("configMapGenerator", [])
    if not generators:
        return []
    options = kustomization.get("generatorOptions", {})
    if not options.get("disableNameSuffixHash"):
        raise KustomizeError(f"{folder}: generated names need generatorOptions.disableNameSuffixHash: true")
    result = []
    for generator in generators:
        if set(generator) - {"name", "files"}:
            raise KustomizeError(f"{folder}: configMapGenerator supports only name and files")
        data: dict[str, str] = {}
        for entry in generator["files"]:
            key, _, relative = entry.rpartition("=") if "=" in entry else ("", "", entry)
            path = (folder / relative).resolve()
            _inside(folder, path)
            data[key or path.name] = path.read_text()
        metadata: dict[str, Any] = {"name": generator["name"]}
        if options.get("labels"):
            metadata["labels"] = dict(options["labels"])
        result.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data})
    return result


def _find(objects: list[dict[str, Any]], kind: str, name: str, source: Path) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    if len(matches) != 1:
        raise KustomizeError(f"{source}: patch target {kind}/{name} matches {len(matches)} objects")
    return matches[0]


def strategic_merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """Merge ``patch`` into ``target`` in place: maps recursively, keyed lists by key, other lists replaced."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            strategic_merge(target[key], value)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(target.get(key), list):
            merge_key = MERGE_KEYS[key]
            for item in value:
                existing = next((t for t in target[key] if t.get(merge_key) == item.get(merge_key)), None)
                if existing is None:
                    target[key].append(copy.deepcopy(item))
                else:
                    strategic_merge(existing, item)
        else:
            target[key] = copy.deepcopy(value)


def pod_specs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod specs inside a workload (Deployment, StatefulSet, Job, CronJob, Pod)."""
    spec = obj.get("spec", {})
    if obj["kind"] == "Pod":
        return [spec]
    if obj["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    if "template" in spec:
        return [spec["template"]["spec"]]
    return []


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for pod in pod_specs(obj) for c in pod.get("initContainers", []) + pod.get("containers", [])]


def _set_image(objects: list[dict[str, Any]], image: dict[str, Any]) -> None:
    if set(image) - {"name", "newName", "newTag"}:
        raise KustomizeError(f"images entry {image}: only name, newName and newTag are supported")
    for obj in objects:
        for container in containers(obj):
            name, _, tag = container["image"].partition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag or 'latest')}"


def _set_namespace(objects: list[dict[str, Any]], namespace: str) -> None:
    for obj in objects:
        if obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = namespace
        if obj["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            for subject in obj.get("subjects", []):
                if subject["kind"] == "ServiceAccount":
                    subject["namespace"] = namespace
