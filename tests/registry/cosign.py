"""cosign's key-based signatures, written in the tests from cosign's specification (SIGNATURE_SPEC.md:
simple signing payload, ECDSA P-256 / SHA-256 DER signature in base64, the `sha256-<hex>.sig` tag or an
OCI 1.1 referrer) with `cryptography` and raw HTTP, sharing no code with bee: signatures made here stand
for `cosign sign --key`, and `check_tag_signatures` is the independent checker of what bee writes.
`cosign_key_file` writes a private key as `cosign generate-key-pair` does (scrypt + NaCl secretbox)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

import nacl.secret
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from tests.registry.client import RawClient

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE = "dev.cosignproject.cosign/signature"
SIG_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def payload(identity: str, digest: str, optional: dict[str, Any] | None = None) -> bytes:
    """The simple signing payload cosign writes (its Go struct's field order, compact)."""
    return json.dumps({"critical": {"identity": {"docker-reference": identity},
                                    "image": {"docker-manifest-digest": digest},
                                    "type": "cosign container image signature"},
                       "optional": optional}, separators=(",", ":")).encode()


def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> str:
    return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def layer(data: bytes, signature: str, media_type: str = SIMPLE_SIGNING) -> dict[str, Any]:
    return {"mediaType": media_type, "size": len(data), "digest": digest_of(data),
            "annotations": {SIGNATURE: signature}}


def push_tag_signatures(client: RawClient, repo: str, digest: str, signed: list[tuple[dict[str, Any], bytes]]) -> str:
    """Upload payloads and a config, then the manifest tagged `sha256-<hex>.sig` holding `signed` layers."""
    for _, data in signed:
        client.upload_blob(repo, data)
    config = json.dumps({"architecture": "", "os": "", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d, _ in signed]}}).encode()
    client.upload_blob(repo, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "size": len(config), "digest": digest_of(config)},
                           "layers": [d for d, _ in signed]}).encode()
    return client.put_manifest(repo, digest.replace(":", "-") + ".sig", manifest, OCI_MANIFEST)


def push_referrer(client: RawClient, repo: str, subject: tuple[str, int], data: bytes,
                  signature: str) -> tuple[str, bytes]:
    """A signature as an OCI 1.1 referrer of `subject` (digest, size): the empty config, one layer, PUT by
    digest. Returns the manifest's digest and bytes."""
    client.upload_blob(repo, data)
    client.upload_blob(repo, b"{}")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SIG_ARTIFACT,
                           "config": {"mediaType": EMPTY, "size": 2, "digest": digest_of(b"{}")},
                           "layers": [layer(data, signature)],
                           "subject": {"mediaType": OCI_MANIFEST, "digest": subject[0], "size": subject[1]}}).encode()
    return client.put_manifest(repo, digest_of(manifest), manifest, OCI_MANIFEST), manifest


def check_tag_signatures(client: RawClient, repo: str, digest: str,
                         key: ec.EllipticCurvePublicKey) -> list[dict[str, Any]]:
    """The payloads (decoded) of the `.sig` tag's layers whose signature `key` verifies over their exact
    bytes and whose payload names `digest`; an exception for anything malformed."""
    response = client.get_manifest(repo, digest.replace(":", "-") + ".sig", OCI_MANIFEST)
    response.raise_for_status()
    manifest = response.json()
    assert manifest["mediaType"] == OCI_MANIFEST
    verified = []
    for desc in manifest["layers"]:
        assert desc["mediaType"] == SIMPLE_SIGNING
        body = client.get(f"/v2/{repo}/blobs/{desc['digest']}").content
        assert digest_of(body) == desc["digest"] and len(body) == desc["size"]
        try:
            key.verify(base64.b64decode(desc["annotations"][SIGNATURE], validate=True), body, ec.ECDSA(hashes.SHA256()))
        except Exception:  # another key's layer
            continue
        claims = json.loads(body)
        assert claims["critical"]["type"] == "cosign container image signature"
        assert claims["critical"]["image"]["docker-manifest-digest"] == digest
        verified.append(claims)
    return verified


def cosign_key_file(key: ec.EllipticCurvePrivateKey, password: bytes, *, n: int = 65536) -> bytes:
    """`key` as cosign's encrypted private key file: PKCS #8 DER sealed by NaCl secretbox under an scrypt key."""
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    salt, nonce = os.urandom(32), os.urandom(24)
    box_key = Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(password)
    sealed = nacl.secret.SecretBox(box_key).encrypt(der, nonce).ciphertext
    document = {"kdf": {"name": "scrypt", "params": {"N": n, "r": 8, "p": 1},
                        "salt": base64.b64encode(salt).decode()},
                "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
                "ciphertext": base64.b64encode(sealed).decode()}
    body = base64.encodebytes(json.dumps(document).encode()).decode()
    kind = "ENCRYPTED SIGSTORE PRIVATE KEY"
    return f"-----BEGIN {kind}-----\n{body}-----END {kind}-----\n".encode()
