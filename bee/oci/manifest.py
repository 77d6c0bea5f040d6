"""Bumblebee's program manifest: building it byte for byte, and checking manifests read back.

`program_manifest` returns the exact bytes Bumblebee's Go code writes for a program
(oras-go `GenerateManifest` over image-spec v1.0 structs): no `mediaType` field, no
timestamps, annotations omitted when empty and sorted by key (Go maps marshal sorted),
so the same ELF gives the same manifest digest in both tools. `parse_manifest` accepts
manifests with or without a `mediaType` field and raises `ValueError(reason)` on
anything that is not an image manifest; callers wrap it in their own error.
"""

from __future__ import annotations

import json
import re

from bee.oci import mediatypes
from bee.sha256 import sha256_hex  # not hashlib: ~4 ms of bee run (docs/dev/startup.md)

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any

DIGEST_PATTERN = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
SHA256_PATTERN = re.compile(r"sha256:([a-f0-9]{64})")
MAX_MANIFEST_SIZE = 4 << 20  # bee's limit for a manifest or index, fetched or stored


def sha256_digest(data: bytes) -> str:
    """`sha256:<hex>` of `data`."""
    return "sha256:" + sha256_hex(data)


def descriptor(media_type: str, data: bytes, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """An OCI descriptor for `data`, fields in Go's order (annotations keys sorted)."""
    desc: dict[str, Any] = {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data)}
    if annotations:
        desc["annotations"] = dict(sorted(annotations.items()))
    return desc


def program_manifest(program: bytes, *, description: str | None = None, authors: str | None = None,
                     annotations: dict[str, str] | None = None) -> bytes:
    """The manifest bytes Bumblebee writes for `program` (config blob is `mediatypes.CONFIG_BYTES`), with
    more manifest `annotations` if given (bee's record of a program read from another layout)."""
    from bee.oci import gojson  # only writers need it: ~0.7 ms of bee run (docs/dev/startup.md)

    annotations = dict(annotations or {})
    if authors:
        annotations[mediatypes.AUTHORS] = authors
    if description:
        annotations[mediatypes.DESCRIPTION] = description
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "config": descriptor(mediatypes.CONFIG, mediatypes.CONFIG_BYTES, {mediatypes.TITLE: mediatypes.CONFIG_TITLE}),
        "layers": [descriptor(mediatypes.PROGRAM, program, {mediatypes.TITLE: mediatypes.PROGRAM_TITLE})],
    }
    if annotations:
        manifest["annotations"] = dict(sorted(annotations.items()))
    return gojson.dumps(manifest)


def check_descriptor(desc: object, where: str) -> dict[str, Any]:
    """Return `desc` if it is a well-formed descriptor object; else raise `ValueError`."""
    if not isinstance(desc, dict):
        raise ValueError(f"{where} is not a JSON object")
    if not isinstance(desc.get("mediaType", ""), str):
        raise ValueError(f"{where} has a mediaType that is not a string")
    digest = desc.get("digest")
    if not isinstance(digest, str) or not DIGEST_PATTERN.fullmatch(digest):
        raise ValueError(f"{where} has no valid digest")
    size = desc.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError(f"{where} has no valid size")
    check_annotations(desc.get("annotations"), where)
    return desc


def check_annotations(annotations: object, where: str) -> None:
    """Raise `ValueError` unless `annotations` is absent/null or a string-to-string object."""
    if annotations is None:
        return
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        raise ValueError(f"the annotations of {where} are not an object of strings")


#: Docker's image manifest (schema 2), which another project's image may be (bee.oci.layouts).
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def parse_manifest(data: bytes, *, docker: bool = False) -> dict[str, Any]:
    """Decode and check an OCI image manifest (or with `docker` a Docker schema 2 one, of the same
    shape); raises `ValueError` with the reason."""
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"it is not valid JSON ({exc})") from None
    except RecursionError:
        raise ValueError("it is JSON nested too deeply to be a manifest") from None
    if not isinstance(manifest, dict):
        raise ValueError("it is not a JSON object")
    media_type = manifest.get("mediaType", mediatypes.MANIFEST)
    if media_type != mediatypes.MANIFEST and not (docker and media_type == DOCKER_MANIFEST):
        raise ValueError(f"its media type is {media_type!r}, not an OCI image manifest")
    if manifest.get("schemaVersion") != 2:
        raise ValueError("its schemaVersion is not 2")
    check_descriptor(manifest.get("config"), "the config descriptor")
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise ValueError("its layers are not a list")
    for number, layer in enumerate(layers, 1):
        check_descriptor(layer, f"layer {number}")
    check_annotations(manifest.get("annotations"), "the manifest")
    return manifest


def program_layer(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The program layer: the first with the program media type, else the first titled `program.o`."""
    layers: list[dict[str, Any]] = manifest.get("layers", [])
    for layer in layers:
        if layer.get("mediaType") == mediatypes.PROGRAM:
            return layer
    for layer in layers:
        if (layer.get("annotations") or {}).get(mediatypes.TITLE) == mediatypes.PROGRAM_TITLE:
            return layer
    return None
