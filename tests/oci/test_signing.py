"""Signing and verifying through the real CLI, against a real registry, with real crypto.

Signatures made by tests/registry/cosign.py (cosign's layout written from its specification, uploaded
by raw HTTP) verify in bee; signatures made by bee verify with that independent checker. Every
refusal is one sentence, and a refused pull leaves the store exactly as it was. Debian's registry
has no OCI 1.1 referrers API: tests/registry/referrers.py adds it in front of it.
"""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.helpers import assert_one_line_error
from tests.registry import cosign
from tests.registry.client import RawClient
from tests.registry.referrers import ReferrersProxy

PLAIN = "--plain-http"


@pytest.fixture
def keys(tmp_path: Path) -> Callable[[str], tuple[object, Path]]:
    """`keys(name)`: a new P-256 key and the path of its PEM public key `name.pub`."""

    def make(name: str) -> tuple[object, Path]:
        key = cosign.new_key()
        path = tmp_path / f"{name}.pub"
        path.write_bytes(cosign.public_pem(key))
        return key, path

    return make


def _pushed(beecli, registry, stored, repo: str) -> tuple[str, str, RawClient]:
    ref = registry.ref(repo, "v1")
    digest = stored(ref)
    assert beecli(PLAIN, "push", ref).returncode == 0
    assert beecli("rm", ref).returncode == 0
    return ref, digest, RawClient(registry.url)


def _cosign_signed(client: RawClient, registry, repo: str, digest: str, key, **claims) -> None:
    data = cosign.payload(f"{registry.host}/{repo}", digest, claims.get("optional"))
    cosign.push_tag_signatures(client, repo, digest, [(cosign.layer(data, cosign.sign(key, data)), data)])


def test_a_cosign_signature_verifies_and_the_pull_keeps_it(beecli, registry_plain, stored, keys,
                                                           store_dir: Path) -> None:
    ref, digest, client = _pushed(beecli, registry_plain, stored, "sig/cosign")
    key, pub = keys("ci")
    _cosign_signed(client, registry_plain, "sig/cosign", digest, key, optional={"build": "42"})

    _, other = keys("other")
    verified = beecli(PLAIN, "verify", ref, "--key", str(other), "--key", str(pub))  # any one of the keys
    assert verified.returncode == 0, verified.stderr
    assert f"({pub})" in verified.stdout
    assert digest in verified.stdout and "SHA256:" in verified.stdout
    assert f"repository: {registry_plain.host}/sig/cosign" in verified.stdout

    pulled = beecli(PLAIN, "pull", ref, "--verify-key", str(pub))
    assert pulled.returncode == 0, pulled.stderr
    # the signature came with it: verified again from the store, offline
    local = beecli("verify", ref, "--local", "--key", str(pub))
    assert local.returncode == 0, local.stderr
    assert "sha256-" in local.stdout and ".sig" in local.stdout
    assert beecli("list").stdout.count(".sig") == 0  # signatures are not listed as programs
    removed = beecli("rm", ref)  # the last name of that digest: its signatures go too
    assert removed.returncode == 0 and "Removed its signatures" in removed.stderr, removed.stderr
    assert not any(p.is_file() for p in (store_dir / "blobs" / "sha256").iterdir()), "blobs left behind"


def test_bee_signatures_verify_with_the_independent_checker(beecli, registry_plain, stored, tmp_path: Path,
                                                            monkeypatch) -> None:
    ref, digest, client = _pushed(beecli, registry_plain, stored, "sig/bee")
    monkeypatch.setenv("BEE_PASSWORD", "s3cret")
    for prefix in ("first", "second"):
        made = beecli("generate-key-pair", "--output-key-prefix", str(tmp_path / prefix))
        assert made.returncode == 0, made.stderr
        signed = beecli(PLAIN, "sign", ref, "--key", str(tmp_path / f"{prefix}.key"), "-a", f"who={prefix}")
        assert signed.returncode == 0, signed.stderr
        assert digest in signed.stdout
    for prefix in ("first", "second"):  # the second signature was added next to the first
        public = serialization.load_pem_public_key((tmp_path / f"{prefix}.pub").read_bytes())
        claims = cosign.check_tag_signatures(client, "sig/bee", digest, public)
        assert [c["optional"] for c in claims] == [{"who": prefix}]
        assert claims[0]["critical"]["identity"]["docker-reference"] == f"{registry_plain.host}/sig/bee"


