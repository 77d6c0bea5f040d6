"""`bee k8s manifest --web-config FILE`: the runner's protected metrics endpoint as a Secret.

The web config is checked as `bee run --web-config` checks it (certificates and key loaded, users' hashes
read), then put into a Secret with every file its `tls_server_config` names, under their file names, and
the config rewritten to name them there: mounted at `WEB_PATH`, it is the same protection on every node.
What the manifests need to know of it (TLS, whether a request without credentials is refused) comes along,
so probes and scrape annotations can follow.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import yaml

from bee.errors import UsageError

__all__ = ["WEB_CONFIG", "WEB_PATH", "WEB_SECRET", "WebSecret", "web_secret"]

WEB_PATH = "/etc/bee-web"
WEB_SECRET = "bee-runner-web"
WEB_CONFIG = "web.yml"
_FILE_KEYS = ("cert_file", "key_file", "client_ca_file")


@dataclass(frozen=True)
class WebSecret:
    """The Secret's files (name → bytes), and what the endpoint asks of a client: TLS (`tls`), and
    credentials or a client certificate before it answers anything (`closed`, /healthz included)."""

    files: dict[str, bytes]
    tls: bool
    closed: bool


def web_secret(path: Path) -> WebSecret:
    """The Secret of the web config at `path`. ConfigError (one sentence, file and line) for a config `bee run`
    would refuse; UsageError when two files it names have the same file name."""
    from bee.sinks.webconfig import load_web_config

    checked = load_web_config(path)  # every mistake, as the runner would say it, before anything is written
    document = yaml.safe_load(path.read_text()) or {}
    files: dict[str, bytes] = {}
    tls = document.get("tls_server_config") or {}
    for key in _FILE_KEYS:
        if key not in tls:
            continue
        named = Path(str(tls[key]))
        source = named if named.is_absolute() else path.parent / named
        if named.name in files or named.name == WEB_CONFIG:
            raise UsageError(f"two files of {path} are named {named.name}: the Secret holds them by file name, "
                             "rename one")
        try:
            files[named.name] = source.read_bytes()
        except OSError as exc:
            raise UsageError(f"{path} names {key} {source}, which cannot be read: {exc.strerror or exc}") from None
        tls[key] = named.name  # relative to the mounted web.yml, as the exporter-toolkit reads paths
    files[WEB_CONFIG] = yaml.safe_dump(document, sort_keys=False).encode()
    client_certificates = checked.tls is not None and checked.tls.verify_mode == ssl.CERT_REQUIRED
    return WebSecret(files=files, tls=checked.tls is not None, closed=bool(checked.users) or client_certificates)
