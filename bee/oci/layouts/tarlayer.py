"""One eBPF object out of a tar+gzip layer, safely: nothing is written to disk, and a layer that could
harm a naive extractor is refused rather than worked around.

Refused, each with one sentence: a layer that is not gzip or not tar, one that decompresses to more
than `MAX_OBJECT_SIZE` (a gzip bomb stops there, never fully inflated), members with absolute paths
or `..` components, links (symbolic or hard) and device files, and a layer without exactly one
object file at its root (unless `filename` names it).
"""

from __future__ import annotations

import io
import tarfile
import zlib

from bee.inputs import MAX_OBJECT_SIZE
from bee.oci.errors import UnsupportedArtifactError

#: Most members looked at in one layer.
MAX_MEMBERS = 1024


def _inflate(data: bytes, limit: int, what: str) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise UnsupportedArtifactError(f"{what} is not a gzip stream") from None
    if len(out) > limit:
        raise UnsupportedArtifactError(f"{what} decompresses to more than {limit >> 20} MiB, more than an eBPF "
                                       "object can be: refused")
    return out


def _root_name(name: str) -> str | None:
    """The name of a member at the layer's root (`x.o`, `./x.o`), or None for one deeper down."""
    parts = [part for part in name.split("/") if part not in ("", ".")]
    return parts[0] if len(parts) == 1 else None


def single_object(data: bytes, what: str, filename: str | None = None) -> tuple[str, bytes]:
    """(file name, bytes) of the object file at the root of tar+gzip layer `data`: the one named
    `filename`, or else the only `*.o` there. UnsupportedArtifactError (module docstring) otherwise."""
    tar_bytes = _inflate(data, MAX_OBJECT_SIZE, what)
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as archive:
            members = []
            for number, member in enumerate(archive, 1):
                if number > MAX_MEMBERS:
                    raise UnsupportedArtifactError(f"{what} holds more than {MAX_MEMBERS} files: not a bytecode "
                                                   "layer")
                members.append(member)
            name, member = _the_object(members, what, filename)
            extracted = archive.extractfile(member)
            assert extracted is not None  # a regular file
            return name, extracted.read()
    except tarfile.TarError as exc:
        raise UnsupportedArtifactError(f"{what} is not a tar archive ({exc})") from None


def _the_object(members: list[tarfile.TarInfo], what: str, filename: str | None) -> tuple[str, tarfile.TarInfo]:
    objects: dict[str, tarfile.TarInfo] = {}
    for member in members:
        name = member.name
        if name.startswith("/") or ".." in name.split("/"):
            raise UnsupportedArtifactError(f"{what} holds {name!r}, a path outside the layer: refused")
        if member.islnk() or member.issym():
            raise UnsupportedArtifactError(f"{what} holds a link, {name!r} -> {member.linkname!r}: refused")
        if member.ischr() or member.isblk() or member.isfifo():
            raise UnsupportedArtifactError(f"{what} holds a device or pipe, {name!r}: refused")
        root = _root_name(name)
        if member.isfile() and root is not None and (root == filename or (filename is None and root.endswith(".o"))):
            objects[root] = member
    if len(objects) != 1:
        wanted = filename or "one *.o file"
        found = ", ".join(sorted(objects)) or "none"
        raise UnsupportedArtifactError(f"{what} should hold {wanted} at its root, and holds {found}")
    ((name, member),) = objects.items()
    return name, member