def test_signed_in_the_store_then_pushed_verifies_in_the_registry(beecli, registry_plain, stored, tmp_path: Path,
                                                                   monkeypatch) -> None:
    ref = registry_plain.ref("sig/offline", "v1")
    digest = stored(ref)
    monkeypatch.setenv("COSIGN_PASSWORD", "pw")
    assert "\nSignatures:   none in the local store\n" in beecli("describe", ref).stdout
    assert beecli("generate-key-pair", "--output-key-prefix", str(tmp_path / "k")).returncode == 0
    signed = beecli("sign", ref, "--local", "--key", str(tmp_path / "k.key"))
    assert signed.returncode == 0, signed.stderr
    described = beecli("describe", ref).stdout
    assert f"\nSignatures:   1 in the local store (bee verify {ref} --local --key KEY checks them)\n" in described
    assert json.loads(beecli("describe", ref, "--json").stdout)["signatures"] == 1
    completed = beecli(env={"_BEE_COMPLETE": "bash_complete", "COMP_WORDS": "bee run ", "COMP_CWORD": "2"})
    assert completed.stdout.splitlines() == [f"plain,{ref}"]  # the program, not its signatures' entry
    pushed = beecli(PLAIN, "push", ref)
    assert pushed.returncode == 0, pushed.stderr
    assert "Pushed its signatures" in pushed.stderr
    public = serialization.load_pem_public_key((tmp_path / "k.pub").read_bytes())
    assert len(cosign.check_tag_signatures(RawClient(registry_plain.url), "sig/offline", digest, public)) == 1
    assert beecli(PLAIN, "verify", ref, "--key", str(tmp_path / "k.pub")).returncode == 0


def test_a_cosign_key_file_signs(beecli, registry_plain, stored, tmp_path: Path, monkeypatch) -> None:
    ref, digest, client = _pushed(beecli, registry_plain, stored, "sig/cosignkey")
    key = cosign.new_key()
    (tmp_path / "cosign.key").write_bytes(cosign.cosign_key_file(key, b"hunter2"))
    monkeypatch.setenv("COSIGN_PASSWORD", "wrong")
    assert_one_line_error(beecli(PLAIN, "sign", ref, "--key", str(tmp_path / "cosign.key")),
                          "the password does not decrypt")
    monkeypatch.setenv("COSIGN_PASSWORD", "hunter2")
    assert beecli(PLAIN, "sign", ref, "--key", str(tmp_path / "cosign.key")).returncode == 0
    assert len(cosign.check_tag_signatures(client, "sig/cosignkey", digest, key.public_key())) == 1


def test_generated_keys_are_a_protected_encrypted_pair(beecli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BEE_PASSWORD", "pw")
    assert beecli("generate-key-pair", "--output-key-prefix", str(tmp_path / "k")).returncode == 0
    private = tmp_path / "k.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    key = serialization.load_pem_private_key(private.read_bytes(), b"pw")  # openssl's PKCS #8, as written
    assert key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo) \
        == (tmp_path / "k.pub").read_bytes()
    assert_one_line_error(beecli("generate-key-pair", "--output-key-prefix", str(tmp_path / "k")), "already exists")


def test_referrers_are_read_where_the_registry_has_the_api(beecli, registry_plain, stored, keys) -> None:
    proxy = ReferrersProxy(registry_plain.url).start()
    try:
        repo = "sig/referrers"
        ref = f"{proxy.host}/{repo}:v1"
        digest = stored(ref)
        assert beecli(PLAIN, "push", ref).returncode == 0
        assert beecli("rm", ref).returncode == 0
        key, pub = keys("ref")
        client = RawClient(proxy.url)
        manifest = client.get_manifest(repo, "v1").content
        data = cosign.payload(f"{proxy.host}/{repo}", digest)
        cosign.push_referrer(client, repo, (digest, len(manifest)), data, cosign.sign(key, data))
        verified = beecli(PLAIN, "verify", ref, "--key", str(pub))
        assert verified.returncode == 0, verified.stderr
        assert "(a referrer)" in verified.stdout
        assert proxy.asked == [f"/v2/{repo}/referrers/{digest}"]
        assert beecli(PLAIN, "pull", ref, "--verify-key", str(pub)).returncode == 0
    finally:
        proxy.close()


