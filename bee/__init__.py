"""bee: build, ship and run eBPF programs as OCI images, compatible with Bumblebee.

Packages, each importing only those after it (import-linter contracts in pyproject.toml):
`cli` → `commands` → `run` | `build` | `scaffold` | `describe` → `options` → `tui` → `oci` →
`sinks` | `libbpf` | `decode` → `elf`; the shared modules (`errors`, `records`, `log`, `inputs`,
`sha256`) may be imported by any. Nothing imports `bee.cli`; only `bee.libbpf` imports cffi;
only `bee.commands` imports click. What `bee run` may import before its first event, and the
start-up tricks allowed there only: docs/dev/startup.md.
"""

#: The Bumblebee release whose images, stores and C conventions bee keeps (v0.0.13/14 section maps too).
BUMBLEBEE_VERSION = "v0.0.15"
__version__ = "0.1.0"
