"""Cosign's "simple signing" payload: the JSON a signature covers, naming the signed manifest's digest.

`payload_bytes` writes it as cosign does (Go's `json.Marshal` of its struct: `critical.identity.
docker-reference`, `critical.image.docker-manifest-digest`, `critical.type`, then `optional`).
`parse_payload` reads one, matching keys without regard to case as Go's `encoding/json` does, and
raises SignatureError (one sentence) for anything that is not a cosign container image signature.
"""

from __future__ import annotations

import json
import re

from bee.oci import gojson
from bee.oci.errors import SignatureError
from bee.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any

#: The media type of a payload layer, and the annotation that holds its base64 signature.
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
#: `critical.type` of every cosign image signature.
PAYLOAD_TYPE = "cosign container image signature"
#: Largest payload read: cosign's are a few hundred bytes, with annotations a few kilobytes.
MAX_PAYLOAD = 256 << 10

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class Claim(Record):
    """What a payload says: the signed manifest's `digest`, the repository it was signed for
    (`identity`, cosign's docker-reference) and the signer's `optional` annotations."""

    identity: str
    digest: str
    optional: dict[str, Any] | None = None


def payload_bytes(identity: str, digest: str, optional: dict[str, Any] | None = None) -> bytes:
    """The payload cosign signs for manifest `digest` of repository `identity` (`host/path`)."""
    document = {"critical": {"identity": {"docker-reference": identity},
                             "image": {"docker-manifest-digest": digest},
                             "type": PAYLOAD_TYPE},
                "optional": None if optional is None else {k: optional[k] for k in sorted(optional)}}
    return gojson.dumps(document)


def _field(document: dict[str, Any], key: str) -> Any:
    """`document[key]`, or as Go decodes: the exact key first, else the first key equal to it without case."""
    if key in document:
        return document[key]
    return next((value for name, value in document.items() if name.lower() == key), None)


def parse_payload(data: bytes, where: str) -> Claim:
    """The claim of a payload; SignatureError naming `where` when it is not a cosign image signature."""
    if len(data) > MAX_PAYLOAD:
        raise SignatureError(f"{where} is {len(data)} bytes, more than a signature payload can be")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise SignatureError(f"{where} is not JSON, so not a simple signing payload") from None
    critical = _field(document, "critical") if isinstance(document, dict) else None
    if not isinstance(critical, dict):
        raise SignatureError(f"{where} has no \"critical\" section, so it is not a simple signing payload")
    kind = _field(critical, "type")
    if kind != PAYLOAD_TYPE:
        raise SignatureError(f"{where} is of type {kind!r}, not {PAYLOAD_TYPE!r}")
    image, identity = _field(critical, "image"), _field(critical, "identity")
    digest = _field(image, "docker-manifest-digest") if isinstance(image, dict) else None
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise SignatureError(f"{where} names no sha256 manifest digest (critical.image.docker-manifest-digest)")
    reference = _field(identity, "docker-reference") if isinstance(identity, dict) else None
    optional = _field(document, "optional")
    return Claim(reference if isinstance(reference, str) else "", digest,
                 optional if isinstance(optional, dict) else None)
