"""`bee.oci.auth`: WWW-Authenticate parsing, scope merging, credential sources in order, saving a login."""

from __future__ import annotations

import base64
import json
import stat
import sys
from pathlib import Path

import pytest

from bee.oci.auth import (
    DOCKER_HUB_KEY,
    Challenge,
    Credentials,
    find_credentials,
    login_key,
    merge_scopes,
    parse_www_authenticate,
    read_config,
    save_login,
    server_host,
)
from bee.oci.errors import CredentialsError


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- WWW-Authenticate -------------------------------------------------------------------------------


def test_ghcr_bearer_challenge() -> None:
    header = 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/probe:pull"'
    assert parse_www_authenticate(header) == [Challenge("bearer", {
        "realm": "https://ghcr.io/token", "service": "ghcr.io", "scope": "repository:org/probe:pull"})]


def test_docker_hub_challenge_with_two_actions_and_an_error() -> None:
    header = ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
              'scope="repository:library/x:pull,push",error="insufficient_scope"')
    (challenge,) = parse_www_authenticate(header)
    assert challenge.params["scope"] == "repository:library/x:pull,push"
    assert challenge.params["error"] == "insufficient_scope"


def test_basic_challenge_and_case() -> None:
    assert parse_www_authenticate('Basic realm="Registry Realm"') == [Challenge("basic", {"realm": "Registry Realm"})]
    assert parse_www_authenticate("BASIC Realm=plain") == [Challenge("basic", {"realm": "plain"})]
    assert parse_www_authenticate("Basic") == [Challenge("basic")]


def test_several_challenges_spaces_escapes_and_token68() -> None:
    header = ('Newauth realm="apps", type=1, title="Login to \\"apps\\", a, b", '
              'Basic realm="simple" , Bearer realm = "https://t/token" ,service="s", Negotiate abc+/==')
    assert parse_www_authenticate(header) == [
        Challenge("newauth", {"realm": "apps", "type": "1", "title": 'Login to "apps", a, b'}),
        Challenge("basic", {"realm": "simple"}),
        Challenge("bearer", {"realm": "https://t/token", "service": "s"}),
        Challenge("negotiate", token68="abc+/=="),
    ]


def test_empty_and_malformed_headers() -> None:
    assert parse_www_authenticate("") == []
    assert parse_www_authenticate(" , ") == []
    with pytest.raises(ValueError, match="not closed"):
        parse_www_authenticate('Bearer realm="https://t')
    with pytest.raises(ValueError):
        parse_www_authenticate('Bearer realm="a" junk')
    with pytest.raises(ValueError):
        parse_www_authenticate('"quoted-scheme"')


def test_merge_scopes() -> None:
    assert merge_scopes(["repository:a/b:pull", "repository:a/b:push", "repository:a/b:pull"]) == [
        "repository:a/b:pull,push"]
    assert merge_scopes(["repository:z:pull", "repository:a:push,pull", "registry:catalog:*"]) == [
        "registry:catalog:*", "repository:a:pull,push", "repository:z:pull"]
    assert merge_scopes([]) == []


# -- server names -----------------------------------------------------------------------------------


def test_server_names() -> None:
    assert server_host("https://GHCR.io/") == "ghcr.io"
    assert server_host("http://localhost:5000/v2/") == "localhost:5000"
    assert server_host("127.0.0.1:5000") == "127.0.0.1:5000"
    assert login_key("docker.io") == DOCKER_HUB_KEY
    assert login_key("https://ghcr.io") == "ghcr.io"


# -- credential sources -----------------------------------------------------------------------------


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    return {"bee": tmp_path / "bee", "docker": tmp_path / "docker", "extra": tmp_path / "extra.json"}


def _write(path: Path, config: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))


def _find(places: dict[str, Path], host: str = "reg.example:5000", **flags: str | None):
    return find_credentials(host, username=flags.get("username"), password=flags.get("password"),
                            config_dir=places["bee"], auth_configs=[places["extra"]],
                            env={"DOCKER_CONFIG": str(places["docker"])})


def test_credential_order(places: dict[str, Path]) -> None:
    host = "reg.example:5000"
    assert _find(places).credentials is None
    _write(places["docker"] / "config.json", {"auths": {host: {"auth": _b64("docker:d")}}})
    assert _find(places).credentials == Credentials("docker", "d", str(places["docker"] / "config.json"))
    _write(places["extra"], {"auths": {host: {"username": "extra", "password": "e"}}})
    assert _find(places).credentials.username == "extra"
    _write(places["bee"] / "config.json", {"auths": {f"https://{host}": {"auth": _b64("bee:b:with:colons")}}})
    found = _find(places).credentials
    assert (found.username, found.password) == ("bee", "b:with:colons")
    flags = _find(places, username="flag", password="f").credentials
    assert flags == Credentials("flag", "f", "the -u/-p flags")
    # one flag alone is not a credential
    assert _find(places, username="flag").credentials.username == "bee"


