"""The Kubernetes objects of a runner DaemonSet, as plain dicts, and their YAML.

One runner per node runs every program of its runner config (mounted from a ConfigMap at
`/etc/bee/runner.yaml`) and serves `/metrics` and `/healthz` on port 9091. Least privilege: no
privileged container; root in the container with every capability dropped but BPF and PERFMON
(NET_ADMIN and the host network only when `network`), a read-only root filesystem, and writable
emptyDirs for the store (programs pulled), the BTF cache and /tmp. The host's tracefs, bpffs and
kernel BTF are mounted from the node. `deploy/kubernetes/` is the same set as a kustomize base.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from bee.deploy.webconfig import WebSecret

__all__ = ["APP", "CONFIG_PATH", "METRICS_PORT", "manifests", "to_yaml"]

APP = "bee-runner"
CONFIG_PATH = "/etc/bee/runner.yaml"
METRICS_PORT = 9091
PULL_SECRET = "bee-registry"  # create it for a private registry (docs/kubernetes.md); harmless when absent

Manifest = dict[str, Any]


def _meta(name: str, namespace: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/name": APP}, **extra}


def _scrape_annotations(tls: bool = False) -> dict[str, str]:
    scheme = {"prometheus.io/scheme": "https"} if tls else {}
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS_PORT), "prometheus.io/path": "/metrics",
            **scheme}


def _host_path(name: str, path: str, kind: str) -> dict[str, Any]:
    return {"name": name, "hostPath": {"path": path, "type": kind}}


def _probes(web: WebSecret | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(readiness, liveness) checks: /healthz and /metrics over HTTP(S); a TCP connect to the port when the
    endpoint answers nothing without a password or client certificate (the kubelet has neither)."""
    if web is not None and web.closed:
        return {"tcpSocket": {"port": "metrics"}}, {"tcpSocket": {"port": "metrics"}}
    scheme = {"scheme": "HTTPS"} if web is not None and web.tls else {}  # the kubelet does not check the certificate
    return ({"httpGet": {"path": "/healthz", "port": "metrics", **scheme}},
            {"httpGet": {"path": "/metrics", "port": "metrics", **scheme}})


