"""Where cosign's signatures sit: the manifests that carry them, as cosign writes and reads them.

- Tag scheme: the signatures of manifest `sha256:<hex>` are the layers of the OCI image manifest
  tagged `sha256-<hex>.sig` in the same repository. Each layer is one payload (media type
  `SIMPLE_SIGNING`) with its base64 signature in the annotation `SIGNATURE_ANNOTATION`; the config
  is an image config listing the layers. bee writes this scheme, in registries and in its store.
- OCI 1.1 referrers: a manifest whose `subject` is the signed manifest, `artifactType`
  `SIG_ARTIFACT_TYPE`, the empty config, and the same layers; found through the registry's referrers
  API or, where it has none, the index tagged `sha256-<hex>` (the distribution spec's fallback).

`Signature` is one signature as found, not yet checked (bee.oci.sign.verify checks it).
"""

from __future__ import annotations

import json
import re

from bee.oci import gojson, mediatypes
from bee.oci.errors import SignatureError
from bee.oci.manifest import check_descriptor, sha256_digest
from bee.oci.sign.payload import SIGNATURE_ANNOTATION, SIMPLE_SIGNING
from bee.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any, ClassVar

#: `artifactType` of a cosign signature stored as an OCI 1.1 referrer.
SIG_ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json"
#: The OCI image config media type of a tag-scheme signature manifest, and the empty descriptor's.
IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"


_SIGNATURE_TAG = re.compile(r":sha256-[0-9a-f]{64}\.sig$")


def is_signature_ref(ref: str) -> bool:
    """Whether a store name is the signatures of a manifest (`name:sha256-<hex>.sig`), not a program."""
    return _SIGNATURE_TAG.search(ref) is not None


def signature_tag(digest: str) -> str:
    """The tag of `digest`'s signatures: `sha256-<hex>.sig`."""
    return digest.replace(":", "-", 1) + ".sig"


def referrers_tag(digest: str) -> str:
    """The fallback tag of `digest`'s referrers index (distribution spec): `sha256-<hex>`."""
    return digest.replace(":", "-", 1)


class Signature(Record):
    """One signature as found: its layer's `descriptor`, the `payload` bytes and where it came from
    (`source`, for messages); `problem` says why it could not be read (then `payload` is empty)."""

    descriptor: dict[str, Any]
    payload: bytes
    source: str
    problem: str | None = None

    _hidden: ClassVar[tuple[str, ...]] = ("payload",)

    @property
    def media_type(self) -> str:
        return str(self.descriptor.get("mediaType", ""))

    @property
    def signature(self) -> str | None:
        return (self.descriptor.get("annotations") or {}).get(SIGNATURE_ANNOTATION)


def _document(data: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise SignatureError(f"{what} is not JSON") from None
    if not isinstance(document, dict):
        raise SignatureError(f"{what} is not a JSON object")
    return document


def _descriptors(document: dict[str, Any], key: str, missing: str, each: str) -> list[dict[str, Any]]:
    """The descriptors listed under `key`, each checked (`each` names one, `{}` its number); SignatureError
    `missing` when there is no such list, or naming the first that is not a descriptor."""
    items = document.get(key)
    if not isinstance(items, list):
        raise SignatureError(missing)
    try:
        return [check_descriptor(item, each.format(i)) for i, item in enumerate(items)]
    except ValueError as exc:
        raise SignatureError(str(exc)) from None


def signature_layers(data: bytes, what: str, *, subject: str | None = None) -> list[dict[str, Any]]:
    """The layers of a signature manifest that hold a signature or a simple signing payload (others, as
    an attestation's, are not signatures). With `subject`, the manifest must name it as its subject
    (a referrer). SignatureError for a manifest that is not one."""
    document = _document(data, what)
    if subject is not None:
        named = document.get("subject")
        if not isinstance(named, dict) or named.get("digest") != subject:
            raise SignatureError(f"{what} is not a referrer of {subject} (its subject differs)")
    layers = _descriptors(document, "layers", f"{what} has no layers", "layer {} of " + what)
    return [desc for desc in layers
            if desc.get("mediaType") == SIMPLE_SIGNING or SIGNATURE_ANNOTATION in (desc.get("annotations") or {})]


def referrer_descriptors(data: bytes, what: str) -> list[dict[str, Any]]:
    """The manifests of a referrers index that may be signatures (artifactType cosign's, or none given)."""
    document = _document(data, what)
    manifests = _descriptors(document, "manifests", f"{what} is not an image index (no manifests)",
                             "entry {} of " + what)
    return [desc for desc in manifests if desc.get("artifactType") in (None, SIG_ARTIFACT_TYPE)]


def signature_layer(payload: bytes, signature_b64: str) -> dict[str, Any]:
    """The layer descriptor of one signature, as cosign writes it."""
    return {"mediaType": SIMPLE_SIGNING, "size": len(payload), "digest": sha256_digest(payload),
            "annotations": {SIGNATURE_ANNOTATION: signature_b64}}


def signature_manifest(layers: list[dict[str, Any]]) -> tuple[bytes, bytes]:
    """(manifest, config) of the tag-scheme signature manifest holding `layers`: an OCI image manifest
    whose config is an image config listing them (as go-containerregistry's empty image with layers)."""
    zero = "0001-01-01T00:00:00Z"
    config = gojson.dumps({"architecture": "", "created": zero, "history": [{"created": zero} for _ in layers],
                           "os": "", "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
                           "config": {}})
    manifest = gojson.dumps({"schemaVersion": 2, "mediaType": mediatypes.MANIFEST,
                             "config": {"mediaType": IMAGE_CONFIG, "size": len(config),
                                        "digest": sha256_digest(config)},
                             "layers": layers})
    return manifest, config
