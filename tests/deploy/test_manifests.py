"""The image and the manifests cannot be built or applied here (no Docker engine, no cluster): the overlays are
rendered, validated against the Kubernetes schemas and linted, and checked for what the nightly run relies on."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import dockerignore_patterns, ignored
from tests.deploy.kustomize import KustomizeError, containers, pod_specs, render

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OVERLAYS = sorted(p.name for p in (ROOT / "openshift" / "overlays").iterdir() if p.is_dir())
SECRET_TEMPLATES = sorted((ROOT / "openshift" / "secrets").glob("*.yaml"))
POD_TEMPLATES = sorted((ROOT / "conf" / "spark").glob("*-pod-template.yaml"))
LUIGI_CFG = ROOT / "conf" / "luigi" / "openshift.cfg"
YAMLLINT = ("{extends: default, rules: {line-length: {max: 120}, document-start: disable, "
            "comments: {min-spaces-from-content: 1}, truthy: {check-keys: false}}}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY", re.I)


def _objects(overlay: str) -> list[dict[str, Any]]:
    return render(ROOT / "openshift" / "overlays" / overlay)


def _one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [match] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return match


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "kubernetes-validate"), "--strict", str(path)], capture_output=True, text=True)


# --- rendering, schemas, lint


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_kubernetes(overlay: str, tmp_path: Path) -> None:
    objects = _objects(overlay)
    # OpenShift's Route has no schema in kubernetes-validate; it is checked by hand below.
    standard = [o for o in objects if o["apiVersion"] != "route.openshift.io/v1"]
    rendered = tmp_path / f"{overlay}.yaml"
    rendered.write_text(yaml.safe_dump_all(standard))
    result = _validate(rendered)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" passed for resource ") == len(standard)


@pytest.mark.parametrize("path", SECRET_TEMPLATES + POD_TEMPLATES, ids=lambda p: p.name)
def test_templates_outside_the_overlays_are_valid_kubernetes(path: Path) -> None:
    result = _validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_route_exposes_luigid_over_tls(overlay: str) -> None:
    route = _one(_objects(overlay), "Route", "luigid")
    assert route["spec"]["to"] == {"kind": "Service", "name": "luigid"}
    assert route["spec"]["tls"]["termination"] == "edge"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_renderer_agrees_with_kubectl_kustomize(overlay: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl on the PATH to compare with")
    out = subprocess.run([kubectl, "kustomize", str(ROOT / "openshift" / "overlays" / overlay)],
                         capture_output=True, text=True, check=True).stdout
    theirs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}
    ours = {(d["kind"], d["metadata"]["name"]): d for d in _objects(overlay)}
    assert ours == theirs


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nreplicas: [{name: luigid, count: 2}]\n")
    with pytest.raises(KustomizeError, match="replicas"):
        render(tmp_path)


def test_manifests_and_pod_templates_pass_yamllint() -> None:
    paths = [ROOT / "openshift", ROOT / "conf" / "spark", ROOT / "conf" / "kustomization.yaml"]
    result = subprocess.run([str(BIN / "yamllint"), "--strict", "-f", "parsable", "-d", YAMLLINT,
                             *map(str, paths)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the CronJob and the workloads


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nightly_cronjob_never_overlaps_and_fits_one_gibibyte(overlay: str) -> None:
    cronjob = _one(_objects(overlay), "CronJob", "scc-nightly")
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["jobTemplate"]["spec"]["backoffLimit"] >= 0
    [container] = containers(cronjob)
    assert container["resources"]["limits"]["memory"] == "1Gi"
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert {"secretRef": {"name": "scc-credentials"}} in container["envFrom"]
    # plain values only for what is not secret (ELOQUA_TOKEN_FILE is a path)
    literal = [e["name"] for e in container.get("env", []) if "value" in e and not e["name"].endswith("_FILE")]
    assert not [name for name in literal if SECRET_NAME.search(name)]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_restricted(overlay: str) -> None:
    workloads = [o for o in _objects(overlay) if pod_specs(o)]
    templates = [yaml.safe_load(p.read_text()) for p in POD_TEMPLATES]
    assert {o["kind"] for o in workloads} == {"CronJob", "Deployment"}
    for obj in workloads + templates:
        for pod in pod_specs(obj):
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            assert "runAsUser" not in pod["securityContext"]  # OpenShift assigns the UID
        for container in containers(obj):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    for obj in workloads:
        for container in containers(obj):
            assert container["resources"]["limits"]["memory"]
            assert container["resources"]["requests"]["memory"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scheduler_runs_exactly_one_replica(overlay: str) -> None:
    luigid = _one(_objects(overlay), "Deployment", "luigid")
    assert luigid["spec"]["replicas"] == 1
    assert luigid["spec"]["strategy"]["type"] == "Recreate"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_spark_image_is_the_cronjobs_image(overlay: str) -> None:
    objects = _objects(overlay)
    env = _one(objects, "ConfigMap", "scc-env")["data"]
    images = {c["image"] for o in objects for c in containers(o) if o["metadata"]["name"] in ("scc-nightly", "luigid")}
    assert images == {env["SCC_IMAGE"]}


# --- configuration: mounted, complete, no secret in it


def _env_names(obj: dict[str, Any], objects: list[dict[str, Any]], secrets: dict[str, set[str]]) -> set[str]:
    names: set[str] = set()
    for container in containers(obj):
        names |= {e["name"] for e in container.get("env", [])}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                names |= set(_one(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
            if "secretRef" in source:
                names |= secrets[source["secretRef"]["name"]]
    return names


def _secret_keys() -> dict[str, set[str]]:
    docs = [yaml.safe_load(p.read_text()) for p in SECRET_TEMPLATES]
    return {d["metadata"]["name"]: set(d["stringData"]) for d in docs}


def _variables(sections: list[str] | None = None) -> set[str]:
    parser = configparser.RawConfigParser()
    parser.read(LUIGI_CFG)
    chosen = sections or parser.sections()
    return {v for s in chosen for _, value in parser.items(s) for v in re.findall(r"\$\{(\w+)\}", value)}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_of_luigi_cfg_reaches_the_pods_that_read_it(overlay: str) -> None:
    objects, secrets = _objects(overlay), _secret_keys()
    nightly = _env_names(_one(objects, "CronJob", "scc-nightly"), objects, secrets)
    luigid = _env_names(_one(objects, "Deployment", "luigid"), objects, secrets)
    assert _variables() - {"LUIGI_DB_USER", "LUIGI_DB_PASSWORD"} <= nightly
    assert _variables(["core", "scheduler", "task_history"]) <= luigid
    # The workers never need the database's password.
    assert "LUIGI_DB_PASSWORD" not in nightly


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_mount_the_configuration_every_path_refers_to(overlay: str) -> None:
    objects = _objects(overlay)
    conf = _one(objects, "ConfigMap", "scc-conf")["data"]
    env = _one(objects, "ConfigMap", "scc-env")["data"]
    assert conf["luigi.cfg"] == LUIGI_CFG.read_text()
    mount = env["SCC_CONF_DIR"]
    assert env["LUIGI_CONFIG_PATH"] == f"{mount}/luigi.cfg"
    parser = configparser.RawConfigParser()
    parser.read_string(conf["luigi.cfg"])
    referenced = [parser.get("spark", "properties_file").replace("${SCC_CONF_DIR}", mount)]
    referenced += re.findall(r"^\S+podTemplateFile\s+(\S+)$", conf["spark-kubernetes.conf"], re.M)
    assert len(referenced) == 3
    assert all(path.startswith(mount + "/") and path[len(mount) + 1:] in conf for path in referenced)
    for name in ("scc-nightly", "luigid"):
        [pod] = pod_specs(_one(objects, "CronJob" if name == "scc-nightly" else "Deployment", name))
        volumes = {v["name"]: v for v in pod["volumes"]}
        [mounted] = [m for c in pod["containers"] for m in c["volumeMounts"] if m["mountPath"] == mount]
        assert volumes[mounted["name"]]["configMap"] == {"name": "scc-conf"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_rendered_object_carries_a_secret(overlay: str) -> None:
    objects = _objects(overlay)
    # Secrets are created by hand (docs/deploy.md): applying an overlay must never overwrite them.
    assert not [o for o in objects if o["kind"] == "Secret"]
    for obj in objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "scc-env":
            assert not [k for k in obj["data"] if SECRET_NAME.search(k)]


def test_secret_templates_hold_key_names_only() -> None:
    for path in SECRET_TEMPLATES:
        doc = yaml.safe_load(path.read_text())
        assert doc["kind"] == "Secret"
        assert doc["stringData"] and set(doc["stringData"].values()) == {""}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_close_ingress_and_open_the_database_to_luigid_only(overlay: str) -> None:
    objects = _objects(overlay)
    deny = _one(objects, "NetworkPolicy", "scc-default-deny-ingress")["spec"]
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/part-of": "scc"}} and "ingress" not in deny
    database = _one(objects, "NetworkPolicy", "luigi-postgres")["spec"]
    assert database["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "luigid"}}}],
                                    "ports": [{"port": 5432, "protocol": "TCP"}]}]
    # Every pod of the project is under the default deny.
    for obj in objects:
        for pod_labels in [t["metadata"]["labels"] for t in _templates(obj)]:
            assert pod_labels["app.kubernetes.io/part-of"] == "scc"


def _templates(obj: dict[str, Any]) -> list[dict[str, Any]]:
    if obj["kind"] == "CronJob":
        return [obj["spec"]["jobTemplate"]["spec"]["template"]]
    if obj["kind"] == "Deployment":
        return [obj["spec"]["template"]]
    return []


def test_spark_pod_templates_carry_the_labels_the_network_policy_selects() -> None:
    labels = {yaml.safe_load(p.read_text())["metadata"]["labels"]["app.kubernetes.io/component"]
              for p in POD_TEMPLATES}
    policy = _one(_objects("prod"), "NetworkPolicy", "scc-spark")["spec"]
    assert set(policy["podSelector"]["matchExpressions"][0]["values"]) == labels == {"spark-driver",
                                                                                     "spark-executor"}


def test_kubernetes_spark_defaults_keep_every_job_setting_of_the_local_defaults() -> None:
    def settings(path: Path) -> dict[str, str]:
        lines = [line.split(None, 1) for line in path.read_text().splitlines() if line and line[0] != "#"]
        return {k: v.strip() for k, v in lines}

    local = settings(ROOT / "conf" / "spark-defaults.conf")
    kubernetes = settings(ROOT / "conf" / "spark" / "kubernetes.conf")
    # Sizes differ on purpose (pods, not a laptop); every other setting changes what the jobs write.
    sizing = {"spark.driver.memory", "spark.executor.memory", "spark.sql.shuffle.partitions",
              "spark.default.parallelism"}
    assert {k: v for k, v in local.items() if k not in sizing} == {
        k: v for k, v in kubernetes.items() if k in local and k not in sizing}


# --- the image


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([str(BIN / "hadolint"), str(ROOT / "docker" / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_context_holds_every_package_and_no_development_material() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    packages = [p.strip() for p in cfg["options.packages.find"]["include"].split() if "*" not in p]
    patterns = dockerignore_patterns()
    assert [p for p in packages if ignored(p, patterns)] == []
    assert not ignored("docker/entrypoint.sh", patterns) and not ignored("conf/reference", patterns)
    for folder in (".git", ".venv", "var", "tests", "bench", "sandbox", "spark/jars/target"):
        assert ignored(folder, patterns), folder
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert re.search(r"^COPY \. \.$", dockerfile, re.M)
    assert '"/opt/scc/docker/entrypoint.sh"' in dockerfile


def test_entrypoint_passes_bash_syntax_check() -> None:
    result = subprocess.run(["bash", "-n", str(ROOT / "docker" / "entrypoint.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
