"""`index.json` of an image-layout store: its entries, and pure functions over its descriptors.

Nothing here touches the disk. `parse_index` checks a document and raises
`ValueError(reason)`; `encode_index` writes it back in Go's compact form, keeping
fields other tools wrote. Descriptors are plain dicts so unknown fields survive.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from bee.oci import mediatypes
from bee.oci.manifest import check_descriptor, sha256_digest
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any

# Go's field order for an image-spec Descriptor; unknown fields follow in their own order.
_DESCRIPTOR_ORDER = ("mediaType", "digest", "size", "urls", "annotations", "data", "platform", "artifactType")
_PLATFORM_STRINGS = ("os", "os.version", "architecture")

Descriptor = dict[str, "Any"]

# `uname -m` → Go's GOARCH (the architecture names image indexes use).
_GOARCH = {
    "x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "386", "i686": "386",
    "armv7l": "arm", "armv6l": "arm", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
    "loongarch64": "loong64", "mips64": "mips64",
}


def goarch(machine: str | None = None) -> str:
    """The GOARCH name of `machine` (default: this host's `uname -m`)."""
    machine = machine or os.uname().machine
    return _GOARCH.get(machine, machine)


class Platform(Record):
    """Where a program was built: `uname -s`, `uname -r`, `uname -m` strings."""

    os: str
    os_version: str
    architecture: str

    @classmethod
    def host(cls) -> Platform:
        """The running machine's platform, from `os.uname()`."""
        uname = os.uname()
        return cls(os=uname.sysname, os_version=uname.release, architecture=uname.machine)

    def to_json(self) -> dict[str, str]:
        """The descriptor `platform` object, in Go's field order (`os.version` omitted when empty)."""
        data = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            data["os.version"] = self.os_version
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Platform:
        """Read a descriptor `platform` object; missing fields become empty strings."""
        return cls(
            os=str(data.get("os", "")),
            os_version=str(data.get("os.version", "")),
            architecture=str(data.get("architecture", "")),
        )


class StoreEntry(Record):
    """One name in the store: the manifest descriptor `index.json` holds for it."""

    ref: str
    digest: str
    size: int
    platform: Platform | None
    annotations: dict[str, str]
    media_type: str = mediatypes.MANIFEST  # or mediatypes.INDEX: a program built for several platforms

    @property
    def is_index(self) -> bool:
        """True when the name holds an image index (one manifest per platform), not one manifest."""
        return self.media_type == mediatypes.INDEX


def ref_name(desc: Mapping[str, Any]) -> str | None:
    """The `org.opencontainers.image.ref.name` of a descriptor, or None."""
    name = (desc.get("annotations") or {}).get(mediatypes.REF_NAME)
    return name if isinstance(name, str) and name else None


def to_entry(desc: Mapping[str, Any]) -> StoreEntry:
    """The entry of a named descriptor."""
    annotations = dict(desc.get("annotations") or {})
    platform = desc.get("platform")
    return StoreEntry(
        ref=annotations[mediatypes.REF_NAME],
        digest=desc["digest"],
        size=desc["size"],
        platform=Platform.from_json(platform) if isinstance(platform, dict) else None,
        annotations=annotations,
        media_type=desc.get("mediaType") or mediatypes.MANIFEST,
    )


def manifest_descriptor(ref: str, manifest_bytes: bytes, platform: Platform | None,
                        media_type: str = mediatypes.MANIFEST) -> Descriptor:
    """The descriptor Bumblebee writes for a manifest stored under `ref` (or bee, for an image index)."""
    desc: Descriptor = {
        "mediaType": media_type,
        "digest": sha256_digest(manifest_bytes),
        "size": len(manifest_bytes),
        "annotations": {mediatypes.REF_NAME: ref},
    }
    if platform is not None:
        desc["platform"] = platform.to_json()
    return desc


def oci_platform(goarch: str) -> Platform:
    """The platform an image index names for `linux/<goarch>` (OCI's names: `linux`, `amd64`)."""
    return Platform(os="linux", os_version="", architecture=goarch)


def image_index(manifests: list[tuple[bytes, Platform]]) -> bytes:
    """An OCI image index over program manifests (their bytes, and the platform each is for), in Go's
    compact JSON with Go's field order."""
    from bee.oci import gojson  # only writers need it: ~0.7 ms of bee run (docs/dev/startup.md)

    descriptors = [{"mediaType": mediatypes.MANIFEST, "digest": sha256_digest(data), "size": len(data),
                    "platform": platform.to_json()} for data, platform in manifests]
    return gojson.dumps({"schemaVersion": 2, "mediaType": mediatypes.INDEX, "manifests": descriptors})


def renamed(desc: Mapping[str, Any], name: str) -> Descriptor:
    """A copy of `desc` called `name` (other fields and annotations kept, Go's field order)."""
    copy = json.loads(json.dumps(desc))
    copy["annotations"] = {**(copy.get("annotations") or {}), mediatypes.REF_NAME: name}
    known = {key: copy[key] for key in _DESCRIPTOR_ORDER if key in copy}
    return known | {key: value for key, value in copy.items() if key not in known}


def find_named(manifests: list[Descriptor], name: str) -> Descriptor | None:
    """The descriptor called `name` (the last one if listed twice, as oras-go reads it)."""
    named = [desc for desc in manifests if ref_name(desc) == name]
    return named[-1] if named else None


def set_name(manifests: list[Descriptor], name: str, desc: Descriptor) -> list[Descriptor]:
    """`desc` in place of the first descriptor called `name` (others of that name dropped), or appended."""
    result: list[Descriptor] = []
    placed = False
    for existing in manifests:
        if ref_name(existing) != name:
            result.append(existing)
        elif not placed:
            result.append(desc)
            placed = True
    if not placed:
        result.append(desc)
    return result


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def parse_index(data: bytes) -> dict[str, Any]:
    """Decode and check an `index.json` document; raises `ValueError` with the reason."""
    try:
        index = json.loads(data, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"it is not valid JSON ({exc})") from None
    if not isinstance(index, dict):
        raise ValueError("it is not a JSON object")
    if index.get("schemaVersion") != 2:
        raise ValueError("its schemaVersion is not 2")
    manifests = index.get("manifests")
    if manifests is not None and not isinstance(manifests, list):
        raise ValueError("its manifests field is not a list")
    for number, desc in enumerate(manifests or [], 1):
        where = f"manifest descriptor {number}"
        check_descriptor(desc, where)
        platform = desc.get("platform")
        if platform is not None and (
            not isinstance(platform, dict) or not all(isinstance(platform.get(k, ""), str) for k in _PLATFORM_STRINGS)
        ):
            raise ValueError(f"the platform of {where} is not an object with string fields")
    return index


def manifests_of(index: Mapping[str, Any] | None) -> list[Descriptor]:
    """The descriptors of a parsed index (None: no index yet)."""
    return list((index or {}).get("manifests") or [])


def encode_index(index: Mapping[str, Any] | None, manifests: list[Descriptor]) -> bytes:
    """`index` (None: a new one) with `manifests`, as Go's compact JSON; other fields kept in order."""
    from bee.oci import gojson  # only writers need it: ~0.7 ms of bee run (docs/dev/startup.md)

    new = {"schemaVersion": 2, "manifests": manifests} if index is None else {**index, "manifests": manifests}
    return gojson.dumps(new)
