"""Real `docker-registry serve` processes on loopback, each with its own config, storage and log.

`start_registry` writes a config for one mode (plain HTTP, TLS, htpasswd, token), starts the
registry on a free 127.0.0.1 port, waits until `/v2/` answers and returns a `Registry`;
`Registry.stop()` terminates it (then kills it if it lingers).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.registry.keys import KeyPair
from tests.registry.token_server import TokenServer

REGISTRY_BIN = "/usr/bin/docker-registry"
USERNAME = "bee"
PASSWORD = "s3cret"


def registry_available() -> bool:
    """Whether Debian's docker-registry binary is installed."""
    return os.access(REGISTRY_BIN, os.X_OK)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Registry:
    """One running registry. `url` is its base URL, `host` the `HOST:PORT` to put in references."""

    url: str
    host: str
    root: Path
    process: subprocess.Popen[bytes]
    ca_cert: Path | None = None  # PEM of the self-signed certificate, when serving TLS
    username: str | None = None  # basic-auth or token-server credentials, when auth is on
    password: str | None = None
    token_server: TokenServer | None = None

    @property
    def tls(self) -> bool:
        return self.ca_cert is not None

    @property
    def verify(self) -> str | bool:
        """What to pass as `requests`' `verify=`: the certificate to trust, or True for plain HTTP."""
        return str(self.ca_cert) if self.ca_cert else True

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.username, self.password) if self.username and self.password else None

    @property
    def log(self) -> str:
        """The registry's own log so far."""
        return (self.root / "registry.log").read_text(errors="replace")

    def ref(self, repo: str, tag: str = "latest") -> str:
        """A reference to `repo:tag` on this registry."""
        return f"{self.host}/{repo}:{tag}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _config(root: Path, port: int, *, tls: KeyPair | None, htpasswd: Path | None,
            token: TokenServer | None, token_bundle: Path | None) -> dict[str, object]:
    http: dict[str, object] = {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)}
    if tls:
        http["tls"] = {"certificate": str(tls.cert_path), "key": str(tls.key_path)}
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": False}},
        "storage": {"filesystem": {"rootdirectory": str(root / "storage")}, "delete": {"enabled": True},
                    "maintenance": {"uploadpurging": {"enabled": False}}},
        "http": http,
    }
    if htpasswd:
        config["auth"] = {"htpasswd": {"realm": "bee-test-registry", "path": str(htpasswd)}}
    elif token:
        config["auth"] = {"token": {"realm": token.realm, "service": token.service, "issuer": token.issuer,
                                    "rootcertbundle": str(token_bundle)}}
    return config


def _answers(url: str, context: ssl.SSLContext | None) -> bool:
    try:
        with urllib.request.urlopen(url + "/v2/", timeout=1, context=context):
            return True
    except urllib.error.HTTPError:
        return True  # 401 is an answer
    except OSError:
        return False


def start_registry(root: Path, *, tls: KeyPair | None = None, htpasswd: Path | None = None,
                   token: TokenServer | None = None, timeout: float = 10.0) -> Registry:
    """Start `docker-registry serve` in `root` (config, storage, log) and wait until `/v2/` answers."""
    root.mkdir(parents=True, exist_ok=True)
    bundle = None
    if token:
        bundle = root / "token-rootcerts.pem"
        shutil.copyfile(token.pair.cert_path, bundle)
    context = None
    if tls:
        context = ssl.create_default_context(cafile=str(tls.cert_path))
    for _attempt in range(3):  # a port picked free may be taken before the registry binds it
        port = free_port()
        config_path = root / "config.yml"
        # JSON is YAML: no YAML library needed.
        config_path.write_text(json.dumps(_config(root, port, tls=tls, htpasswd=htpasswd, token=token,
                                                  token_bundle=bundle), indent=2))
        with open(root / "registry.log", "ab") as log:
            process = subprocess.Popen([REGISTRY_BIN, "serve", str(config_path)], stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT, cwd=root)
        scheme = "https" if tls else "http"
        url = f"{scheme}://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            if _answers(url, context):
                return Registry(url=url, host=f"127.0.0.1:{port}", root=root, process=process,
                                ca_cert=tls.cert_path if tls else None, token_server=token,
                                **_credentials(htpasswd, token))
            time.sleep(0.02)
        Registry(url, "", root, process).stop()
        if "address already in use" not in (root / "registry.log").read_text(errors="replace"):
            break
    raise RuntimeError(f"docker-registry did not start; its log:\n{(root / 'registry.log').read_text()}")


def _credentials(htpasswd: Path | None, token: TokenServer | None) -> dict[str, str | None]:
    if htpasswd or token:
        return {"username": USERNAME, "password": PASSWORD}
    return {"username": None, "password": None}


def unused_url() -> str:
    """A loopback URL where nothing listens (the port is free when returned)."""
    return f"http://127.0.0.1:{free_port()}"