def _container(image: str, network: bool, web: WebSecret | None = None) -> dict[str, Any]:
    from bee.deploy.webconfig import WEB_CONFIG, WEB_PATH

    capabilities = ["BPF", "PERFMON"] + (["NET_ADMIN"] if network else [])
    probe, alive = _probes(web)
    return {
        "name": "runner",
        "image": image,
        "args": ["run", "--config", CONFIG_PATH, *(("--web-config", f"{WEB_PATH}/{WEB_CONFIG}") if web else ())],
        "env": [{"name": "HOME", "value": "/var/lib/bee"},  # the store: ~/.bumblebee/store
                {"name": "XDG_CACHE_HOME", "value": "/var/cache/bee"}],  # the BTF cache
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "readinessProbe": {**probe, "initialDelaySeconds": 2, "periodSeconds": 10},
        # alive while the endpoint answers; /healthz is 503 while a program is down, which is not a reason to restart
        "livenessProbe": {**alive, "initialDelaySeconds": 10, "periodSeconds": 20, "failureThreshold": 3},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "securityContext": {
            "privileged": False,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsUser": 0,  # the capabilities below are granted to root in the container only
            "capabilities": {"drop": ["ALL"], "add": capabilities},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/bee", "readOnly": True},
            {"name": "tracefs", "mountPath": "/sys/kernel/tracing"},
            {"name": "bpffs", "mountPath": "/sys/fs/bpf"},
            {"name": "btf", "mountPath": "/sys/kernel/btf", "readOnly": True},
            {"name": "store", "mountPath": "/var/lib/bee"},
            {"name": "cache", "mountPath": "/var/cache/bee"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }


#: Where the runner finds the public keys (and policy file) of the Secret `SIGNING_SECRET`.
SIGNING_PATH = "/etc/bee-signing"
SIGNING_SECRET = "bee-runner-signing"


def _daemonset(namespace: str, image: str, network: bool, signing: bool = False,
               web: WebSecret | None = None) -> Manifest:
    from bee.deploy.webconfig import WEB_PATH, WEB_SECRET

    pod: dict[str, Any] = {
        "serviceAccountName": APP,
        "automountServiceAccountToken": False,  # the runner never talks to the API server
        "imagePullSecrets": [{"name": PULL_SECRET}],
        "tolerations": [{"operator": "Exists"}],  # every node, tainted ones (control plane) too
        "containers": [_container(image, network, web)],
        "volumes": [
            {"name": "config", "configMap": {"name": APP}},
            _host_path("tracefs", "/sys/kernel/tracing", "Directory"),
            _host_path("bpffs", "/sys/fs/bpf", "Directory"),
            _host_path("btf", "/sys/kernel/btf", "Directory"),
            {"name": "store", "emptyDir": {}},
            {"name": "cache", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
        ],
    }
    if signing:  # the keys (and policy) the runner verifies programs with, from a Secret
        pod["volumes"].append({"name": "signing", "secret": {"secretName": SIGNING_SECRET}})
        pod["containers"][0]["volumeMounts"].append({"name": "signing", "mountPath": SIGNING_PATH, "readOnly": True})
    if web is not None:  # the metrics endpoint's TLS and basic auth (--web-config), from a Secret
        # 0400: the private key is readable by the runner's root (uid 0 needs no capability to read its own file)
        pod["volumes"].append({"name": "web", "secret": {"secretName": WEB_SECRET, "defaultMode": 0o400}})
        pod["containers"][0]["volumeMounts"].append({"name": "web", "mountPath": WEB_PATH, "readOnly": True})
    if network:  # XDP/TC attach to the node's interfaces
        pod["hostNetwork"] = True
        pod["dnsPolicy"] = "ClusterFirstWithHostNet"
    selector = {"app.kubernetes.io/name": APP}
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": _meta(APP, namespace),
        "spec": {
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": selector,
                                      "annotations": _scrape_annotations(web is not None and web.tls)},
                         "spec": pod},
        },
    }


def _secret(name: str, namespace: str, files: dict[str, bytes]) -> Manifest:
    import base64

    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(name, namespace), "type": "Opaque",
            "data": {file: base64.b64encode(data).decode() for file, data in files.items()}}


def manifests(config_text: str, *, namespace: str, image: str, network: bool,
              signing: dict[str, bytes] | None = None, web: WebSecret | None = None) -> list[Manifest]:
    """Namespace, ServiceAccount, ConfigMap (`config_text` as runner.yaml), headless Service and DaemonSet.
    With `signing`, the DaemonSet mounts the Secret `SIGNING_SECRET` at `SIGNING_PATH`, and the Secret is
    made of those files (file name → bytes) unless there are none (the user then creates it). With `web`, the
    Secret `bee-runner-web` holds the endpoint's web config and its files, mounted and given to the runner;
    probes and scrape annotations follow its TLS and credentials."""
    from bee.deploy.webconfig import WEB_SECRET

    secret = [_secret(SIGNING_SECRET, namespace, signing)] if signing else []
    if web is not None:
        secret.append(_secret(WEB_SECRET, namespace, web.files))
    tls = web is not None and web.tls
    return [
        # hostPath volumes and added capabilities are beyond Pod Security's baseline level
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": namespace, "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(APP, namespace),
         "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(APP, namespace),
         "data": {"runner.yaml": config_text}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(APP, namespace, annotations=_scrape_annotations(tls)),
         "spec": {"clusterIP": "None", "selector": {"app.kubernetes.io/name": APP},
                  "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}]}},
        *secret,
        _daemonset(namespace, image, network, signing is not None, web),
    ]


class _Dumper(yaml.SafeDumper):
    """Block scalars for multi-line strings (the runner config reads as YAML inside the ConfigMap); no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(documents: list[Manifest]) -> str:
    """The documents as one multi-document YAML stream, keys in the order given."""
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, default_flow_style=False, explicit_start=True)
