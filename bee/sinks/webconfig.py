"""`--web-config FILE`: TLS and basic auth for the metrics endpoint, in the Prometheus exporter-toolkit's format.

The file is the one Prometheus exporters take (`--web.config.file`), so a set-up that protects them
protects bee the same way:

    tls_server_config:
      cert_file: server.crt          # paths relative to the file, as the exporter-toolkit reads them
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # or NoClientCert (default), VerifyClientCertIfGiven,
      client_ca_file: clients.crt                     #    RequireAnyClientCert, VerifyClientCertIfGiven
      min_version: TLS12             # TLS10 .. TLS13 (default TLS12); max_version too
    basic_auth_users:
      alice: $2y$10$...              # bcrypt hashes (htpasswd -nBC 10 alice)

Every other key of the format (`cipher_suites`, `curve_preferences`, `http_server_config`, ...) is refused
by name, as is any unknown key, rather than ignored: a protection that is silently not applied is worse
than an error. `load_web_config` raises ConfigError (bee.yamlfile) with one sentence naming file and line;
it needs `bcrypt` (bee's `web` extra) only when the file has users.
"""

from __future__ import annotations

import base64
import hashlib
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bee.yamlfile import ConfigError, YamlNode, read_yaml

_TOP = ("tls_server_config", "basic_auth_users", "http_server_config")
_TLS = ("cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version",
        "cipher_suites", "curve_preferences", "prefer_server_cipher_suites", "client_allowed_sans", "cert",
        "key")
_UNSUPPORTED = ("cipher_suites", "curve_preferences", "prefer_server_cipher_suites", "client_allowed_sans",
                "cert", "key")
_VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1, "TLS12": ssl.TLSVersion.TLSv1_2,
             "TLS13": ssl.TLSVersion.TLSv1_3}
_CLIENT_AUTH = ("NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
                "RequireAndVerifyClientCert")


@dataclass
class WebConfig:
    """What the endpoint enforces: TLS (`tls`, an SSL context; None for plain HTTP) and basic auth (`users`,
    name → bcrypt hash; empty for none). `allowed` checks an `Authorization` header."""

    tls: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)
    _granted: set[bytes] = field(default_factory=set)  # digests of header values bcrypt accepted
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allowed(self, authorization: str | None) -> bool:
        """True when no users are configured, or `authorization` (the header's value) is `Basic` credentials of
        a configured user with the right password. A value bcrypt accepted once is remembered by its
        SHA-256 (bcrypt takes tens of milliseconds on purpose, and Prometheus sends the same header at
        every scrape); a wrong one is checked again each time."""
        if not self.users:
            return True
        if not authorization or not authorization.startswith("Basic "):
            return False
        digest = hashlib.sha256(authorization.encode("latin-1", "replace")).digest()
        with self._lock:
            if digest in self._granted:
                return True
        try:
            user, _, password = base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        import bcrypt  # the `web` extra; present whenever users are (load_web_config checks)

        stored = self.users.get(user)
        # an unknown user costs one bcrypt check too, against one of the hashes: its time does not tell
        # bcrypt reads the first 72 bytes of a password (the Go exporters' check does the same); the bcrypt
        # package refuses longer ones with ValueError, which would leave the request unanswered
        good = bcrypt.checkpw(password.encode()[:72], stored or next(iter(self.users.values()))) and stored is not None
        if good:
            with self._lock:
                self._granted.add(digest)
        return good


def load_web_config(path: Path) -> WebConfig:
    """Read and check the web config at `path`, loading its certificates; ConfigError with one sentence."""
    document = read_yaml(path, what="web config", kind="web config")
    if _is_empty(document):
        return WebConfig()
    top = document.mapping(_TOP)
    if "http_server_config" in top:
        raise top["http_server_config"].error("bee does not support http_server_config (HTTP/2 and headers); "
                                              "remove it")
    config = WebConfig()
    if "tls_server_config" in top:
        config.tls = _tls_context(top["tls_server_config"], path.parent)
    if "basic_auth_users" in top:
        config.users = _users(top["basic_auth_users"])
    return config


