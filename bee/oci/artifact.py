"""What a registry may answer for a reference, and which answers are Bumblebee programs.

Pure functions over manifest bytes: `classify` tells an image manifest (with or without a
`mediaType` field, with or without `artifactType`) from an image index, and refuses
anything else with one sentence naming the media types found; `program_check` refuses an
image manifest that carries no eBPF program layer; `select_platform` picks the index entry
for this host's `linux/<GOARCH>`. Raises `UnsupportedArtifactError` or `IntegrityError`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from bee.oci import mediatypes
from bee.oci.errors import UnsupportedArtifactError
from bee.oci.index import Platform, goarch
from bee.oci.manifest import check_descriptor, parse_manifest, program_layer

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"

#: The `Accept` header of a manifest request: what bee can use, and what it can name when refusing.
ACCEPT = ", ".join([mediatypes.MANIFEST, mediatypes.INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST])

@dataclass(frozen=True, slots=True)
class Fetched:
    """A manifest or index as received: its exact bytes, media type and decoded JSON."""

    data: bytes
    media_type: str
    document: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return self.media_type in (mediatypes.INDEX, DOCKER_MANIFEST_LIST)


def _bare(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def classify(data: bytes, content_type: str | None, what: str) -> Fetched:
    """Decode what the registry sent for `what` (a reference) and check it is a manifest or an index.

    The body's `mediaType` wins over the `Content-Type` header; a body without one (as Bumblebee
    writes manifests) is an image manifest when it has `config` and `layers`, an index when it
    has `manifests`.
    """
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise UnsupportedArtifactError(
            f"{what} is not an eBPF program: the registry sent {_bare(content_type) or 'content'} "
            "that is not JSON") from None
    except RecursionError:
        raise UnsupportedArtifactError(
            f"{what} is not an eBPF program: the registry sent JSON nested too deeply to be a manifest") from None
    if not isinstance(document, dict):
        raise UnsupportedArtifactError(f"{what} is not an eBPF program: its manifest is not a JSON object")
    declared = document.get("mediaType")
    media_type = declared if isinstance(declared, str) and declared else _bare(content_type)
    if media_type in ("", "application/json", "text/plain", "application/octet-stream"):
        if "manifests" in document:
            media_type = mediatypes.INDEX
        elif "config" in document and "layers" in document:
            media_type = mediatypes.MANIFEST
    if media_type in (mediatypes.MANIFEST, mediatypes.INDEX, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST):
        return Fetched(data, media_type, document)  # a Docker image may be a bpfman one (bee.oci.layouts)
    raise UnsupportedArtifactError(
        f"{what} is not an eBPF program: its manifest has media type {media_type or '(none)'}, "
        f"and bee reads {mediatypes.MANIFEST} and {mediatypes.INDEX}")


def _config_type(document: dict[str, Any]) -> str:
    config = document.get("config")
    media_type = config.get("mediaType") if isinstance(config, dict) else None
    return media_type if isinstance(media_type, str) else "(none)"


def image_manifest(fetched: Fetched, what: str) -> dict[str, Any]:
    """The decoded image manifest (config and layers checked as descriptors); `UnsupportedArtifactError`
    when it cannot be read."""
    try:
        return parse_manifest(fetched.data, docker=True)
    except ValueError as exc:
        raise UnsupportedArtifactError(f"{what} has an image manifest bee cannot read: {exc}") from None


def not_a_program(manifest: dict[str, Any], what: str) -> str:
    """The sentence saying `manifest` holds no Bumblebee program layer, naming the media types found."""
    layers = sorted({str(layer.get("mediaType") or "(none)") for layer in manifest["layers"]})
    artifact = manifest.get("artifactType")
    kind = f", artifact type {artifact}" if isinstance(artifact, str) else ""
    return (f"{what} is not an eBPF program: its manifest has config {_config_type(manifest)}{kind} and "
            f"layers {', '.join(layers) or '(none)'}, none of them {mediatypes.PROGRAM}")


def program_check(fetched: Fetched, what: str) -> dict[str, Any]:
    """The decoded image manifest if it is a program (a layer of the program media type or
    titled `program.o`); else `UnsupportedArtifactError` naming the media types found."""
    manifest = image_manifest(fetched, what)
    if program_layer(manifest) is None:
        raise UnsupportedArtifactError(not_a_program(manifest, what))
    return manifest


def select_platform(index: Fetched, what: str, machine: str | None = None) -> tuple[dict[str, Any], Platform]:
    """The descriptor of `index`'s entry for `linux/<GOARCH of this host>`, and its platform.

    Entries written with uname names (`Linux`, `x86_64`, as Bumblebee's store has them) match too.
    """
    arch = goarch(machine)
    names = {arch, machine or os.uname().machine}
    manifests = index.document.get("manifests")
    if not isinstance(manifests, list):
        raise UnsupportedArtifactError(f"{what} is an image index without a list of manifests")
    found: list[str] = []
    for number, desc in enumerate(manifests, 1):
        try:
            check_descriptor(desc, f"entry {number} of the index of {what}")
        except ValueError as exc:
            raise UnsupportedArtifactError(f"{what} has an image index bee cannot read: {exc}") from None
        platform = desc.get("platform")
        if not isinstance(platform, dict):
            continue
        os_name = str(platform.get("os", ""))
        architecture = str(platform.get("architecture", ""))
        found.append(f"{os_name}/{architecture}")
        if os_name.lower() == "linux" and architecture in names:
            return desc, Platform.from_json(platform)
    listed = ", ".join(found) if found else "no platforms"
    raise UnsupportedArtifactError(f"{what} is an image index with no entry for linux/{arch} (it has {listed})")
