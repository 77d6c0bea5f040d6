"""A raw HTTP registry client for tests, and the upload of an artifact exactly as Bumblebee sends it.

`RawClient` answers `401` challenges by itself: `Basic` with the credentials given, `Bearer` by
asking the challenge's realm for a token for its service and scope (with the credentials, if any),
then retrying once. It is deliberately independent of `bee`, so tests can check `bee` against it.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import urljoin

import requests

from bee.oci import manifest, mediatypes

ACCEPT = ", ".join([mediatypes.MANIFEST, mediatypes.INDEX])
CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="..."` -> ("bearer", {"realm": ..., "service": ...})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(CHALLENGE_PARAM.findall(rest))


class RawClient:
    """HTTP to one registry at `base_url`, authenticating on challenge; `verify` as in `requests`."""

    def __init__(self, base_url: str, auth: tuple[str, str] | None = None, verify: str | bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth, self.verify = auth, verify
        self.session = requests.Session()
        self._authorization: str | None = None

    def token(self, challenge: dict[str, str]) -> str:
        """A bearer token from the challenge's realm for its service and scope."""
        params = {k: challenge[k] for k in ("service", "scope") if k in challenge}
        response = self.session.get(challenge["realm"], params=params, auth=self.auth, verify=self.verify,
                                    timeout=10)
        response.raise_for_status()
        body = response.json()
        return str(body.get("token") or body["access_token"])

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """`method` on `path` (relative to the base URL, or absolute), answering one auth challenge."""
        url = urljoin(self.base_url + "/", path)
        kwargs.setdefault("timeout", 30)
        # Per request: a session's `verify` loses to $REQUESTS_CA_BUNDLE when the request passes none.
        kwargs.setdefault("verify", self.verify)
        headers = dict(kwargs.pop("headers", None) or {})
        if self._authorization:
            headers["Authorization"] = self._authorization
        response = self.session.request(method, url, headers=headers, **kwargs)
        if response.status_code != 401 or "WWW-Authenticate" not in response.headers:
            return response
        scheme, challenge = parse_challenge(response.headers["WWW-Authenticate"])
        if scheme == "basic" and self.auth:
            self._authorization = "Basic " + base64.b64encode(":".join(self.auth).encode()).decode()
        elif scheme == "bearer" and "realm" in challenge:
            self._authorization = "Bearer " + self.token(challenge)
        else:
            return response
        headers["Authorization"] = self._authorization
        return self.session.request(method, url, headers=headers, **kwargs)

    def upload_blob(self, repo: str, data: bytes) -> str:
        """Upload `data` unless present: HEAD, then POST to start and one monolithic PUT. Returns its digest."""
        digest = manifest.sha256_digest(data)
        if self.request("HEAD", f"/v2/{repo}/blobs/{digest}").status_code == 200:
            return digest
        start = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        if start.status_code != 202:
            raise RuntimeError(f"starting a blob upload: {start.status_code} {start.text}")
        location = urljoin(start.url, start.headers["Location"])
        location += ("&" if "?" in location else "?") + "digest=" + digest
        done = self.request("PUT", location, data=data, headers={"Content-Type": "application/octet-stream"})
        if done.status_code != 201:
            raise RuntimeError(f"finishing a blob upload: {done.status_code} {done.text}")
        return digest

    def put_manifest(self, repo: str, reference: str, body: bytes,
                     media_type: str = mediatypes.MANIFEST) -> str:
        """PUT a manifest; returns the digest the registry reports (checked against the bytes)."""
        response = self.request("PUT", f"/v2/{repo}/manifests/{reference}", data=body,
                                headers={"Content-Type": media_type})
        if response.status_code != 201:
            raise RuntimeError(f"pushing a manifest: {response.status_code} {response.text}")
        digest = manifest.sha256_digest(body)
        reported = response.headers.get("Docker-Content-Digest")
        if reported and reported != digest:
            raise RuntimeError(f"the registry stored the manifest as {reported}, not {digest}")
        return digest

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def get_manifest(self, repo: str, reference: str, accept: str = ACCEPT) -> requests.Response:
        """GET a manifest. The registry answers 404 for an OCI manifest unless `Accept` names its type."""
        return self.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": accept})


def push_raw_bumblebee_artifact(base_url: str, repo: str, tag: str, elf_bytes: bytes,
                                auth: tuple[str, str] | None = None, verify: str | bool = True, *,
                                description: str | None = None, authors: str | None = None) -> str:
    """Push `elf_bytes` as Bumblebee does: the `{}` config, the program layer, then its manifest
    (served as an OCI image manifest, body without `mediaType`). Returns the manifest digest."""
    client = RawClient(base_url, auth, verify)
    client.upload_blob(repo, mediatypes.CONFIG_BYTES)
    client.upload_blob(repo, elf_bytes)
    body = manifest.program_manifest(elf_bytes, description=description, authors=authors)
    return client.put_manifest(repo, tag, body)
