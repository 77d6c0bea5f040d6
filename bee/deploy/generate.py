"""`bee k8s manifest`: the complete manifests for a runner DaemonSet running the given programs.

The runner config comes from the references (one entry each, named as `bee run` names them) or from a
config file, and is validated with `bee.run.config.load_config` either way; every program must be a
reference a node can pull (`bee.deploy.programs`). NET_ADMIN and the host network are granted only when a
program attaches XDP/TC: its stored spec says so, a config entry names an `iface`, or `network` is asked.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from bee import __version__
from bee.deploy.manifests import METRICS_PORT, SIGNING_PATH, SIGNING_SECRET, manifests, to_yaml
from bee.deploy.programs import check_program
from bee.errors import InvalidReferenceError, UsageError
from bee.oci.reference import parse_reference
from bee.run.config import RunnerConfig, load_config

__all__ = ["DEFAULT_IMAGE", "DEFAULT_NAMESPACE", "generate", "runner_config"]

DEFAULT_NAMESPACE = "bee"
DEFAULT_IMAGE = f"bee-runner:{__version__}"  # what `make runner-image` tags; push it and name it with --image
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def runner_config(refs: list[str], verify_keys: Sequence[str] = ()) -> str:
    """The runner config (YAML) that runs `refs`, serving metrics on every address (port 9091), events as JSON,
    loading only programs signed by one of `verify_keys` (paths on the node) when there are any."""
    document: dict[str, object] = {"programs": [{"program": ref} for ref in refs],
                                   "metrics": {"port": METRICS_PORT}, "format": "json"}
    if verify_keys:
        document["verify_keys"] = list(verify_keys)
    return yaml.safe_dump(document, sort_keys=False)


def _signing_files(verify_keys: tuple[Path, ...]) -> dict[str, bytes]:
    """File name → bytes of each public key, checked to be one; UsageError when two share a name."""
    from bee.oci.sign.keys import load_public_key

    files: dict[str, bytes] = {}
    for path in verify_keys:
        load_public_key(path)  # SignatureError, one sentence, for a file that is not a public key
        if path.name in files:
            raise UsageError(f"two keys are named {path.name}: the Secret holds them by file name, rename one")
        files[path.name] = path.read_bytes()
    return files


def _validated(text: str) -> RunnerConfig:
    with tempfile.TemporaryDirectory(prefix="bee-k8s-") as tmp:
        path = Path(tmp) / "runner.yaml"
        path.write_text(text)
        return load_config(path)


def generate(refs: list[str], *, config: Path | None, namespace: str, image: str, network: bool,
             store_root: Path, verify_keys: tuple[Path, ...] = (), web_config: Path | None = None) -> str:
    """The YAML of every object (Namespace to DaemonSet); UsageError/ConfigError/InvalidReferenceError/
    SignatureError, one sentence each, for bad input. `verify_keys` go into a Secret the runner verifies
    every program with; a `config` that names keys or a policy gets that Secret mounted (its author makes it).
    `web_config` (a web config file, with the files it names) goes into a Secret the runner serves metrics with."""
    if bool(refs) == (config is not None):
        raise UsageError("give the programs either as references or with --config FILE, not both and not neither")
    if verify_keys and config is not None:
        raise UsageError(f"with --config, name the keys in the config (verify_keys or policy, under {SIGNING_PATH}) "
                         f"and create the Secret {SIGNING_SECRET} from them; --verify-key is for REFs")
    if not _DNS_LABEL.fullmatch(namespace):
        raise UsageError(f"invalid namespace {namespace!r}: use lower-case letters, digits and '-', at most 63")
    try:
        parse_reference(image)
    except InvalidReferenceError as exc:
        raise UsageError(f"invalid --image: {exc}") from None
    signing: dict[str, bytes] | None = None
    if config is not None:
        parsed = load_config(config)
        text = config.read_text()
        entries = [(entry.program, entry.iface is not None) for entry in parsed.programs]
        if parsed.verify_keys or parsed.policy is not None:
            signing = {}
    else:
        signing = _signing_files(verify_keys) if verify_keys else None
        text = runner_config(refs, [f"{SIGNING_PATH}/{name}" for name in signing or {}])
        parsed = _validated(text)
        entries = [(ref, False) for ref in refs]
    programs = [check_program(ref, store_root, network=network or has_iface) for ref, has_iface in entries]
    if parsed.prom_port != METRICS_PORT:
        raise UsageError(f"the config serves metrics on port {parsed.prom_port}; the manifests expect "
                         f"{METRICS_PORT}: set `metrics: {{port: {METRICS_PORT}}}`")
    if parsed.prom_host not in (None, "0.0.0.0", "::"):
        raise UsageError(f"the config serves metrics on {parsed.prom_host} only, which the kubelet's probes and "
                         f"Prometheus cannot reach: set `metrics: {{address: 0.0.0.0}}`")
    web = None
    if web_config is not None:
        from bee.deploy.webconfig import web_secret

        web = web_secret(web_config)
    return to_yaml(manifests(text, namespace=namespace, image=image,
                             network=any(program.network for program in programs), signing=signing, web=web))
