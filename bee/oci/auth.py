"""Registry credentials: challenges, credential sources in order, and saving a login.

Pure and light (no HTTP library): `parse_www_authenticate` reads RFC 7235 challenges;
`find_credentials` looks a registry up in, in order, the `-u/-p` flags, bee's own
`<config-dir>/config.json`, the `-c/--config` files, then Docker's `config.json`
(`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`). Every file is in Docker's
format; within one file the registry's `credHelpers` entry comes first, then its
`auths` entry (base64 `auth`, or `username`/`password`), then the `credsStore` helper.
Helpers are `docker-credential-<name> get` programs: the server on stdin, JSON out.
`save_login` writes `{"auths": {server: {"auth": base64(user:pass)}}}` atomically, mode 0600.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bee.inputs import expand_user
from bee.oci.errors import CredentialsError
from bee.oci.fileutil import FileTooLarge, atomic_write, read_bounded

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")
HELPER_TIMEOUT = 30.0

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


# -- WWW-Authenticate ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge: the scheme in lowercase, its parameters (names in lowercase), or a token68."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, chars: str = " \t") -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def token(self) -> str | None:
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

    def param_starts(self) -> bool:
        """True when `name = value` starts here (a token68 such as `abc==` does not)."""
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            return False
        rest = self.text[match.end():].lstrip(" \t")
        if not rest.startswith("="):
            return False
        value = rest[1:].lstrip(" \t")
        return value[:1] == '"' or _TOKEN.match(value) is not None

    def quoted(self) -> str:
        self.pos += 1  # the opening quote
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
            elif ch == '"':
                self.pos += 1
                return "".join(out)
            else:
                out.append(ch)
                self.pos += 1
        raise ValueError("a quoted string is not closed")


def parse_www_authenticate(header: str) -> list[Challenge]:
    """The challenges of a `WWW-Authenticate` value, in order; raises `ValueError` if malformed.

    Handles several challenges in one value (`Basic realm="r", Bearer realm="t",service="s"`),
    quoted strings with commas and backslash escapes, spaces around `=`, and token68 values.
    """
    reader = _Reader(header)
    challenges: list[Challenge] = []
    while True:
        reader.skip(" \t,")
        if reader.at_end():
            return challenges
        scheme = reader.token()
        if scheme is None:
            raise ValueError(f"expected an auth scheme at {header[reader.pos:]!r}")
        params: dict[str, str] = {}
        token68 = None
        had_space = reader.peek() in (" ", "\t")
        reader.skip()
        if had_space and not reader.at_end() and reader.peek() != ",":
            if reader.param_starts():
                _read_params(reader, params)
            else:
                match = _TOKEN68.match(reader.text, reader.pos)
                if match is None:
                    raise ValueError(f"unexpected text after {scheme}: {header[reader.pos:]!r}")
                token68 = match.group()
                reader.pos = match.end()
                reader.skip()
                if not reader.at_end() and reader.peek() != ",":
                    raise ValueError(f"unexpected text after {scheme}: {header[reader.pos:]!r}")
        challenges.append(Challenge(scheme.lower(), params, token68))


def _read_params(reader: _Reader, params: dict[str, str]) -> None:
    """Read `name=value` pairs separated by commas; stop before a token that starts a new challenge."""
    while True:
        name = reader.token()
        assert name is not None  # param_starts() said so
        reader.skip()
        reader.pos += 1  # "="
        reader.skip()
        value = reader.quoted() if reader.peek() == '"' else reader.token()
        params[name.lower()] = value or ""
        reader.skip()
        if reader.at_end():
            return
        if reader.peek() != ",":
            raise ValueError(f"expected a comma at {reader.text[reader.pos:]!r}")
        reader.skip(" \t,")
        if reader.at_end() or not reader.param_starts():
            return


def merge_scopes(scopes: Iterable[str]) -> list[str]:
    """Token scopes with the actions on one resource merged, sorted: `repository:x:pull` and
    `repository:x:push` → `repository:x:pull,push` (what one token request asks for)."""
    resources: dict[str, set[str]] = {}
    for scope in scopes:
        resource, sep, actions = scope.rpartition(":")
        if not sep or not resource:
            resources.setdefault(scope, set())
            continue
        resources.setdefault(resource, set()).update(a for a in actions.split(",") if a)
    return [f"{r}:{','.join(sorted(a))}" if a else r for r, a in sorted(resources.items())]


# -- credentials -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username and password (or token), and where they were found, for messages."""

    username: str
    password: str = field(repr=False)
    source: str

    def basic(self) -> str:
        """The value of a Basic `Authorization` header (without the scheme)."""
        return basic_auth(self.username, self.password)


