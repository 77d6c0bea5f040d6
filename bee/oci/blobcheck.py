"""The blobs of a local store as files: which ones names reach, which ones are damaged, and the
garbage left when names go (`LocalStore.check` and `LocalStore.remove` call these under its lock).

Reachability follows every `"digest"` string inside reachable JSON blobs (those starting with `{`),
so manifest kinds bee does not know keep their blobs. Nothing here raises for a damaged blob: it is
reported (`check_blobs`) or makes garbage collection keep everything (`collect_garbage`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from bee.errors import StoreError
from bee.oci.fileutil import STALE_TEMP_AGE, fsync_dir, temporaries
from bee.oci.index import Descriptor, ref_name
from bee.oci.manifest import MAX_MANIFEST_SIZE, SHA256_PATTERN
from bee.records import Record

HASH_CHUNK = 1 << 20


class StoreCheck(Record):
    """What `check_blobs` found (and, with `repair`, removed).

    `corrupt`: blob files whose content does not match their name's digest; `missing`: (name, digest)
    of blobs a stored name needs that are not there; `stale`: temporary files of killed writers (older
    than `STALE_TEMP_AGE`); `blobs`: how many blob files were read; `repaired`: whether `corrupt` and
    `stale` were deleted; `affected`: the stored names with a corrupt or missing blob (to build or pull again).
    """

    corrupt: tuple[Path, ...]
    missing: tuple[tuple[str, str], ...]
    stale: tuple[Path, ...]
    blobs: int
    repaired: bool
    affected: tuple[str, ...]


def file_digest(path: Path) -> str:
    """`sha256:<hex>` of the file at `path`, read in chunks (any size). Raises `OSError`."""
    import hashlib  # only checks need it: ~4 ms of bee run (docs/dev/startup.md)

    hasher = hashlib.sha256()
    with open(path, "rb") as blob:
        while chunk := blob.read(HASH_CHUNK):
            hasher.update(chunk)
    return f"sha256:{hasher.hexdigest()}"


def _digests_in(value: object) -> Iterator[str]:
    """Every `"digest"` string anywhere in a decoded JSON document."""
    if isinstance(value, dict):
        digest = value.get("digest")
        if isinstance(digest, str):
            yield digest
        for item in value.values():
            yield from _digests_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _digests_in(item)


def reachable(blobs_dir: Path, roots: Iterable[str], *, strict: bool) -> list[str] | None:
    """The digests reachable from `roots` through the JSON blobs in `blobs_dir`, in the order found (missing
    blobs are leaves).

    A blob that cannot be read, decoded, or is a JSON blob over `MAX_MANIFEST_SIZE`: a leaf, or with `strict`
    (garbage collection, which must not guess) None for "unknown"."""
    seen: dict[str, None] = {}  # ordered, for reports in a stable order
    pending = list(roots)
    while pending:
        digest = pending.pop()
        if digest in seen:
            continue
        seen[digest] = None
        match = SHA256_PATTERN.fullmatch(digest)
        if match is None:
            continue
        try:
            with open(blobs_dir / match.group(1), "rb") as blob:
                data = blob.read(MAX_MANIFEST_SIZE + 1)
        except FileNotFoundError:
            continue
        except OSError:
            if strict:
                return None
            continue
        if not data.startswith(b"{"):
            continue
        try:
            if len(data) > MAX_MANIFEST_SIZE:
                raise ValueError("too large to follow")
            pending.extend(_digests_in(json.loads(data)))
        except (ValueError, RecursionError):
            if strict:
                return None
    return list(seen)


def _blob_names(blobs_dir: Path) -> list[str]:
    """The file names in `blobs_dir` that are sha256 digests, sorted; none when it does not exist."""
    try:
        names = sorted(os.listdir(blobs_dir))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"cannot read the blobs of the local store {blobs_dir}: {exc.strerror}") from None
    return [name for name in names if SHA256_PATTERN.fullmatch(f"sha256:{name}")]


def check_blobs(root: Path, blobs_dir: Path, manifests: list[Descriptor], *, repair: bool) -> StoreCheck:
    """Read every blob against its digest, find the blobs `manifests` (the index's) need that are missing,
    and temporary files of killed writers; with `repair`, delete the corrupt blobs and stale temporaries.
    The caller holds the store's lock (exclusive to repair). Raises `StoreError` (unreadable blobs folder)."""
    corrupt: list[Path] = []
    names = _blob_names(blobs_dir)
    for name in names:
        path = blobs_dir / name
        try:
            good = file_digest(path) == f"sha256:{name}"
        except OSError:
            good = False
        if not good:
            corrupt.append(path)
            if repair:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
    stale = [path for directory in (root, blobs_dir) for path, age in temporaries(directory) if age > STALE_TEMP_AGE]
    if repair:
        for path in stale:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        fsync_dir(blobs_dir)
    missing: list[tuple[str, str]] = []
    affected: set[str] = set()
    bad = {path.name for path in corrupt}
    for desc in manifests:
        name = ref_name(desc) or desc.get("digest", "")
        for digest in reachable(blobs_dir, [desc["digest"]], strict=False) or ():
            match = SHA256_PATTERN.fullmatch(digest)
            if match is None:
                continue
            if not (blobs_dir / match.group(1)).exists():
                missing.append((name, digest))
                affected.add(name)
            elif match.group(1) in bad:
                affected.add(name)
    return StoreCheck(corrupt=tuple(corrupt), missing=tuple(missing), stale=tuple(stale), blobs=len(names),
                      repaired=repair, affected=tuple(sorted(affected)))


def collect_garbage(blobs_dir: Path, manifests: list[Descriptor]) -> None:
    """Delete the blob files not reachable from `manifests` (the caller holds the write lock). When
    reachability is unknown (a reachable JSON blob that cannot be read or decoded), nothing is deleted."""
    found = reachable(blobs_dir, [desc["digest"] for desc in manifests], strict=True)
    if found is None:
        return
    keep = set(found)
    try:
        names = os.listdir(blobs_dir)
    except FileNotFoundError:
        return
    for name in names:
        if SHA256_PATTERN.fullmatch(f"sha256:{name}") and f"sha256:{name}" not in keep:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(blobs_dir / name)
    fsync_dir(blobs_dir)
