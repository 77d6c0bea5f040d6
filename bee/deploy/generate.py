"""`bee k8s manifest`: the complete manifests for a runner DaemonSet running the given programs.

The runner config comes from the references (one entry each, named as `bee run` names them) or from a
config file, and is validated with `bee.run.config.load_config` either way; every program must be a
reference a node can pull (`bee.deploy.programs`). NET_ADMIN and the host network are granted only when a
program attaches XDP/TC: its stored spec says so, a config entry names an `iface`, or `network` is asked.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import yaml

from bee import __version__
from bee.deploy.manifests import METRICS_PORT, manifests, to_yaml
from bee.deploy.programs import check_program
from bee.errors import InvalidReferenceError, UsageError
from bee.oci.reference import parse_reference
from bee.run.config import RunnerConfig, load_config

__all__ = ["DEFAULT_IMAGE", "DEFAULT_NAMESPACE", "generate", "runner_config"]

DEFAULT_NAMESPACE = "bee"
DEFAULT_IMAGE = f"bee-runner:{__version__}"  # what `make runner-image` tags; push it and name it with --image
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def runner_config(refs: list[str]) -> str:
    """The runner config (YAML) that runs `refs`, serving metrics on every address (port 9091), events as JSON."""
    document = {"programs": [{"program": ref} for ref in refs],
                "metrics": {"port": METRICS_PORT}, "format": "json"}
    return yaml.safe_dump(document, sort_keys=False)


def _validated(text: str) -> RunnerConfig:
    with tempfile.TemporaryDirectory(prefix="bee-k8s-") as tmp:
        path = Path(tmp) / "runner.yaml"
        path.write_text(text)
        return load_config(path)


def generate(refs: list[str], *, config: Path | None, namespace: str, image: str, network: bool,
             store_root: Path) -> str:
    """The YAML of every object (Namespace to DaemonSet); UsageError/ConfigError/InvalidReferenceError,
    one sentence each, for bad input."""
    if bool(refs) == (config is not None):
        raise UsageError("give the programs either as references or with --config FILE, not both and not neither")
    if not _DNS_LABEL.fullmatch(namespace):
        raise UsageError(f"invalid namespace {namespace!r}: use lower-case letters, digits and '-', at most 63")
    try:
        parse_reference(image)
    except InvalidReferenceError as exc:
        raise UsageError(f"invalid --image: {exc}") from None
    if config is not None:
        parsed = load_config(config)
        text = config.read_text()
        entries = [(entry.program, entry.iface is not None) for entry in parsed.programs]
    else:
        text = runner_config(refs)
        parsed = _validated(text)
        entries = [(ref, False) for ref in refs]
    programs = [check_program(ref, store_root, network=network or has_iface) for ref, has_iface in entries]
    if parsed.prom_port != METRICS_PORT:
        raise UsageError(f"the config serves metrics on port {parsed.prom_port}; the manifests expect "
                         f"{METRICS_PORT}: set `metrics: {{port: {METRICS_PORT}}}`")
    if parsed.prom_host not in (None, "0.0.0.0", "::"):
        raise UsageError(f"the config serves metrics on {parsed.prom_host} only, which the kubelet's probes and "
                         f"Prometheus cannot reach: set `metrics: {{address: 0.0.0.0}}`")
    return to_yaml(manifests(text, namespace=namespace, image=image,
                             network=any(program.network for program in programs)))