def _tls_context(node: YamlNode, base: Path) -> ssl.SSLContext:
    tls = node.mapping(_TLS)
    for name in _UNSUPPORTED:
        if name in tls:
            raise tls[name].error(f"bee does not support {name}; remove it (bee uses OpenSSL's defaults, "
                                 "which exclude weak ciphers)")
    for name in ("cert_file", "key_file"):
        if name not in tls:
            raise node.error(f"needs {name}" + (" (the certificate's private key)" if name == "key_file" else ""))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = _VERSIONS[tls["min_version"].choice(tuple(_VERSIONS))] if "min_version" in tls \
        else ssl.TLSVersion.TLSv1_2
    if "max_version" in tls:
        context.maximum_version = _VERSIONS[tls["max_version"].choice(tuple(_VERSIONS))]
    cert_path, key_path = _file(tls["cert_file"], base), _file(tls["key_file"], base)
    try:
        context.load_cert_chain(cert_path, key_path)
    except (ssl.SSLError, OSError) as exc:
        raise tls["cert_file"].error(f"cannot use the certificate {cert_path} with the key {key_path}: "
                                     f"{getattr(exc, 'reason', None) or exc.strerror or exc}") from None
    auth = tls["client_auth_type"].choice(_CLIENT_AUTH) if "client_auth_type" in tls else "NoClientCert"
    if auth in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"):
        if "client_ca_file" not in tls:
            raise tls["client_auth_type"].error(f"{auth} needs client_ca_file, the CAs client certificates are "
                                                "checked against")
        ca = _file(tls["client_ca_file"], base)
        try:
            context.load_verify_locations(cafile=str(ca))
        except (ssl.SSLError, OSError) as exc:
            raise tls["client_ca_file"].error(f"cannot read the CA certificates {ca}: {exc}") from None
        context.verify_mode = ssl.CERT_REQUIRED if auth == "RequireAndVerifyClientCert" else ssl.CERT_OPTIONAL
    elif auth in ("RequestClientCert", "RequireAnyClientCert"):
        raise tls["client_auth_type"].error(f"bee does not support {auth} (a certificate taken without "
                                            "checking it); use VerifyClientCertIfGiven or RequireAndVerifyClientCert")
    return context


def _file(node: YamlNode, base: Path) -> Path:
    path = Path(node.text())
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise node.error(f"{path} is not a file")
    return path


def _users(node: YamlNode) -> dict[str, bytes]:
    from bee.extras import require

    require("bcrypt", "basic_auth_users in --web-config")
    users: dict[str, bytes] = {}
    for name, value in node.mapping(tuple(_user_names(node))).items():
        hashed = value.text()
        if not hashed.startswith(("$2a$", "$2b$", "$2y$")) or len(hashed) != 60:
            raise value.error("expected a bcrypt hash ($2y$..., 60 characters: htpasswd -nBC 10 USER), not a "
                              "password")
        users[name] = hashed.encode()
    if not users:
        raise node.error("basic_auth_users names no user")
    return users


def _user_names(node: YamlNode) -> list[str]:
    """Every key of the users mapping (any name is a user), as `YamlNode.mapping` wants its known keys."""
    import yaml

    if not isinstance(node.node, yaml.MappingNode):
        return []
    return [str(YamlNode(key, node.path, node.file).scalar()) for key, _ in node.node.value]


def _is_empty(node: YamlNode) -> bool:
    import yaml

    return isinstance(node.node, yaml.ScalarNode) and node.scalar() is None


def is_configured(config: WebConfig | None) -> bool:
    """True when `config` asks for TLS or users."""
    return config is not None and (config.tls is not None or bool(config.users))


__all__ = ["ConfigError", "WebConfig", "is_configured", "load_web_config"]