@dataclass(frozen=True, slots=True)
class CredentialLookup:
    """The credentials found for one registry (None: anonymous), and notes on sources that failed."""

    credentials: Credentials | None
    notes: tuple[str, ...] = ()


def basic_auth(username: str, password: str) -> str:
    """base64 of `username:password`, as Docker's `auth` field and Basic auth hold it."""
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def server_host(server: str) -> str:
    """The `host[:port]` of a server as users and Docker configs write it (scheme and path dropped)."""
    text = server.strip()
    for scheme in ("https://", "http://"):
        if text.lower().startswith(scheme):
            text = text[len(scheme):]
            break
    return text.split("/", 1)[0].lower()


def config_keys(host: str) -> list[str]:
    """The Docker config keys that may hold credentials for `host` (Docker Hub's own key included)."""
    host = server_host(host)
    if host in DOCKER_HUB_HOSTS:
        return [DOCKER_HUB_KEY, *DOCKER_HUB_HOSTS]
    return [host]


def login_key(server: str) -> str:
    """The key `bee login SERVER` saves under: `host[:port]`, or Docker Hub's historical URL."""
    host = server_host(server)
    return DOCKER_HUB_KEY if host in DOCKER_HUB_HOSTS else host


def docker_config_path(env: Mapping[str, str] | None = None) -> Path:
    """Docker's config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`."""
    env = os.environ if env is None else env
    directory = env.get("DOCKER_CONFIG")
    return expand_user(directory) / "config.json" if directory else Path.home() / ".docker" / "config.json"


#: The largest credentials file read (Docker's are a few KiB; a bigger one is a mistake, refused before reading).
MAX_CONFIG_SIZE = 16 << 20


def read_config(path: Path) -> dict[str, Any] | None:
    """A Docker-format config file decoded, or None if it does not exist; `CredentialsError` if unreadable."""
    try:
        data = read_bounded(path, MAX_CONFIG_SIZE)
    except FileNotFoundError:
        return None
    except FileTooLarge as exc:
        raise CredentialsError(f"the credentials file {path} is {exc.size} bytes, more than bee's limit of "
                               f"{MAX_CONFIG_SIZE >> 20} MiB for one: fix or remove it") from None
    except OSError as exc:
        raise CredentialsError(f"cannot read the credentials file {path}: {exc.strerror or exc}") from None
    try:
        config = json.loads(data) if data.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise CredentialsError(f"the credentials file {path} is not valid JSON ({exc})") from None
    except RecursionError:
        raise CredentialsError(f"the credentials file {path} is JSON nested too deeply: fix or remove it") from None
    if not isinstance(config, dict):
        raise CredentialsError(f"the credentials file {path} is not a JSON object")
    return config


def _matching(table: object, host: str) -> Any:
    """The entry of a key-by-server table for `host` (exact keys first, then `scheme://host/...` keys)."""
    if not isinstance(table, dict):
        return None
    keys = config_keys(host)
    for key in keys:
        if key in table:
            return table[key]
    for key, value in table.items():
        if isinstance(key, str) and server_host(key) in keys:
            return value
    return None


def _from_auths_entry(entry: object, source: str) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=False).decode("utf-8")
        except ValueError:  # binascii.Error, UnicodeDecodeError, or a non-ASCII string
            raise CredentialsError(f"the auth entry in {source} is not base64 of user:password") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise CredentialsError(f"the auth entry in {source} is not base64 of user:password")
        return Credentials(username, password, source)
    user, secret = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(secret, str) and (user or secret):
        return Credentials(user, secret, source)
    return None


