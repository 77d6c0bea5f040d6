"""Media types, annotation keys and blob titles of Bumblebee's OCI artifacts.

These strings are the wire contract with Bumblebee and with registries: a program
stored or pushed by either tool must be found by the other. Never change them.
"""

from __future__ import annotations

# OCI image-spec media types.
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"

# Bumblebee's own media types.
CONFIG = "application/ebpf.oci.image.config.v1+json"
PROGRAM = "application/ebpf.oci.image.program.v1+binary"

# Annotation keys (OCI image-spec "annotations.md").
TITLE = "org.opencontainers.image.title"
REF_NAME = "org.opencontainers.image.ref.name"
DESCRIPTION = "org.opencontainers.image.description"
AUTHORS = "org.opencontainers.image.authors"

# Titles Bumblebee gives the two blobs, and looks them up by.
CONFIG_TITLE = "config.json"
PROGRAM_TITLE = "program.o"

# The config blob: Go's `json.Marshal(struct{}{})`.
CONFIG_BYTES = b"{}"

# Content of the `oci-layout` file of an image-layout directory.
LAYOUT_VERSION = "1.0.0"
