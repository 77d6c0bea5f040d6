"""The registry fixtures really work: checked with plain HTTP clients, independent of `bee`."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from bee.oci import manifest, mediatypes
from tests.registry.client import RawClient, parse_challenge, push_raw_bumblebee_artifact
from tests.registry.credentials import CredentialHelper
from tests.registry.proxy import TamperingProxy
from tests.registry.servers import PASSWORD, USERNAME, Registry, start_registry

ELF = b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 8


def jwt_part(token: str, index: int) -> dict[str, object]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def assert_artifact(client: RawClient, repo: str, tag: str, digest: str, elf: bytes = ELF) -> None:
    """The manifest and both blobs read back are exactly what Bumblebee pushes."""
    response = client.get_manifest(repo, tag)
    assert response.status_code == 200, response.text
    assert response.content == manifest.program_manifest(elf)
    assert response.headers["Content-Type"] == mediatypes.MANIFEST
    assert response.headers["Docker-Content-Digest"] == digest == manifest.sha256_digest(response.content)
    body = json.loads(response.content)
    assert "mediaType" not in body
    assert body["config"]["mediaType"] == mediatypes.CONFIG
    assert body["config"]["annotations"] == {mediatypes.TITLE: "config.json"}
    assert body["layers"][0]["mediaType"] == mediatypes.PROGRAM
    assert body["layers"][0]["annotations"] == {mediatypes.TITLE: "program.o"}
    assert client.get(f"/v2/{repo}/blobs/{body['config']['digest']}").content == b"{}"
    assert client.get(f"/v2/{repo}/blobs/{body['layers'][0]['digest']}").content == elf


def test_plain_registry_answers_anonymously(registry_plain: Registry) -> None:
    response = requests.get(registry_plain.url + "/v2/", timeout=5)
    assert response.status_code == 200
    assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert registry_plain.url.startswith("http://127.0.0.1:") and registry_plain.auth is None


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_registry_needs_its_certificate_or_insecure_mode(registry_tls: Registry) -> None:
    assert registry_tls.url.startswith("https://127.0.0.1:") and registry_tls.ca_cert is not None
    assert requests.get(registry_tls.url + "/v2/", verify=str(registry_tls.ca_cert), timeout=5).status_code == 200
    localhost = registry_tls.url.replace("127.0.0.1", "localhost")
    assert requests.get(localhost + "/v2/", verify=str(registry_tls.ca_cert), timeout=5).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(registry_tls.url + "/v2/", timeout=5)
    assert requests.get(registry_tls.url + "/v2/", verify=False, timeout=5).status_code == 200
    plain = requests.get(registry_tls.url.replace("https://", "http://") + "/v2/", timeout=5)
    assert plain.status_code == 400  # Go's answer to plain HTTP on a TLS port


@pytest.mark.registry  # through request.getfixturevalue
@pytest.mark.parametrize("fixture", ["registry_basic", "registry_basic_plain"])
def test_basic_auth_accepts_only_the_right_password(fixture: str, request: pytest.FixtureRequest) -> None:
    registry: Registry = request.getfixturevalue(fixture)
    assert registry.auth == (USERNAME, PASSWORD) == ("bee", "s3cret")
    anonymous = requests.get(registry.url + "/v2/", verify=registry.verify, timeout=5)
    assert anonymous.status_code == 401
    assert parse_challenge(anonymous.headers["WWW-Authenticate"]) == ("basic", {"realm": "bee-test-registry"})
    right = requests.get(registry.url + "/v2/", auth=registry.auth, verify=registry.verify, timeout=5)
    assert right.status_code == 200
    wrong = requests.get(registry.url + "/v2/", auth=(USERNAME, "wrong"), verify=registry.verify, timeout=5)
    assert wrong.status_code == 401


def test_token_flow_like_ghcr(registry_token: Registry) -> None:
    server = registry_token.token_server
    assert server is not None and registry_token.auth == ("bee", "s3cret")
    challenge = requests.get(registry_token.url + "/v2/private/probe/manifests/v1", timeout=5)
    assert challenge.status_code == 401
    scheme, params = parse_challenge(challenge.headers["WWW-Authenticate"])
    assert scheme == "bearer"
    assert params == {"realm": server.realm, "service": server.service, "scope": "repository:private/probe:pull"}

    answer = requests.get(server.realm, params={"service": params["service"],
                                                "scope": "repository:private/probe:pull,push"},
                          auth=registry_token.auth, timeout=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token"] == body["access_token"] and body["expires_in"] == 300
    header, claims = jwt_part(body["token"], 0), jwt_part(body["token"], 1)
    assert header["alg"] == "ES256" and "x5c" in header
    assert claims["iss"] == server.issuer and claims["aud"] == server.service and claims["sub"] == "bee"
    assert {"exp", "nbf", "iat", "jti"} <= set(claims)
    assert claims["access"] == [{"type": "repository", "name": "private/probe", "actions": ["pull", "push"]}]
    bearer = {"Authorization": "Bearer " + body["token"]}
    assert requests.get(registry_token.url + "/v2/", headers=bearer, timeout=5).status_code == 200
    missing = requests.get(registry_token.url + "/v2/private/probe/manifests/v1", headers=bearer, timeout=5)
    assert missing.status_code == 404  # authorized, and simply not there

    wrong = requests.get(server.realm, params={"service": server.service, "scope": "repository:x:pull"},
                         auth=("bee", "wrong"), timeout=5)
    assert wrong.status_code == 401
    assert [(r.account, r.status) for r in server.requests] == [("bee", 200), ("bee", 401)]


def test_token_push_needs_credentials_and_public_pull_is_anonymous(registry_token: Registry) -> None:
    server = registry_token.token_server
    assert server is not None
    digest = push_raw_bumblebee_artifact(registry_token.url, "public/probe", "v1", ELF, auth=registry_token.auth)
    assert server.count >= 1 and all(r.account == "bee" and r.status == 200 for r in server.requests)
    # the registry names the actions of a challenge in random order ("pull,push" or "push,pull")
    asked = {frozenset(s.rsplit(":", 1)[1].split(",")) for r in server.requests for s in r.scopes}
    assert frozenset({"pull", "push"}) in asked

    server.clear()
    assert_artifact(RawClient(registry_token.url), "public/probe", "v1", digest)  # anonymous pull
    assert server.count >= 1 and all(r.account is None for r in server.requests)

    with pytest.raises(RuntimeError, match="401"):
        push_raw_bumblebee_artifact(registry_token.url, "public/other", "v1", ELF)  # anonymous push
    push_raw_bumblebee_artifact(registry_token.url, "private/probe", "v1", ELF, auth=registry_token.auth)
    denied = RawClient(registry_token.url).get_manifest("private/probe", "v1")
    assert denied.status_code == 401 and 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]
    assert RawClient(registry_token.url, registry_token.auth).get_manifest("private/probe", "v1").ok


def test_token_key_named_by_libtrust_kid(registry_factory: Callable[..., Registry]) -> None:
    registry = registry_factory(token=True, key_header="kid")
    digest = push_raw_bumblebee_artifact(registry.url, "kid/probe", "v1", ELF, auth=registry.auth)
    assert_artifact(RawClient(registry.url, registry.auth), "kid/probe", "v1", digest)
    assert registry.token_server is not None and registry.token_server.key_header == "kid"


@pytest.mark.registry  # through request.getfixturevalue
@pytest.mark.parametrize("fixture", ["registry_plain", "registry_tls", "registry_basic"])
def test_raw_bumblebee_artifact_reads_back_exactly(fixture: str, request: pytest.FixtureRequest) -> None:
    registry: Registry = request.getfixturevalue(fixture)
    digest = push_raw_bumblebee_artifact(registry.url, "raw/probe", "v1", ELF, registry.auth, registry.verify)
    assert digest == manifest.sha256_digest(manifest.program_manifest(ELF))
    assert_artifact(RawClient(registry.url, registry.auth, registry.verify), "raw/probe", "v1", digest)
    # the same push again is idempotent (blobs found by HEAD, same manifest digest)
    assert push_raw_bumblebee_artifact(registry.url, "raw/probe", "v1", ELF, registry.auth, registry.verify) == digest


def test_tampering_proxy_corrupts_blobs_only(registry_plain: Registry,
                                            tampering_proxy: Callable[..., TamperingProxy]) -> None:
    proxy = tampering_proxy(registry_plain.url)
    digest = push_raw_bumblebee_artifact(proxy.url, "tamper/probe", "v1", ELF)  # uploads pass through untouched
    assert_artifact(RawClient(registry_plain.url), "tamper/probe", "v1", digest)
    via = RawClient(proxy.url)
    body = via.get_manifest("tamper/probe", "v1").content
    assert body == manifest.program_manifest(ELF)
    elf_digest = manifest.sha256_digest(ELF)
    corrupted = via.get(f"/v2/tamper/probe/blobs/{elf_digest}").content
    assert len(corrupted) == len(ELF) and corrupted != ELF
    assert sum(a != b for a, b in zip(corrupted, ELF, strict=True)) == 1
    assert proxy.tampered == [f"/v2/tamper/probe/blobs/{elf_digest}"]
    assert "PUT /v2/tamper/probe/manifests/v1" in proxy.forwarded


def test_tampering_proxy_can_target_one_digest(registry_plain: Registry,
                                               tampering_proxy: Callable[..., TamperingProxy]) -> None:
    push_raw_bumblebee_artifact(registry_plain.url, "tamper/one", "v1", ELF)
    elf_digest = manifest.sha256_digest(ELF)
    proxy = tampering_proxy(registry_plain.url, digest=elf_digest)
    via = RawClient(proxy.url)
    assert via.get(f"/v2/tamper/one/blobs/{manifest.sha256_digest(b'{}')}").content == b"{}"
    assert via.get(f"/v2/tamper/one/blobs/{elf_digest}").content != ELF
    head = via.request("HEAD", f"/v2/tamper/one/blobs/{elf_digest}")
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(ELF))


def test_registry_down_refuses_connections(registry_down: str) -> None:
    assert registry_down.startswith("http://127.0.0.1:")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(registry_down + "/v2/", timeout=5)


@pytest.mark.registry
def test_registry_stops_at_teardown(tmp_path: Path) -> None:
    registry = start_registry(tmp_path / "registry")
    assert requests.get(registry.url + "/v2/", timeout=5).status_code == 200
    registry.stop()
    assert registry.process.returncode is not None
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(registry.url + "/v2/", timeout=5)


def test_docker_config_is_written_where_docker_config_points(docker_config: Callable[..., Path]) -> None:
    path = docker_config(auths={"127.0.0.1:5000": ("bee", "s3cret")}, creds_store="beetest",
                         cred_helpers={"ghcr.io": "beetest"})
    assert path.parent == Path(os.environ["DOCKER_CONFIG"])
    config = json.loads(path.read_text())
    assert base64.b64decode(config["auths"]["127.0.0.1:5000"]["auth"]) == b"bee:s3cret"
    assert config["credsStore"] == "beetest" and config["credHelpers"] == {"ghcr.io": "beetest"}


def test_credential_helper_speaks_the_protocol(cred_helper: CredentialHelper) -> None:
    program = shutil.which("docker-credential-beetest")
    assert program == str(cred_helper.path)
    cred_helper.add("127.0.0.1:5000", "bee", "s3cret")

    def call(action: str, data: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([program, action], input=data, capture_output=True, text=True, timeout=10)

    got = call("get", "127.0.0.1:5000\n")
    assert got.returncode == 0
    assert json.loads(got.stdout) == {"ServerURL": "127.0.0.1:5000", "Username": "bee", "Secret": "s3cret"}
    missing = call("get", "other:5000")
    assert missing.returncode == 1 and "credentials not found" in missing.stdout
    stored = json.dumps({"ServerURL": "ghcr.io", "Username": "u", "Secret": "p"})
    assert call("store", stored).returncode == 0
    assert json.loads(call("list").stdout) == {"127.0.0.1:5000": "bee", "ghcr.io": "u"}
    assert call("erase", "ghcr.io").returncode == 0
    assert cred_helper.stored() == {"127.0.0.1:5000": ("bee", "s3cret")}
    assert [(c["action"], c["server"]) for c in cred_helper.calls()] == [
        ("get", "127.0.0.1:5000"), ("get", "other:5000"), ("store", "ghcr.io"), ("list", None), ("erase", "ghcr.io")]