def run_helper(name: str, server: str) -> Credentials | None:
    """Ask `docker-credential-<name> get` for `server`'s credentials; None when it has none.

    Raises `CredentialsError` when the helper is missing, fails or prints something unreadable.
    """
    program = f"docker-credential-{name}"
    try:
        proc = subprocess.run([program, "get"], input=server.encode(), capture_output=True,
                              timeout=HELPER_TIMEOUT, check=False)
    except FileNotFoundError:
        raise CredentialsError(f"the credential helper {program} is not on PATH") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CredentialsError(f"the credential helper {program} could not run: {exc}") from None
    output = proc.stdout.decode(errors="replace").strip()
    if proc.returncode != 0:
        if "credentials not found" in output.lower():
            return None
        reason = (output or proc.stderr.decode(errors="replace").strip() or f"exit status {proc.returncode}")
        raise CredentialsError(f"the credential helper {program} failed for {server}: {reason.splitlines()[0]}")
    try:
        payload = json.loads(output)
        username, secret = payload["Username"], payload["Secret"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise CredentialsError(f"the credential helper {program} printed something other than its JSON") from None
    if not isinstance(username, str) or not isinstance(secret, str) or not secret:
        return None
    return Credentials(username, secret, f"{program}")


def credentials_in_config(config: Mapping[str, Any], host: str, path: Path) -> Credentials | None:
    """Credentials for `host` in one decoded Docker-format config: credHelpers, auths, then credsStore."""
    helper = _matching(config.get("credHelpers"), host)
    server = login_key(host)
    if isinstance(helper, str) and helper:
        found = run_helper(helper, server)
        if found is not None:
            return found
    found = _from_auths_entry(_matching(config.get("auths"), host), str(path))
    if found is not None:
        return found
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        return run_helper(store, server)
    return None


def credential_files(config_dir: Path, auth_configs: Sequence[Path],
                     env: Mapping[str, str] | None = None) -> list[Path]:
    """The Docker-format files searched, in order: bee's own, the `-c` files, then Docker's."""
    files = [config_dir / "config.json", *auth_configs, docker_config_path(env)]
    unique: list[Path] = []
    for path in files:
        if path not in unique:
            unique.append(path)
    return unique


def find_credentials(host: str, *, username: str | None, password: str | None, config_dir: Path,
                     auth_configs: Sequence[Path] = (), env: Mapping[str, str] | None = None) -> CredentialLookup:
    """The first credentials for `host` among the flags and the files of `credential_files`.

    Flags win when both are given. A file or helper that fails is skipped and noted (so an
    anonymous registry still works with a broken Docker setup); the notes go into auth errors.
    """
    if username is not None and password is not None:
        return CredentialLookup(Credentials(username, password, "the -u/-p flags"))
    notes: list[str] = []
    for path in credential_files(config_dir, auth_configs, env):
        try:
            config = read_config(path)
            found = credentials_in_config(config, host, path) if config is not None else None
        except CredentialsError as exc:
            notes.append(exc.message)
            continue
        if found is not None:
            return CredentialLookup(found, tuple(notes))
    return CredentialLookup(None, tuple(notes))


def save_login(config_dir: Path, server: str, username: str, password: str) -> Path:
    """Save the credentials for `server` in `<config_dir>/config.json` (other entries kept); returns its path.

    The file is replaced atomically and is readable by its owner only (mode 0600).
    Raises `CredentialsError` if the existing file cannot be read or the new one written.
    """
    path = config_dir / "config.json"
    config = read_config(path) or {}
    auths = config.get("auths")
    if not isinstance(auths, dict):
        auths = {}
    auths[login_key(server)] = {"auth": basic_auth(username, password)}
    config["auths"] = auths
    try:
        config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, (json.dumps(config, indent="\t") + "\n").encode(), mode=0o600)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise CredentialsError(f"cannot write the credentials file {path}: {exc.strerror or exc}") from None
    return path