def test_referrers_fall_back_to_the_tag_the_distribution_spec_names(beecli, registry_plain, stored, keys) -> None:
    ref, digest, client = _pushed(beecli, registry_plain, stored, "sig/fallback")
    key, pub = keys("fallback")
    manifest = client.get_manifest("sig/fallback", "v1").content
    data = cosign.payload(f"{registry_plain.host}/sig/fallback", digest)
    referrer, body = cosign.push_referrer(client, "sig/fallback", (digest, len(manifest)), data, cosign.sign(key, data))
    index = json.dumps({"schemaVersion": 2, "mediaType": cosign.OCI_INDEX, "manifests": [
        {"mediaType": cosign.OCI_MANIFEST, "digest": referrer, "size": len(body),
         "artifactType": cosign.SIG_ARTIFACT}]}).encode()
    client.put_manifest("sig/fallback", digest.replace(":", "-"), index, cosign.OCI_INDEX)
    verified = beecli(PLAIN, "verify", ref, "--key", str(pub))
    assert verified.returncode == 0, verified.stderr


def _refused_pull(beecli, ref: str, store_snapshot, *args: str, fragments: tuple[str, ...]) -> None:
    before = store_snapshot()
    assert_one_line_error(beecli(PLAIN, "pull", ref, *args), *fragments)
    assert store_snapshot() == before


# Each case: how the registry's signature is made wrong, and what the one sentence must say.
def _wrong_key(key, other, identity, digest):
    data = cosign.payload(identity, digest)
    return [(cosign.layer(data, cosign.sign(other, data)), data)]


def _tampered(key, other, identity, digest):
    data = cosign.payload(identity, digest)
    signature = cosign.sign(key, data)
    changed = data.replace(b'"optional":null', b'"optional":{"x":"y"}')
    return [(cosign.layer(changed, signature), changed)]


def _other_digest(key, other, identity, digest):
    data = cosign.payload(identity, "sha256:" + "ab" * 32)
    return [(cosign.layer(data, cosign.sign(key, data)), data)]


def _other_repository(key, other, identity, digest):
    data = cosign.payload(identity.rsplit("/", 1)[0] + "/debug-build", digest)
    return [(cosign.layer(data, cosign.sign(key, data)), data)]


def _media_type(key, other, identity, digest):
    data = cosign.payload(identity, digest)
    return [(cosign.layer(data, cosign.sign(key, data), media_type="application/json"), data)]


def _truncated(key, other, identity, digest):
    data = cosign.payload(identity, digest)
    return [(cosign.layer(data, cosign.sign(key, data)[:40]), data)]


def _not_base64(key, other, identity, digest):
    data = cosign.payload(identity, digest)
    return [(cosign.layer(data, "not*base64!" + cosign.sign(key, data)), data)]


BAD_SIGNATURES = {
    "wrong key": (_wrong_key, ("no signature verifies with", "signed with another key")),
    "tampered payload": (_tampered, ("no signature verifies with", "payload or signature was changed")),
    "payload for another digest": (_other_digest, ("is for manifest sha256:abab",)),
    "another repository": (_other_repository, ("was made for repository", "debug-build", "--ignore-identity")),
    "wrong media type": (_media_type, ("has media type 'application/json'",)),
    "truncated signature": (_truncated, ("no signature verifies with",)),
    "not base64": (_not_base64, ("is missing or not base64",)),
}


@pytest.mark.parametrize("case", list(BAD_SIGNATURES))
def test_a_bad_signature_is_refused_and_the_store_untouched(case: str, beecli, registry_plain, stored, keys,
                                                            store_snapshot) -> None:
    repo = f"sig/bad-{case.replace(' ', '-')}"
    ref, digest, client = _pushed(beecli, registry_plain, stored, repo)
    key, pub = keys("good")
    other, _ = keys("other")
    make, fragments = BAD_SIGNATURES[case]
    cosign.push_tag_signatures(client, repo, digest, make(key, other, f"{registry_plain.host}/{repo}", digest))
    _refused_pull(beecli, ref, store_snapshot, "--verify-key", str(pub), fragments=("is not verified", *fragments))
    assert_one_line_error(beecli(PLAIN, "verify", ref, "--key", str(pub)), *fragments)
    if case == "another repository":  # cosign's own rule, when asked for
        assert beecli(PLAIN, "pull", ref, "--verify-key", str(pub), "--ignore-identity").returncode == 0


def test_an_unsigned_program_is_refused(beecli, registry_plain, stored, keys, store_snapshot,
                                        config_dir: Path) -> None:
    ref, digest, _ = _pushed(beecli, registry_plain, stored, "sig/unsigned")
    _, pub = keys("k")
    # the registry answers 404 for the .sig tag, and has no referrers API (404 too)
    _refused_pull(beecli, ref, store_snapshot, "--verify-key", str(pub), fragments=("has no signature",))
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "policy.yaml").write_text("require-signature: true\n")
    _refused_pull(beecli, ref, store_snapshot, fragments=("requires a signature for", "names a key"))


