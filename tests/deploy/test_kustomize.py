"""deploy/kubernetes rendered with the real `kubectl kustomize` (offline) and validated against Kubernetes' schemas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bee import __version__
from bee.run.config import load_config
from tests.deploy.schemas import validate_all
from tests.helpers import REPO

pytestmark = pytest.mark.kubectl

DEPLOY = REPO / "deploy" / "kubernetes"
KUSTOMIZATIONS = ["", "base", "podmonitor", "network", "old-kernel", "signed"]


def render(directory: Path) -> list[dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=True,
                         timeout=60)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def by_kind(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in documents}


def container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = by_kind(documents)["DaemonSet"]["spec"]["template"]["spec"]["containers"]
    return containers[0]


def test_every_kustomization_is_listed() -> None:
    found = sorted(str(p.parent.relative_to(DEPLOY)).replace(".", "") for p in DEPLOY.rglob("kustomization.yaml"))
    assert found == sorted(KUSTOMIZATIONS)


@pytest.mark.parametrize("name", KUSTOMIZATIONS)
def test_renders_and_validates(name: str) -> None:
    documents = render(DEPLOY / name)
    kinds = validate_all(documents)
    assert {"Namespace", "ServiceAccount", "ConfigMap", "Service", "DaemonSet"} <= set(kinds)
    assert all(d["metadata"].get("namespace", "bee") == "bee" for d in documents)


def test_base_is_least_privilege(tmp_path: Path) -> None:
    documents = render(DEPLOY)
    objects = by_kind(documents)
    pod = objects["DaemonSet"]["spec"]["template"]["spec"]
    security = container(documents)["securityContext"]
    assert security["capabilities"] == {"drop": ["ALL"], "add": ["BPF", "PERFMON"]}
    assert security["privileged"] is False and security["readOnlyRootFilesystem"] is True
    assert "hostNetwork" not in pod and pod["tolerations"] == [{"operator": "Exists"}]
    assert {v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v} == {
        "/sys/kernel/tracing", "/sys/fs/bpf", "/sys/kernel/btf"}
    assert container(documents)["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert objects["Service"]["spec"]["clusterIP"] == "None"
    # the ConfigMap's runner config is what `bee run --config` accepts
    (tmp_path / "runner.yaml").write_text(objects["ConfigMap"]["data"]["runner.yaml"])
    config = load_config(tmp_path / "runner.yaml")
    assert [p.program for p in config.programs] == ["ghcr.io/example/opensnoop:v1"] and config.prom_port == 9091


def test_network_and_old_kernel_overlays() -> None:
    network = render(DEPLOY / "network")
    assert container(network)["securityContext"]["capabilities"]["add"] == ["BPF", "PERFMON", "NET_ADMIN"]
    assert by_kind(network)["DaemonSet"]["spec"]["template"]["spec"]["hostNetwork"] is True
    old = render(DEPLOY / "old-kernel")
    assert container(old)["securityContext"]["capabilities"]["add"] == ["SYS_ADMIN"]


def test_the_signed_overlay_verifies_with_the_secrets_policy(tmp_path: Path) -> None:
    """The runner config names the policy of the mounted Secret, and the example policy, next to a key as the
    Secret puts them, is one `bee run` reads: it requires a signature and names ci.pub for ghcr.io/example/."""
    from bee.oci.sign.policy import load_policy
    from tests.registry import cosign

    documents = render(DEPLOY / "signed")
    mount = next(m for m in container(documents)["volumeMounts"] if m["name"] == "signing")
    assert mount == {"name": "signing", "mountPath": "/etc/bee-signing", "readOnly": True}
    volumes = by_kind(documents)["DaemonSet"]["spec"]["template"]["spec"]["volumes"]
    assert {"name": "signing", "secret": {"secretName": "bee-runner-signing"}} in volumes
    (tmp_path / "runner.yaml").write_text(by_kind(documents)["ConfigMap"]["data"]["runner.yaml"])
    config = load_config(tmp_path / "runner.yaml")
    assert config.policy == Path(mount["mountPath"]) / "policy.yaml"
    (tmp_path / "policy.yaml").write_text((DEPLOY / "signed" / "policy.yaml").read_text())
    (tmp_path / "ci.pub").write_bytes(cosign.public_pem(cosign.new_key()))
    policy = load_policy(tmp_path / "policy.yaml")
    requirement = policy.requirement("ghcr.io/example/opensnoop")
    assert requirement is not None and requirement.keys[0].path == str(tmp_path / "ci.pub")
    with pytest.raises(Exception, match="requires a signature for ghcr.io/other/x"):
        policy.requirement("ghcr.io/other/x")


def test_podmonitor_scrapes_the_runner_pods() -> None:
    documents = render(DEPLOY / "podmonitor")
    monitor = by_kind(documents)["PodMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1" and monitor["metadata"]["namespace"] == "bee"
    pod = by_kind(documents)["DaemonSet"]["spec"]["template"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == [
        p["name"] for p in container(documents)["ports"]]


def test_the_base_runs_this_version_of_the_runner() -> None:
    image = container(render(DEPLOY))["image"]
    assert image == f"bee-runner:{__version__}", "set images: newTag in deploy/kubernetes/base/kustomization.yaml"


def test_bee_k8s_manifest_prints_the_base(tmp_path: Path) -> None:
    """The base and `bee k8s manifest --config` of the base's runner config are the same objects."""
    out = subprocess.run([sys.executable, "-m", "bee", "--storage", str(tmp_path / "store"), "k8s", "manifest",
                          "--config", str(DEPLOY / "base" / "runner.yaml"), "--image", f"bee-runner:{__version__}"],
                         capture_output=True, text=True, check=True, cwd=REPO)
    printed = sorted(yaml.safe_load_all(out.stdout), key=lambda d: d["kind"])
    assert printed == sorted(render(DEPLOY), key=lambda d: d["kind"])
