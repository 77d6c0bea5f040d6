"""Signatures in bee's local store, in the registry's own layout: the manifest of a program of
repository `name` and digest `sha256:<hex>` has its signatures under `name:sha256-<hex>.sig`, an
OCI image manifest whose layers are the payloads with their signatures (bee.oci.sign.envelope).

A pull that verified a program keeps the verified signature there, so a later run verifies again
from the store, offline: the record is the signature itself, so changing it (or the program) in the
store cannot make a program pass, it only makes the check fail. `bee sign --local` writes there
too, and `bee push` sends such an entry with its program.
"""

from __future__ import annotations

from bee.errors import RefNotFoundError
from bee.oci.errors import SignatureError
from bee.oci.fileutil import FileTooLarge, read_bounded
from bee.oci.manifest import sha256_digest
from bee.oci.sign.envelope import Signature, is_signature_ref, signature_layers, signature_manifest, signature_tag
from bee.oci.sign.payload import MAX_PAYLOAD, SIGNATURE_ANNOTATION
from bee.oci.store import LocalStore, StoreEntry

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any


def signature_ref(name: str, digest: str) -> str:
    """The store name of the signatures of manifest `digest` of repository `name`."""
    return f"{name}:{signature_tag(digest)}"


def _entry(store: LocalStore, name: str, digest: str) -> StoreEntry | None:
    try:
        return store.resolve(signature_ref(name, digest))
    except RefNotFoundError:
        return None


def _layers(store: LocalStore, entry: StoreEntry) -> list[dict[str, Any]]:
    return signature_layers(store.manifest_bytes(entry), f"the signature manifest {entry.ref} in the local store")


def stored_signatures(store: LocalStore, name: str, digest: str) -> list[Signature]:
    """The signatures the store holds for manifest `digest` of `name` (none: an empty list)."""
    entry = _entry(store, name, digest)
    if entry is None:
        return []
    found = []
    for layer in _layers(store, entry):
        try:
            payload = read_bounded(store.blob_path(layer["digest"]), MAX_PAYLOAD)
        except (OSError, FileTooLarge):
            found.append(Signature(layer, b"", entry.ref, "its payload is missing from the local store"))
            continue
        if len(payload) != layer["size"] or sha256_digest(payload) != layer["digest"]:
            found.append(Signature(layer, b"", entry.ref, "its payload in the local store does not match its digest"))
            continue
        found.append(Signature(layer, payload, entry.ref))
    return found


def store_signatures(store: LocalStore, name: str, digest: str,
                     signatures: list[tuple[dict[str, Any], bytes]]) -> StoreEntry:
    """Add `signatures` (layer descriptor, payload) to the store's signatures of `digest` of `name`
    (one already there is kept once). Raises StoreError, SignatureError."""
    entry = _entry(store, name, digest)
    layers = _layers(store, entry) if entry is not None else []
    blobs: dict[str, bytes] = {}
    for layer, payload in signatures:
        annotation = (layer.get("annotations") or {}).get(SIGNATURE_ANNOTATION)
        if not any(old["digest"] == layer["digest"] and (old.get("annotations") or {}).get(SIGNATURE_ANNOTATION)
                   == annotation for old in layers):
            layers.append(layer)
        blobs[layer["digest"]] = payload
    if not layers:
        raise SignatureError(f"no signature to store for {name}@{digest}")
    manifest, config = signature_manifest(layers)
    blobs[sha256_digest(config)] = config
    return store.import_manifest(signature_ref(name, digest), manifest, blobs, None)


def forget_unused_signatures(store: LocalStore, digest: str) -> list[StoreEntry]:
    """Remove the store's signatures of manifest `digest` once no program name uses that digest any more
    (after `bee rm`); returns the entries removed. Raises StoreError."""
    entries = store.entries()
    if any(entry.digest == digest for entry in entries if not is_signature_ref(entry.ref)):
        return []
    tag = ":" + signature_tag(digest)
    return [store.remove(entry.ref) for entry in entries if entry.ref.endswith(tag)]
