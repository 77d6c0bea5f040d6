"""Signatures in a registry: find and verify those of a manifest (tag scheme, then OCI 1.1 referrers).

Reading (`verify_in_registry`): the manifest tagged `sha256-<hex>.sig` first; when none of its
signatures verifies, the referrers API (`GET /v2/<name>/referrers/<digest>`), and where a
registry answers that with 404 (it has no such API), the index tagged `sha256-<hex>`, as the
distribution spec says a client falls back. When the tag held no signature, any other answer to
the referrers API is an error, said in one sentence (a signature may be hiding behind it). Payload
blobs are fetched bounded by `MAX_PAYLOAD` and checked against their digest.
"""

from __future__ import annotations

from urllib.parse import quote

from bee.oci.artifact import ACCEPT
from bee.oci.errors import RegistryNotFoundError, SignatureError
from bee.oci.mediatypes import INDEX
from bee.oci.progress import Silent
from bee.oci.registry import RegistryClient
from bee.oci.sign.envelope import (
    SIG_ARTIFACT_TYPE,
    Signature,
    referrer_descriptors,
    referrers_tag,
    signature_layers,
    signature_tag,
)
from bee.oci.sign.payload import MAX_PAYLOAD
from bee.oci.sign.policy import Requirement
from bee.oci.sign.verify import Verified, verify

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any

#: Most referrer manifests looked at for one digest (each is one request).
MAX_REFERRERS = 64


def _payloads(client: RegistryClient, layers: list[dict[str, Any]], source: str) -> list[Signature]:
    found = []
    for layer in layers:
        digest, size = layer["digest"], layer["size"]
        if size > MAX_PAYLOAD:
            found.append(Signature(layer, b"", source, f"its payload is {size} bytes, more than a payload can be"))
            continue
        try:
            payload = client.fetch_blob(digest, size, Silent().task(digest, size))
        except RegistryNotFoundError:
            found.append(Signature(layer, b"", source, f"its payload {digest} is missing from the registry"))
            continue
        found.append(Signature(layer, payload, source))
    return found


def tag_signatures(client: RegistryClient, digest: str) -> list[Signature]:
    """The signatures in the manifest tagged `sha256-<hex>.sig` (none when there is no such tag)."""
    tag = signature_tag(digest)
    try:
        data, _, _ = client.get_manifest(tag, ACCEPT)
    except RegistryNotFoundError:
        return []
    source = f"{client.endpoint.host}/{client.endpoint.repository}:{tag}"
    return _payloads(client, signature_layers(data, f"the signature manifest {source}"), source)


def _referrers_index(client: RegistryClient, digest: str) -> bytes | None:
    endpoint = client.endpoint
    url = f"{endpoint.base_url}{endpoint.repository}/referrers/{digest}?artifactType={quote(SIG_ARTIFACT_TYPE)}"
    response = client.request("GET", url, headers={"Accept": INDEX})
    if response.status_code == 200:
        return bytes(response.content)
    if response.status_code == 404:  # no referrers API here: the tag the distribution spec falls back to
        try:
            data, _, _ = client.get_manifest(referrers_tag(digest), INDEX)
        except RegistryNotFoundError:
            return None
        return data
    raise SignatureError(f"cannot look for the signatures of {client.subject}: the referrers API of "
                         f"{endpoint.host} answered {response.status_code} {response.reason}")


def referrer_signatures(client: RegistryClient, digest: str) -> list[Signature]:
    """The signatures stored as OCI 1.1 referrers of `digest` (module docstring for how they are found)."""
    index = _referrers_index(client, digest)
    if index is None:
        return []
    where = f"the referrers of {digest} on {client.endpoint.host}"
    found: list[Signature] = []
    for desc in referrer_descriptors(index, where)[:MAX_REFERRERS]:
        try:
            data, _, _ = client.get_manifest(desc["digest"], ACCEPT)
        except RegistryNotFoundError:
            continue
        source = f"{client.endpoint.host}/{client.endpoint.repository}@{desc['digest']} (a referrer)"
        try:
            layers = signature_layers(data, f"the referrer {desc['digest']}", subject=digest)
        except SignatureError:
            continue  # another artifact, or one naming another subject
        found += _payloads(client, layers, source)
    return found


def verify_in_registry(client: RegistryClient, digest: str, requirement: Requirement, *, identity: str,
                       subject: str) -> Verified:
    """Verify manifest `digest` of `client`'s repository with the signatures its registry holds: those of
    the tag scheme first, then, if none of them verifies, also the referrers'. SignatureError (one
    sentence) when none verifies, or when the referrers cannot be listed and the tag held none;
    RegistryError when the registry fails otherwise."""
    found = tag_signatures(client, digest)
    try:
        return verify(found, requirement.keys, digest=digest, identity=identity, subject=subject,
                      check_identity=requirement.check_identity)
    except SignatureError as exc:
        first = exc
    try:
        more = referrer_signatures(client, digest)
    except SignatureError:
        if found:
            raise first from None
        raise
    if not more:
        raise first
    return verify(found + more, requirement.keys, digest=digest, identity=identity, subject=subject,
                  check_identity=requirement.check_identity)
