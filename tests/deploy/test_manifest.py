"""`bee k8s manifest`: what it prints applies as is (validated against Kubernetes' schemas), its runner config is
one `bee run --config` accepts, NET_ADMIN and hostNetwork come only with XDP/TC, and bad input is one sentence."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bee.oci.store import LocalStore
from bee.run.config import load_config
from tests.deploy.schemas import VERSIONS, validate_all
from tests.helpers import DATA, assert_one_line_error

Bee = Callable[..., subprocess.CompletedProcess[str]]
REF = "ghcr.io/example/opensnoop:v1"


def manifests(bee: Bee, *args: str) -> dict[str, dict[str, Any]]:
    proc = bee("k8s", "manifest", *args)
    assert proc.returncode == 0, proc.stderr
    documents = list(yaml.safe_load_all(proc.stdout))
    assert validate_all(documents) == ["Namespace", "ServiceAccount", "ConfigMap", "Service", "DaemonSet"]
    return {d["kind"]: d for d in documents}


def pod(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = objects["DaemonSet"]["spec"]["template"]["spec"]
    return spec


def capabilities(objects: dict[str, dict[str, Any]]) -> list[str]:
    added: list[str] = pod(objects)["containers"][0]["securityContext"]["capabilities"]["add"]
    return added


def test_refs_give_a_valid_set_whose_config_bee_run_accepts(bee: Bee, tmp_path: Path) -> None:
    objects = manifests(bee, REF, "ghcr.io/example/tcpconnect@sha256:" + "a" * 64, "-n", "probes",
                        "--image", "ghcr.io/example/bee-runner:0.1.0")
    assert {o["metadata"].get("namespace") for k, o in objects.items() if k != "Namespace"} == {"probes"}
    assert objects["Namespace"]["metadata"]["name"] == "probes"
    assert pod(objects)["containers"][0]["image"] == "ghcr.io/example/bee-runner:0.1.0"
    assert pod(objects)["containers"][0]["args"] == ["run", "--config", "/etc/bee/runner.yaml"]
    (tmp_path / "runner.yaml").write_text(objects["ConfigMap"]["data"]["runner.yaml"])
    config = load_config(tmp_path / "runner.yaml")
    assert [(p.program, p.name) for p in config.programs] == [(REF, "opensnoop"),
                                                              ("ghcr.io/example/tcpconnect@sha256:" + "a" * 64,
                                                               "tcpconnect")]
    assert config.prom_port == 9091
    assert capabilities(objects) == ["BPF", "PERFMON"] and "hostNetwork" not in pod(objects)


def test_network_only_when_a_program_attaches_xdp_or_tc(bee: Bee, store_dir: Path, tmp_path: Path) -> None:
    store = LocalStore(store_dir)
    store.save_program("ghcr.io/example/xdp:v1", (DATA / "obj" / "lb_net.o").read_bytes(), platform=None)
    store.save_program(REF, (DATA / "obj" / "opensnoop.o").read_bytes(), platform=None)
    assert capabilities(manifests(bee, REF)) == ["BPF", "PERFMON"]  # stored, tracepoints only
    for args in (["ghcr.io/example/xdp:v1"], [REF, "--network"]):  # stored spec with XDP/TC; asked
        objects = manifests(bee, *args)
        assert capabilities(objects) == ["BPF", "PERFMON", "NET_ADMIN"]
        assert pod(objects)["hostNetwork"] is True
    config = tmp_path / "runner.yaml"
    config.write_text(f"programs:\n  - program: ghcr.io/example/unstored:v1\n    iface: eth0\n  - program: {REF}\n")
    objects = manifests(bee, "--config", str(config))
    assert capabilities(objects) == ["BPF", "PERFMON", "NET_ADMIN"]
    assert objects["ConfigMap"]["data"]["runner.yaml"] == config.read_text()  # the file as written


def test_the_schemas_are_strict() -> None:
    """The checker itself: a field Kubernetes does not know fails in every version."""
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"clusterIp": "None"}}
    for version in VERSIONS:
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(service, version, strict=True)


@pytest.mark.parametrize(("args", "fragments"), [
    (["probe:v1"], ["probe:v1 names no registry", "push it first"]),
    (["{tmp}/probe.o"], ["is a file", "`bee push` it first"]),
    (["ghcr.io/Example/Probe:v1"], ["invalid reference"]),
    ([REF, "--image", "Bee Runner"], ["invalid --image"]),
    ([REF, "-n", "Not_A_Namespace"], ["invalid namespace"]),
    ([], ["give the programs either as references or with --config"]),
    ([REF, "--config", "{tmp}/runner.yaml"], ["not both"]),
    (["--config", "{tmp}/missing.yaml"], ["missing.yaml"]),
    (["--config", "{tmp}/runner.yaml"], ["names no registry"]),
    (["--config", "{tmp}/port.yaml"], ["port 9000", "9091"]),
    (["--config", "{tmp}/bad.yaml"], ["bad.yaml", "nope"]),
])
def test_bad_input_is_one_sentence(bee: Bee, store_dir: Path, tmp_path: Path, args: list[str],
                                   fragments: list[str]) -> None:
    (tmp_path / "probe.o").write_bytes((DATA / "obj" / "opensnoop.o").read_bytes())
    LocalStore(store_dir).save_program("probe:v1", (tmp_path / "probe.o").read_bytes(), platform=None)
    (tmp_path / "runner.yaml").write_text("programs:\n  - program: probe:v1\n")
    (tmp_path / "port.yaml").write_text(f"programs:\n  - program: {REF}\nmetrics: {{port: 9000}}\n")
    (tmp_path / "bad.yaml").write_text(f"programs:\n  - program: {REF}\n    nope: 1\n")
    proc = bee("k8s", "manifest", *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert_one_line_error(proc, *fragments)
    assert proc.stdout == ""


def test_verify_keys_go_into_a_secret_the_runner_verifies_with(bee: Bee, tmp_path: Path) -> None:
    from tests.registry import cosign

    pub = tmp_path / "ci.pub"
    pub.write_bytes(cosign.public_pem(cosign.new_key()))
    proc = bee("k8s", "manifest", REF, "--verify-key", str(pub))
    assert proc.returncode == 0, proc.stderr
    documents = list(yaml.safe_load_all(proc.stdout))
    assert validate_all(documents) == ["Namespace", "ServiceAccount", "ConfigMap", "Service", "Secret", "DaemonSet"]
    objects = {d["kind"]: d for d in documents}
    import base64

    assert base64.b64decode(objects["Secret"]["data"]["ci.pub"]) == pub.read_bytes()
    assert {"name": "signing", "mountPath": "/etc/bee-signing", "readOnly": True} in \
        pod(objects)["containers"][0]["volumeMounts"]
    (tmp_path / "runner.yaml").write_text(objects["ConfigMap"]["data"]["runner.yaml"])
    assert load_config(tmp_path / "runner.yaml").verify_keys == (Path("/etc/bee-signing/ci.pub"),)
    not_a_key = tmp_path / "x.pub"
    not_a_key.write_text("no\n")
    assert_one_line_error(bee("k8s", "manifest", REF, "--verify-key", str(not_a_key)), "is not a PEM public key")
    assert_one_line_error(bee("k8s", "manifest", "--config", str(tmp_path / "runner.yaml"), "--verify-key", str(pub)),
                          "with --config, name the keys in the config")


def _secret_files(objects: dict[str, dict[str, Any]], directory: Path) -> dict[str, bytes]:
    """The files of the Secret bee-runner-web, as the kubelet mounts them, written into `directory`."""
    import base64

    secrets = [o for o in objects.values() if o["kind"] == "Secret" and o["metadata"]["name"] == "bee-runner-web"]
    assert len(secrets) == 1
    files = {name: base64.b64decode(value) for name, value in secrets[0]["data"].items()}
    directory.mkdir()
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return files


def test_a_web_config_goes_into_a_secret_the_runner_serves_metrics_with(bee: Bee, tmp_path: Path) -> None:
    """The web config and the files it names (relative or absolute) travel in a Secret; mounted, the config
    loads as the runner loads it (same certificate, same users); probes and scrape annotations follow."""
    import bcrypt

    from bee.sinks.webconfig import load_web_config
    from tests.pki import make_pki

    pki = make_pki(tmp_path)
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
    config = tmp_path / "conf" / "web.yml"
    config.parent.mkdir()
    config.write_text(f"tls_server_config:\n  cert_file: ../server.crt\n  key_file: {pki['server.key']}\n"
                      f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    proc = bee("k8s", "manifest", REF, "--web-config", str(config))
    assert proc.returncode == 0, proc.stderr
    documents = list(yaml.safe_load_all(proc.stdout))
    assert validate_all(documents) == ["Namespace", "ServiceAccount", "ConfigMap", "Service", "Secret", "DaemonSet"]
    objects = {d["kind"]: d for d in documents}
    files = _secret_files(objects, tmp_path / "mounted")
    assert files["server.crt"] == pki["server.crt"].read_bytes()
    assert files["server.key"] == pki["server.key"].read_bytes()
    mounted = load_web_config(tmp_path / "mounted" / "web.yml")
    assert mounted.tls is not None and mounted.users == {"prometheus": hashed.encode()}
    container = pod(objects)["containers"][0]
    assert container["args"] == ["run", "--config", "/etc/bee/runner.yaml", "--web-config", "/etc/bee-web/web.yml"]
    assert {"name": "web", "mountPath": "/etc/bee-web", "readOnly": True} in container["volumeMounts"]
    assert {"name": "web", "secret": {"secretName": "bee-runner-web", "defaultMode": 0o400}} in pod(objects)["volumes"]
    # the kubelet has no password: a TCP connect; Prometheus is told to scrape over HTTPS
    assert container["readinessProbe"]["tcpSocket"] == {"port": "metrics"}
    assert "httpGet" not in container["livenessProbe"]
    assert objects["Service"]["metadata"]["annotations"]["prometheus.io/scheme"] == "https"


def test_a_tls_only_web_config_keeps_http_probes_over_https(bee: Bee, tmp_path: Path) -> None:
    from tests.pki import make_pki

    make_pki(tmp_path)
    (tmp_path / "web.yml").write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
    objects = {d["kind"]: d for d in yaml.safe_load_all(bee("k8s", "manifest", REF, "--web-config",
                                                                str(tmp_path / "web.yml")).stdout)}
    container = pod(objects)["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics", "scheme": "HTTPS"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics", "scheme": "HTTPS"}
    # client certificates required: the kubelet has none, so only a TCP connect can probe
    (tmp_path / "certs.yml").write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                                        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n")
    certs = {d["kind"]: d for d in yaml.safe_load_all(bee("k8s", "manifest", REF, "--web-config",
                                                          str(tmp_path / "certs.yml")).stdout)}
    assert pod(certs)["containers"][0]["readinessProbe"]["tcpSocket"] == {"port": "metrics"}
    without = manifests(bee, REF)
    assert "scheme" not in pod(without)["containers"][0]["readinessProbe"]["httpGet"]
    assert "prometheus.io/scheme" not in without["Service"]["metadata"]["annotations"]


def test_a_bad_web_config_is_one_sentence_and_prints_nothing(bee: Bee, tmp_path: Path) -> None:
    from tests.pki import make_pki

    make_pki(tmp_path)
    (tmp_path / "plain.yml").write_text("basic_auth_users:\n  alice: secret\n")
    (tmp_path / "missing.yml").write_text("tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n")
    (tmp_path / "clash.yml").write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                                        "  client_auth_type: RequireAndVerifyClientCert\n"
                                        "  client_ca_file: sub/server.crt\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "server.crt").write_bytes((tmp_path / "ca.crt").read_bytes())
    for name, fragment in (("plain.yml", "expected a bcrypt hash"), ("missing.yml", "nope.crt is not a file"),
                           ("clash.yml", "are named server.crt"), ("absent.yml", "absent.yml")):
        proc = bee("k8s", "manifest", REF, "--web-config", str(tmp_path / name))
        assert_one_line_error(proc, fragment)
        assert proc.stdout == ""
