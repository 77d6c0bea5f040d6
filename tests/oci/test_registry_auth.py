"""Registry auth through the real CLI: htpasswd basic auth, the bearer-token flow (GHCR's), `bee login`,
and every credential source (flags, saved login, `-c` files, Docker's config, credential helpers)."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

from bee.oci.store import LocalStore
from tests.helpers import assert_one_line_error
from tests.registry.client import push_raw_bumblebee_artifact
from tests.registry.credentials import auth_entry


def _saved(config_dir: Path) -> dict:
    return json.loads((config_dir / "config.json").read_text())


def test_basic_auth_with_flags(beecli, registry_basic_plain, stored, store_dir: Path) -> None:
    reg = registry_basic_plain
    ref = reg.ref("basic/flags", "v1")
    digest = stored(ref)
    assert_one_line_error(beecli("--plain-http", "push", ref), f"{reg.host} requires credentials to push {ref}",
                          f"bee login {reg.host}")
    assert_one_line_error(beecli("--plain-http", "pull", ref), "not found, or not authorized without credentials")
    pushed = beecli("--plain-http", "-u", reg.username, "-p", reg.password, "push", ref)
    assert pushed.returncode == 0, pushed.stderr
    assert beecli("rm", ref).returncode == 0
    pulled = beecli("--plain-http", "-u", reg.username, "-p", reg.password, "pull", ref)
    assert pulled.returncode == 0, pulled.stderr
    assert LocalStore(store_dir).resolve(ref).digest == digest
    wrong = beecli("--plain-http", "-u", reg.username, "-p", "nope", "pull", ref)
    assert_one_line_error(wrong, f"rejected the credentials of {reg.username} (from the -u/-p flags)")


def test_login_checks_then_saves_and_later_commands_use_it(beecli, registry_basic_plain, stored,
                                                           config_dir: Path) -> None:
    reg = registry_basic_plain
    proc = beecli("--plain-http", "login", reg.host, "-u", reg.username, "-p", reg.password)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"Login Succeeded (credentials saved in {config_dir / 'config.json'})\n"
    path = config_dir / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _saved(config_dir) == {"auths": {reg.host: auth_entry(reg.username, reg.password)}}
    ref = reg.ref("basic/saved", "v1")
    stored(ref)
    pushed = beecli("--plain-http", "push", ref)
    assert pushed.returncode == 0, pushed.stderr
    assert beecli("rm", ref).returncode == 0
    assert beecli("--plain-http", "pull", ref).returncode == 0


def test_wrong_password_fails_login_and_saves_nothing(beecli, registry_basic_plain, config_dir: Path) -> None:
    reg = registry_basic_plain
    proc = beecli("--plain-http", "login", reg.host, "-u", reg.username, "-p", "wrong")
    assert_one_line_error(proc, f"{reg.host} rejected the credentials of {reg.username}: check the username")
    assert not (config_dir / "config.json").exists()
    # an existing file is left exactly as it was
    config_dir.mkdir()
    (config_dir / "config.json").write_text('{"auths": {"other.example:5000": {"auth": "eDp5"}}}')
    assert beecli("--plain-http", "login", reg.host, "-u", reg.username, "-p", "wrong").returncode != 0
    assert (config_dir / "config.json").read_text() == '{"auths": {"other.example:5000": {"auth": "eDp5"}}}'


def test_login_password_stdin_keeps_other_entries(beecli, registry_basic_plain, config_dir: Path) -> None:
    reg = registry_basic_plain
    config_dir.mkdir()
    (config_dir / "config.json").write_text('{"auths": {"other.example:5000": {"auth": "eDp5"}}, "x": 1}')
    proc = beecli("--plain-http", "login", reg.host, "-u", reg.username, "--password-stdin",
                  input=reg.password + "\n")
    assert proc.returncode == 0, proc.stderr
    saved = _saved(config_dir)
    assert saved["x"] == 1
    assert saved["auths"]["other.example:5000"] == {"auth": "eDp5"}
    assert saved["auths"][reg.host] == auth_entry(reg.username, reg.password)
    assert_one_line_error(beecli("login", reg.host, "-u", reg.username), "give a password")


def test_docker_config_auths_and_config_files(beecli, registry_basic_plain, stored, docker_config,
                                              tmp_path: Path) -> None:
    reg = registry_basic_plain
    ref = reg.ref("basic/docker", "v1")
    stored(ref)
    docker_config(auths={f"http://{reg.host}": (reg.username, reg.password)})  # keys may carry a scheme
    assert beecli("--plain-http", "push", ref).returncode == 0
    docker_config(auths={reg.host: (reg.username, "stale")})
    assert_one_line_error(beecli("--plain-http", "push", ref), "rejected the credentials",
                          "docker-config/config.json")
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"auths": {reg.host: {"username": reg.username, "password": reg.password}}}))
    assert beecli("--plain-http", "-c", str(extra), "push", ref).returncode == 0  # -c comes before Docker's


def test_credential_helper_on_path(beecli, registry_basic_plain, stored, docker_config, cred_helper) -> None:
    reg = registry_basic_plain
    ref = reg.ref("basic/helper", "v1")
    stored(ref)
    cred_helper.add(reg.host, reg.username, reg.password)
    docker_config(creds_store=cred_helper.name)
    pushed = beecli("--plain-http", "push", ref)
    assert pushed.returncode == 0, pushed.stderr
    assert {"action": "get", "server": reg.host} in cred_helper.calls()
    # credHelpers (per registry) win over the credsStore
    docker_config(creds_store="missing-helper", cred_helpers={reg.host: cred_helper.name})
    assert beecli("--plain-http", "push", ref).returncode == 0


def test_anonymous_registry_never_runs_helpers(beecli, registry_plain, stored, docker_config, cred_helper) -> None:
    ref = registry_plain.ref("anon/helper", "v1")
    stored(ref)
    docker_config(creds_store=cred_helper.name)
    assert beecli("--plain-http", "push", ref).returncode == 0
    assert cred_helper.calls() == []


def test_token_auth_push_and_pull(beecli, registry_token, stored, store_dir: Path) -> None:
    reg, tokens = registry_token, registry_token.token_server
    ref = reg.ref("private/tiny", "v1")
    digest = stored(ref)
    login = beecli("--plain-http", "login", reg.host, "-u", reg.username, "-p", reg.password)
    assert login.returncode == 0, login.stderr
    assert [(r.account, r.status) for r in tokens.requests] == [(reg.username, 200)]
    tokens.clear()
    pushed = beecli("--plain-http", "push", ref)
    assert pushed.returncode == 0, pushed.stderr
    # one token, asked with the credentials for pull and push, used for every request of the push
    assert [(r.account, r.scopes) for r in tokens.requests] == [
        (reg.username, ["repository:private/tiny:pull,push"])]
    assert beecli("rm", ref).returncode == 0
    tokens.clear()
    pulled = beecli("--plain-http", "pull", ref)
    assert pulled.returncode == 0, pulled.stderr
    assert LocalStore(store_dir).resolve(ref).digest == digest
    assert [(r.account, r.scopes) for r in tokens.requests] == [(reg.username, ["repository:private/tiny:pull"])]


def test_token_auth_anonymous_public_pull_and_private_refusal(beecli, registry_token, program: bytes,
                                                               store_dir: Path, store_snapshot) -> None:
    reg, tokens = registry_token, registry_token.token_server
    digest = push_raw_bumblebee_artifact(reg.url, "public/tiny", "v1", program, auth=reg.auth)
    push_raw_bumblebee_artifact(reg.url, "secret/tiny", "v1", program, auth=reg.auth)
    tokens.clear()
    pulled = beecli("--plain-http", "pull", reg.ref("public/tiny", "v1"))
    assert pulled.returncode == 0, pulled.stderr
    assert LocalStore(store_dir).resolve(reg.ref("public/tiny", "v1")).digest == digest
    assert [r.account for r in tokens.requests] == [None]
    before = store_snapshot()
    refused = beecli("--plain-http", "pull", reg.ref("secret/tiny", "v1"))
    assert_one_line_error(refused, "not found, or not authorized", f"bee login {reg.host}")
    missing = beecli("--plain-http", "-u", reg.username, "-p", reg.password, "pull", reg.ref("public/none", "v1"))
    assert_one_line_error(missing, "public/none:v1 was not found on")
    assert store_snapshot() == before


def test_token_auth_wrong_password(beecli, registry_token, config_dir: Path) -> None:
    reg = registry_token
    proc = beecli("--plain-http", "login", reg.host, "-u", reg.username, "-p", "wrong")
    assert_one_line_error(proc, f"rejected the credentials of {reg.username}")
    assert not (config_dir / "config.json").exists()
    pull = beecli("--plain-http", "-u", reg.username, "-p", "wrong", "pull", reg.ref("public/tiny", "v1"))
    assert_one_line_error(pull, "rejected the credentials", "from the -u/-p flags")


def test_tls_basic_auth_with_insecure(beecli, registry_basic, stored, config_dir: Path) -> None:
    reg = registry_basic
    ref = reg.ref("tls/basic", "v1")
    stored(ref)
    assert_one_line_error(beecli("login", reg.host, "-u", reg.username, "-p", reg.password), "--insecure")
    login = beecli("--insecure", "login", reg.host, "-u", reg.username, "--password-stdin", input=reg.password)
    assert login.returncode == 0, login.stderr
    saved = _saved(config_dir)["auths"][reg.host]["auth"]
    assert base64.b64decode(saved).decode() == f"{reg.username}:{reg.password}"
    assert beecli("--insecure", "push", ref).returncode == 0