def test_a_referrers_api_that_fails_is_said(beecli, registry_plain, stored, keys, store_snapshot) -> None:
    proxy = ReferrersProxy(registry_plain.url, fail=500).start()
    try:
        ref = f"{proxy.host}/sig/broken:v1"
        stored(ref)
        assert beecli(PLAIN, "push", ref).returncode == 0
        assert beecli("rm", ref).returncode == 0
        _, pub = keys("k")
        _refused_pull(beecli, ref, store_snapshot, "--verify-key", str(pub),
                      fragments=("referrers API of", "answered 500"))
    finally:
        proxy.close()


def test_key_files_that_are_not_keys_are_refused(beecli, registry_plain, stored, tmp_path: Path, keys,
                                                 store_snapshot, monkeypatch) -> None:
    ref, _, _ = _pushed(beecli, registry_plain, stored, "sig/keys")
    (tmp_path / "notakey.pub").write_text("hello\n")
    _refused_pull(beecli, ref, store_snapshot, "--verify-key", str(tmp_path / "notakey.pub"),
                  fragments=("is not a PEM public key",))
    _refused_pull(beecli, ref, store_snapshot, "--verify-key", str(tmp_path / "missing.pub"),
                  fragments=("does not exist",))
    monkeypatch.setenv("BEE_PASSWORD", "right")
    assert beecli("generate-key-pair", "--output-key-prefix", str(tmp_path / "k")).returncode == 0
    _refused_pull(beecli, ref, store_snapshot, "--verify-key", str(tmp_path / "k.key"),
                  fragments=("is a private key",))
    monkeypatch.setenv("BEE_PASSWORD", "wrong")
    assert_one_line_error(beecli(PLAIN, "sign", ref, "--key", str(tmp_path / "k.key")), "the password does not decrypt")
    assert_one_line_error(beecli(PLAIN, "sign", ref, "--key", str(tmp_path / "notakey.pub")),
                          "is not a PEM private key")


def test_the_policy_file_names_keys_per_prefix(beecli, registry_plain, stored, keys, tmp_path: Path,
                                               store_snapshot) -> None:
    signed_ref, digest, client = _pushed(beecli, registry_plain, stored, "team/signed")
    other_ref, _, _ = _pushed(beecli, registry_plain, stored, "scratch/unsigned")
    key, pub = keys("team")
    _cosign_signed(client, registry_plain, "team/signed", digest, key)
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"require-signature: true\nrepositories:\n"
                      f"  - prefix: {registry_plain.host}/team\n    keys: [{pub.name}]\n"
                      f"  - prefix: {registry_plain.host}/scratch/\n    require-signature: false\n")
    assert beecli(PLAIN, "pull", signed_ref, "--policy", str(policy)).returncode == 0
    assert beecli(PLAIN, "pull", other_ref, "--policy", str(policy)).returncode == 0  # exempt
    lookalike, _, _ = _pushed(beecli, registry_plain, stored, "teammate/x")  # not under team/
    _refused_pull(beecli, lookalike, store_snapshot, "--policy", str(policy),
                  fragments=("requires a signature for", "no rule"))
    policy.write_text("repositories:\n  - prefix: x\n    keyz: []\n")
    _refused_pull(beecli, signed_ref, store_snapshot, "--policy", str(policy),
                  fragments=("line 3", "unknown key", "did you mean 'keys'"))


def test_a_signature_record_changed_in_the_store_no_longer_verifies(beecli, registry_plain, stored, keys,
                                                                     store_dir: Path) -> None:
    ref, digest, client = _pushed(beecli, registry_plain, stored, "sig/record")
    key, pub = keys("k")
    _cosign_signed(client, registry_plain, "sig/record", digest, key)
    assert beecli(PLAIN, "pull", ref, "--verify-key", str(pub)).returncode == 0
    index = json.loads((store_dir / "index.json").read_text())
    sig = next(d for d in index["manifests"] if d["annotations"]["org.opencontainers.image.ref.name"].endswith(".sig"))
    manifest = json.loads((store_dir / "blobs" / "sha256" / sig["digest"].split(":")[1]).read_text())
    payload_path = store_dir / "blobs" / "sha256" / manifest["layers"][0]["digest"].split(":")[1]
    payload_path.write_bytes(payload_path.read_bytes().replace(b"cosign container", b"cosign_container"))
    assert_one_line_error(beecli("verify", ref, "--local", "--key", str(pub)), "does not match its digest")
    annotations = manifest["layers"][0]["annotations"]
    assert base64.b64decode(annotations["dev.cosignproject.cosign/signature"])  # the record is the signature
