"""Pytest fixtures for real-registry tests. `tests/registry/conftest.py` imports them; a conftest
elsewhere can do the same (`from tests.registry.fixtures import registry_plain, ...`).

Registries are session-scoped (each starts in well under a second, once): they share storage
across tests, so each test should push to its own repository name. All listen on 127.0.0.1.

| fixture | yields |
|---|---|
| `registry_plain` | `Registry`: plain HTTP, anonymous push and pull |
| `registry_tls` | `Registry`: HTTPS, self-signed; `.ca_cert` is the PEM to trust (or use insecure mode) |
| `registry_basic` | `Registry`: HTTPS + htpasswd basic auth, `.username`/`.password` = `bee`/`s3cret` |
| `registry_basic_plain` | `Registry`: plain HTTP + htpasswd basic auth, same user |
| `registry_token` | `Registry`: plain HTTP, `auth: token`; `.token_server` (requests cleared per test) |
| `registry_factory` | `make(tls=, basic=, token=, key_header=)`: any other combination, cached |
| `tampering_proxy` | `make(upstream_url, digest=None, manifests=False, relative_locations=False) -> TamperingProxy` |
| `registry_down` | a loopback URL where nothing listens (port held bound, not listening) |
| `docker_config` | `write(auths=, creds_store=, cred_helpers=) -> Path`, with `DOCKER_CONFIG` set |
| `cred_helper` | `CredentialHelper` `docker-credential-beetest`, its directory first on `PATH` |
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.registry.credentials import CredentialHelper, write_docker_config
from tests.registry.keys import KeyPair, self_signed, write_htpasswd
from tests.registry.proxy import TamperingProxy
from tests.registry.servers import PASSWORD, USERNAME, Registry, start_registry
from tests.registry.token_server import TokenServer

RegistryFactory = Callable[..., Registry]


@pytest.fixture(scope="session")
def registry_cert(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    """The self-signed server certificate (SANs 127.0.0.1, ::1, localhost) of the TLS registries."""
    return self_signed(tmp_path_factory.mktemp("registry-certs"), "registry")


@pytest.fixture(scope="session")
def registry_factory(tmp_path_factory: pytest.TempPathFactory, registry_cert: KeyPair) -> Iterator[RegistryFactory]:
    """`make(tls=False, basic=False, token=False, key_header="x5c")`: a running registry, one per combination.

    Requesting it (or a registry fixture made with it) marks the test `registry` (tests/conftest.py)."""
    running: dict[tuple[Any, ...], Registry] = {}
    token_servers: list[TokenServer] = []

    def make(*, tls: bool = False, basic: bool = False, token: bool = False, key_header: str = "x5c") -> Registry:
        key = (tls, basic, token, key_header if token else None)
        if key in running:
            return running[key]
        name = "registry-" + "-".join(n for n, on in (("tls", tls), ("basic", basic), ("token", token)) if on)
        root = tmp_path_factory.mktemp(name if name != "registry-" else "registry-plain")
        server = None
        if token:
            server = TokenServer(self_signed(root / "token-key", "token-signer", sans=()), {USERNAME: PASSWORD},
                                 key_header=key_header).start()
            token_servers.append(server)
        htpasswd = write_htpasswd(root / "htpasswd", {USERNAME: PASSWORD}) if basic else None
        running[key] = start_registry(root, tls=registry_cert if tls else None, htpasswd=htpasswd, token=server)
        return running[key]

    yield make
    for registry in running.values():
        registry.stop()
    for server in token_servers:
        server.close()


@pytest.fixture(scope="session")
def registry_plain(registry_factory: RegistryFactory) -> Registry:
    """Plain HTTP, no auth."""
    return registry_factory()


@pytest.fixture(scope="session")
def registry_tls(registry_factory: RegistryFactory) -> Registry:
    """HTTPS with the self-signed `registry_cert`, no auth."""
    return registry_factory(tls=True)


@pytest.fixture(scope="session")
def registry_basic(registry_factory: RegistryFactory) -> Registry:
    """HTTPS with htpasswd basic auth (`bee` / `s3cret`)."""
    return registry_factory(tls=True, basic=True)


@pytest.fixture(scope="session")
def registry_basic_plain(registry_factory: RegistryFactory) -> Registry:
    """Plain HTTP with htpasswd basic auth (`bee` / `s3cret`); the registry allows it."""
    return registry_factory(basic=True)


@pytest.fixture(scope="session")
def registry_token_session(registry_factory: RegistryFactory) -> Registry:
    """Plain HTTP with bearer-token auth from the suite's token server."""
    return registry_factory(token=True)


@pytest.fixture
def registry_token(registry_token_session: Registry) -> Registry:
    """`registry_token_session` with the token server's request log cleared for this test."""
    assert registry_token_session.token_server is not None
    registry_token_session.token_server.clear()
    return registry_token_session


@pytest.fixture
def tampering_proxy() -> Iterator[Callable[..., TamperingProxy]]:
    """`make(upstream_url, digest=None, manifests=False, relative_locations=False)`: a started proxy
    corrupting blob GETs (or, with `relative_locations`, making upload `Location`s relative)."""
    proxies: list[TamperingProxy] = []

    def make(upstream_url: str, digest: str | None = None, manifests: bool = False,
             relative_locations: bool = False) -> TamperingProxy:
        proxies.append(TamperingProxy(upstream_url, digest=digest, manifests=manifests,
                                      relative_locations=relative_locations).start())
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


@pytest.fixture
def registry_down() -> Iterator[str]:
    """`http://127.0.0.1:PORT` where connections are refused: the port stays bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """`write(auths={server: (user, pw)}, creds_store=, cred_helpers={server: helper})` into a temp
    directory that `DOCKER_CONFIG` points at; returns the `config.json` path."""
    directory = tmp_path / "docker-config"
    directory.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))

    def write(**kwargs: Any) -> Path:
        return write_docker_config(directory, **kwargs)

    return write


@pytest.fixture
def cred_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CredentialHelper:
    """The `docker-credential-beetest` helper, first on `PATH`; `.add(server, user, secret)`, `.calls()`."""
    helper = CredentialHelper(tmp_path / "cred-helper")
    monkeypatch.setenv("PATH", f"{helper.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return helper
