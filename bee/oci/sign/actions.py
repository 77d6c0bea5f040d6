"""`sign` and `verify` a program: in its registry, or in the local store.

Signing covers a digest, never a tag alone: the manifest `REF` names is looked up first (in the
registry, or in the store with `local`) and its digest goes into the payload, with the repository
as cosign's `docker-reference`. In a registry the signature is added to the manifest tagged
`sha256-<hex>.sig` (the signatures already there are kept); in the store, to the entry of the same
name (bee.oci.sign.local), which `bee push` sends with its program.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from bee.errors import UsageError
from bee.oci.artifact import ACCEPT
from bee.oci.errors import SignatureError
from bee.oci.layouts.converted import SOURCE_FORMAT
from bee.oci.manifest import sha256_digest
from bee.oci.mediatypes import MANIFEST
from bee.oci.progress import Silent
from bee.oci.reference import parse_reference
from bee.oci.sign.envelope import signature_layer, signature_manifest, signature_tag
from bee.oci.sign.keys import PrivateKey
from bee.oci.sign.local import signature_ref, store_signatures, stored_signatures
from bee.oci.sign.payload import payload_bytes
from bee.oci.sign.policy import Requirement
from bee.oci.sign.remote import tag_signatures, verify_in_registry
from bee.oci.sign.verify import Verified, verify
from bee.oci.store import LocalStore
from bee.oci.transfer import TransferSettings, check_digest, client_for, target_of
from bee.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any


class Signed(Record):
    """What `sign` did: the manifest `digest` signed for repository `identity`, the key's fingerprint,
    and where the signature went (`location`)."""

    digest: str
    identity: str
    fingerprint: str
    location: str


def _local(ref: str, local: bool) -> bool:
    if local:
        return True
    if parse_reference(ref).registry is None:
        raise UsageError(f"{ref} names no registry: use --local to work in the local store, or tag it with a "
                         "registry name (bee tag)")
    return False


def sign(ref: str, key: PrivateKey, settings: TransferSettings, *, local: bool = False,
         annotations: dict[str, str] | None = None) -> Signed:
    """Sign the manifest `ref` names with `key` (module docstring). Raises UsageError, RegistryError,
    StoreError, SignatureError."""
    reference = parse_reference(ref)
    identity = reference.name
    if _local(ref, local):
        store = LocalStore(settings.storage)
        digest = store.resolve(ref).digest
        payload = payload_bytes(identity, digest, annotations)
        layer = signature_layer(payload, base64.b64encode(key.sign(payload)).decode())
        store_signatures(store, identity, digest, [(layer, payload)])
        return Signed(digest, identity, key.fingerprint, f"{signature_ref(identity, digest)} in the local store")
    with client_for(reference, settings, "pull,push") as client:
        data, _, header_digest = client.get_manifest(target_of(reference), ACCEPT)
        check_digest(data, reference.digest or header_digest, None, f"the manifest of {ref}")
        digest = sha256_digest(data)
        payload = payload_bytes(identity, digest, annotations)
        layer = signature_layer(payload, base64.b64encode(key.sign(payload)).decode())
        kept = [found.descriptor for found in tag_signatures(client, digest) if not found.problem]
        manifest, config = signature_manifest([*kept, layer])
        with tempfile.TemporaryDirectory(prefix="bee-sign-") as scratch:
            for blob in (payload, config):
                blob_digest = sha256_digest(blob)
                if not client.blob_exists(blob_digest):
                    path = Path(scratch) / blob_digest.split(":", 1)[1]
                    path.write_bytes(blob)
                    client.upload_blob(path, blob_digest, Silent().task(blob_digest, len(blob)), chunk_size=None)
        client.put_manifest(signature_tag(digest), manifest, MANIFEST)
    return Signed(digest, identity, key.fingerprint, f"{identity}:{signature_tag(digest)}")


def verify_ref(ref: str, requirement: Requirement, settings: TransferSettings, *, local: bool = False) -> Verified:
    """Verify the manifest `ref` names: in its registry (the tag scheme, then the referrers), or with
    `local` (or a name without a registry) from the signatures the store holds. Raises SignatureError
    (one sentence), UsageError, RegistryError, StoreError."""
    reference = parse_reference(ref)
    if local or reference.registry is None:
        verified, _ = verify_stored(LocalStore(settings.storage), ref, requirement)
        return verified
    with client_for(reference, settings, "pull") as client:
        data, _, header_digest = client.get_manifest(target_of(reference), ACCEPT)
        check_digest(data, reference.digest or header_digest, None, f"the manifest of {ref}")
        return verify_in_registry(client, sha256_digest(data), requirement, identity=reference.name, subject=ref)


def verify_stored(store: LocalStore, ref: str, requirement: Requirement) -> tuple[Verified, Any]:
    """Verify the store's entry `ref` from the signatures stored with it; returns what verified and the
    entry (whose digest is the one verified: read the program from that entry). SignatureError when
    none verifies; RefNotFoundError, StoreError."""
    reference = parse_reference(ref)
    entry = store.resolve(ref)
    source = (store.manifest(entry).get("annotations") or {}).get(SOURCE_FORMAT)
    if source is not None:
        raise SignatureError(f"{ref} was read from a {source} image, whose signature covers that image, not the "
                             "program bee stored from it: bee checks it when pulling (bee pull --verify-key), "
                             "but cannot verify it again from the store to run it")
    verified = verify(stored_signatures(store, reference.name, entry.digest), requirement.keys,
                      digest=entry.digest, identity=reference.name, subject=ref,
                      check_identity=requirement.check_identity)
    return verified, entry
