"""The check itself: does one of the signatures found for a manifest verify with one of the keys, for
that manifest's digest and (unless told not to) for the repository it is read from?

Order, for each signature: its layer's media type, its base64, the cryptographic check of the
payload's bytes with each key, and only then what the payload says (its type, the digest, the
identity): a payload is never trusted before a key has verified it. The identity (cosign's
`docker-reference`) is checked because without it a signature made for one repository would
pass for another signed with the same key, say a debug build taken for the production one; cosign
itself ignores it, so `check_identity=False` (`--ignore-identity`, policy `check-identity: false`)
does the same, for copies between registries.
"""

from __future__ import annotations

import base64
import binascii

from bee.oci.errors import SignatureError
from bee.oci.sign.envelope import Signature
from bee.oci.sign.keys import PublicKey
from bee.oci.sign.payload import SIMPLE_SIGNING, parse_payload
from bee.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any

#: Docker Hub's spellings of its own host, all one registry.
DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


class Verified(Record):
    """A signature that verified: the manifest `digest`, the key that signed it, the repository the
    payload names (`identity`), where the signature came from and its layer descriptor."""

    digest: str
    fingerprint: str
    key_path: str
    identity: str
    source: str
    descriptor: dict[str, Any]
    payload: bytes


def same_repository(a: str, b: str) -> bool:
    """Whether two `host/path` names are one repository (Docker Hub's spellings and `library/` alike)."""
    return _normal(a) == _normal(b)


def _normal(name: str) -> str:
    host, _, path = name.partition("/")
    if host.lower() in DOCKER_HUB:
        return "docker.io/" + (path if "/" in path else f"library/{path}")
    if not path:  # a name with no host part: Docker Hub's default
        return f"docker.io/library/{name}"
    return f"{host.lower()}/{path}"


def _decoded(text: str | None) -> bytes | None:
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def verify(signatures: list[Signature], keys: tuple[PublicKey, ...], *, digest: str, identity: str,
           subject: str, check_identity: bool = True) -> Verified:
    """The first signature of `signatures` that verifies (module docstring). SignatureError naming
    `subject` (what was asked for, e.g. the reference) with the reason that comes closest to a valid
    signature when none does."""
    if not signatures:
        raise SignatureError(f"{subject} ({digest}) has no signature")
    reasons: list[tuple[int, str]] = []  # (how close to valid, why not)
    names = ", ".join(f"{key.fingerprint} ({key.path})" for key in keys)
    for found in signatures:
        where = f"the signature in {found.source}"
        if found.problem:
            reasons.append((1, f"{where} cannot be read: {found.problem}"))
            continue
        if found.media_type != SIMPLE_SIGNING:
            reasons.append((1, f"{where} has media type {found.media_type!r}, not {SIMPLE_SIGNING}"))
            continue
        raw = _decoded(found.signature)
        if raw is None:
            reasons.append((1, f"{where} is missing or not base64"))
            continue
        key = next((key for key in keys if key.verifies(raw, found.payload)), None)
        if key is None:
            reasons.append((0, f"no signature verifies with {names}: signed with another key, or the payload "
                               "or signature was changed"))
            continue
        try:
            claim = parse_payload(found.payload, f"the payload in {found.source}")
        except SignatureError as exc:
            reasons.append((2, exc.message))
            continue
        if claim.digest != digest:
            reasons.append((2, f"{where} is for manifest {claim.digest}, not {digest}"))
            continue
        if check_identity and not same_repository(claim.identity, identity):
            reasons.append((2, f"{where} was made for repository {claim.identity or '(none)'}, not {identity} "
                               "(--ignore-identity accepts it)"))
            continue
        return Verified(digest, key.fingerprint, key.path, claim.identity, found.source, found.descriptor,
                        found.payload)
    reasons.sort(key=lambda item: -item[0])
    raise SignatureError(f"{subject} ({digest}) is not verified: {reasons[0][1]}")
