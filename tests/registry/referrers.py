"""The OCI 1.1 referrers API in front of a registry that has none (Debian's docker-registry, distribution
2.8, answers 404 there): what bee's referrers path needs to be exercised for real on this machine.

`ReferrersProxy` forwards everything to the registry, remembers each manifest PUT through it whose
body names a `subject`, and answers `GET /v2/<name>/referrers/<digest>` with the image index of those
referrers (filtered by `?artifactType=`), as the distribution spec describes. With `fail` set, that
GET answers `fail` (a status) instead, as a broken registry would.
"""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import parse_qs, urlsplit

from tests.registry.proxy import TamperingProxy

MANIFEST_PUT = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
REFERRERS = re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<digest>sha256:[0-9a-f]{64})$")
INDEX = "application/vnd.oci.image.index.v1+json"


class ReferrersProxy(TamperingProxy):
    """A registry with the referrers API (module docstring); `fail`: the status its referrers GET answers."""

    def __init__(self, upstream: str, fail: int | None = None) -> None:
        super().__init__(upstream, relative_locations=False)
        self.fail = fail
        self.referrers: dict[tuple[str, str], list[dict[str, object]]] = {}
        self.asked: list[str] = []

    def should_tamper(self, method: str, path: str, status: int) -> bool:
        return False

    def answer(self, method: str, path: str, body: bytes | None) -> tuple[int, dict[str, str], bytes] | None:
        split = urlsplit(path)
        put = MANIFEST_PUT.match(split.path) if method == "PUT" else None
        if put and body:
            document = json.loads(body)
            subject = document.get("subject")
            if isinstance(subject, dict):
                descriptor = {"mediaType": document.get("mediaType"), "size": len(body),
                              "digest": "sha256:" + hashlib.sha256(body).hexdigest()}
                if "artifactType" in document:
                    descriptor["artifactType"] = document["artifactType"]
                self.referrers.setdefault((put["name"], subject["digest"]), []).append(descriptor)
            return None
        get = REFERRERS.match(split.path) if method == "GET" else None
        if get is None:
            return None
        self.asked.append(split.path)
        if self.fail is not None:
            return self.fail, {"Content-Type": "text/plain"}, b"referrers are broken here\n"
        wanted = parse_qs(split.query).get("artifactType")
        manifests = [d for d in self.referrers.get((get["name"], get["digest"]), [])
                     if not wanted or d.get("artifactType") in wanted]
        index = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}).encode()
        return 200, {"Content-Type": INDEX}, index
