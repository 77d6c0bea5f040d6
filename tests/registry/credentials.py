"""Docker client configuration for tests: a `config.json` in a temp `DOCKER_CONFIG`, and a
`docker-credential-beetest` helper speaking the credential-helper protocol and logging its calls.

The helper keeps its credentials in a JSON file beside it and appends one JSON line per call
to `calls.log` (`{"action": ..., "server": ...}`; secrets are never logged).
"""

from __future__ import annotations

import base64
import json
import stat
import sys
from pathlib import Path
from typing import Any

HELPER_NAME = "beetest"

HELPER_SOURCE = '''#!{python}
"""docker-credential-{name}: a test credential helper (get, store, erase, list)."""
import json, sys
STORE, LOG = {store!r}, {log!r}

def load():
    try:
        with open(STORE) as f:
            return json.load(f)
    except FileNotFoundError:
        return {{}}

def save(creds):
    with open(STORE, "w") as f:
        json.dump(creds, f)

def log(action, server):
    with open(LOG, "a") as f:
        f.write(json.dumps({{"action": action, "server": server}}) + "\\n")

action = sys.argv[1] if len(sys.argv) > 1 else ""
data = sys.stdin.read() if action in ("get", "store", "erase") else ""
creds = load()
if action == "get":
    server = data.strip()
    log(action, server)
    if server not in creds:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps({{"ServerURL": server, "Username": creds[server][0], "Secret": creds[server][1]}}))
elif action == "store":
    entry = json.loads(data)
    log(action, entry["ServerURL"])
    creds[entry["ServerURL"]] = [entry["Username"], entry["Secret"]]
    save(creds)
elif action == "erase":
    server = data.strip()
    log(action, server)
    creds.pop(server, None)
    save(creds)
elif action == "list":
    log(action, None)
    print(json.dumps({{server: user for server, (user, _) in creds.items()}}))
else:
    log(action, None)
    print("unknown action: " + action, file=sys.stderr)
    sys.exit(1)
'''


def auth_entry(username: str, password: str) -> dict[str, str]:
    """A Docker `auths` entry: `{"auth": base64("user:password")}`."""
    return {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}


def write_docker_config(directory: Path, *, auths: dict[str, tuple[str, str]] | None = None,
                        creds_store: str | None = None, cred_helpers: dict[str, str] | None = None,
                        extra: dict[str, Any] | None = None) -> Path:
    """Write `directory/config.json` (Docker's format) and return its path."""
    config: dict[str, Any] = {"auths": {server: auth_entry(*cred) for server, cred in (auths or {}).items()}}
    if creds_store:
        config["credsStore"] = creds_store
    if cred_helpers:
        config["credHelpers"] = cred_helpers
    config.update(extra or {})
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


class CredentialHelper:
    """The `docker-credential-beetest` program in `bin_dir` (prepend it to PATH to use it)."""

    name = HELPER_NAME

    def __init__(self, directory: Path) -> None:
        self.bin_dir = directory / "bin"
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        self.store_file = directory / "credentials.json"
        self.log_file = directory / "calls.log"
        self.path = self.bin_dir / f"docker-credential-{HELPER_NAME}"
        self.path.write_text(HELPER_SOURCE.format(python=sys.executable, name=HELPER_NAME,
                                                  store=str(self.store_file), log=str(self.log_file)))
        self.path.chmod(self.path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    def add(self, server: str, username: str, secret: str) -> None:
        """Give the helper credentials for `server` (as `store` would, without logging a call)."""
        creds = json.loads(self.store_file.read_text()) if self.store_file.exists() else {}
        creds[server] = [username, secret]
        self.store_file.write_text(json.dumps(creds))

    def stored(self) -> dict[str, tuple[str, str]]:
        """The credentials the helper holds now, by server."""
        if not self.store_file.exists():
            return {}
        return {server: (user, secret) for server, (user, secret) in json.loads(self.store_file.read_text()).items()}

    def calls(self) -> list[dict[str, str | None]]:
        """The calls made so far, oldest first: `{"action": "get", "server": "127.0.0.1:5000"}`."""
        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text().splitlines() if line]