def test_other_registries_entries_are_not_used(places: dict[str, Path]) -> None:
    _write(places["docker"] / "config.json", {"auths": {"reg.example:5001": {"auth": _b64("a:b")},
                                                         "reg.example": {"auth": _b64("a:b")}}})
    assert _find(places).credentials is None


def test_docker_hub_key(places: dict[str, Path]) -> None:
    _write(places["docker"] / "config.json", {"auths": {DOCKER_HUB_KEY: {"auth": _b64("hub:h")}}})
    assert _find(places, host="docker.io").credentials.username == "hub"
    assert _find(places, host="registry-1.docker.io").credentials.username == "hub"


def _helper(directory: Path, name: str, script: str) -> Path:
    path = directory / f"docker-credential-{name}"
    path.write_text(f"#!{sys.executable}\nimport json, sys\nserver = sys.stdin.read()\n{script}\n")
    path.chmod(0o755)
    return path


def test_helpers_cred_helpers_before_auths_before_creds_store(places: dict[str, Path], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    _helper(bin_dir, "per", 'print(json.dumps({"ServerURL": server, "Username": "per", "Secret": server}))')
    _helper(bin_dir, "store", 'print(json.dumps({"ServerURL": server, "Username": "store", "Secret": "s"}))')
    _helper(bin_dir, "empty", 'print("credentials not found in native keychain"); sys.exit(1)')
    host = "reg.example:5000"
    config = places["docker"] / "config.json"
    _write(config, {"credsStore": "store", "auths": {}})
    assert _find(places).credentials == Credentials("store", "s", "docker-credential-store")
    _write(config, {"credsStore": "store", "auths": {host: {"auth": _b64("inline:i")}}})
    assert _find(places).credentials.username == "inline"
    _write(config, {"credsStore": "store", "credHelpers": {host: "per"}, "auths": {host: {"auth": _b64("i:i")}}})
    found = _find(places).credentials
    assert (found.username, found.password) == ("per", host)  # the helper got the server name on stdin
    _write(config, {"credsStore": "empty"})
    assert _find(places).credentials is None


def test_broken_sources_are_skipped_with_a_note(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    _write(places["bee"] / "config.json", {"credsStore": "absent"})
    places["extra"].write_text("{not json")
    _write(places["docker"] / "config.json", {"auths": {"reg.example:5000": {"auth": _b64("d:d")}}})
    lookup = _find(places)
    assert lookup.credentials.username == "d"
    assert any("docker-credential-absent is not on PATH" in note for note in lookup.notes)
    assert any("is not valid JSON" in note for note in lookup.notes)



@pytest.mark.parametrize("auth", ["not base64!", "c\ua404", _b64("no colon"), base64.b64encode(b"\xff:x").decode()])
def test_an_auth_entry_that_is_not_base64_of_user_password_is_skipped_with_a_note(
        places: dict[str, Path], auth: str) -> None:
    _write(places["bee"] / "config.json", {"auths": {"reg.example:5000": {"auth": auth}}})
    _write(places["docker"] / "config.json", {"auths": {"reg.example:5000": {"auth": _b64("d:d")}}})
    lookup = _find(places)
    assert lookup.credentials.username == "d"
    assert any("is not base64 of user:password" in note for note in lookup.notes)

# -- saving -----------------------------------------------------------------------------------------


def test_save_login_writes_docker_format_0600_and_keeps_other_entries(tmp_path: Path) -> None:
    config_dir = tmp_path / "cfg"
    path = save_login(config_dir, "https://reg.example:5000/", "me", "pw")
    assert path == config_dir / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"auths": {"reg.example:5000": {"auth": _b64("me:pw")}}}
    save_login(config_dir, "ghcr.io", "other", "tok")
    saved = json.loads(path.read_text())
    assert set(saved["auths"]) == {"reg.example:5000", "ghcr.io"}
    assert [p.name for p in config_dir.iterdir()] == ["config.json"]  # no temporary file left


def test_save_login_refuses_to_overwrite_a_corrupt_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{oops")
    with pytest.raises(CredentialsError, match="not valid JSON"):
        save_login(tmp_path, "ghcr.io", "me", "pw")
    assert (tmp_path / "config.json").read_text() == "{oops"


def test_a_credentials_file_over_the_limit_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bee.oci.auth.MAX_CONFIG_SIZE", 1 << 20)  # the real limit is 16 MiB
    path = tmp_path / "config.json"
    with open(path, "wb") as file:
        file.truncate((1 << 20) + 1)
    with pytest.raises(CredentialsError, match=r"config.json is 1048577 bytes, more than bee's limit of 1 MiB for "
                                               r"one: fix or remove it"):
        read_config(path)
