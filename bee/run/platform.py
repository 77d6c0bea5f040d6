"""Refuse, before anything is loaded, a stored program built for another architecture than this machine's.

The architecture its store entry records is the only trace of it: every BPF object is EM_BPF, and a
kprobe's `PT_REGS_*` of another architecture reads the wrong registers, which libbpf loads without a
word. (The object's byte order is checked with its spec: bee.elf.spec.host_problem.) Raises
PlatformError with one sentence.
"""

from __future__ import annotations

import os

from bee.errors import PlatformError
from bee.oci.index import goarch

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from bee.oci.store import StoreEntry


def check_architecture(entry: StoreEntry) -> None:
    """PlatformError when the stored program's recorded architecture is not this machine's (none recorded,
    or a name bee does not know: no check)."""
    platform = entry.platform
    if platform is None or not platform.architecture:
        return
    recorded, host = goarch(platform.architecture), goarch(os.uname().machine)
    if recorded != host:
        raise PlatformError(f"{entry.ref} was built for linux/{recorded}; this machine is linux/{host}: build it "
                            f"for both (bee build --platform linux/{recorded},linux/{host}) or pull the "
                            f"linux/{host} one")
