"""Kubernetes objects checked against the OpenAPI schemas of several Kubernetes versions (kubernetes-validate).

Schema validation proves the objects are well-formed for those API versions: field names, types, enums,
required fields. It cannot prove scheduling, admission (Pod Security, policies), that the capabilities
suffice on a real node, or that the image and programs can be pulled.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate

#: The oldest and the newest Kubernetes release whose schemas kubernetes-validate bundles here, and one between.
VERSIONS = ("1.28.0", "1.32.0", "1.37.0")

#: Kinds whose schema is not Kubernetes' own (CRDs): checked by shape in the tests that use them.
CUSTOM_KINDS = {"PodMonitor"}


def validate_all(documents: list[dict[str, Any]]) -> list[str]:
    """Validate every document but CUSTOM_KINDS against every version in strict mode (unknown fields are
    errors); returns the kinds validated. Raises kubernetes_validate.ValidationError naming the problem."""
    kinds = []
    for document in documents:
        if document["kind"] in CUSTOM_KINDS:
            continue
        for version in VERSIONS:
            kubernetes_validate.validate(document, version, strict=True)
        kinds.append(document["kind"])
    return kinds
