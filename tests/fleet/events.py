"""Real events for the fleet's programs (tests/data/src/fleet_*.c), by processes named `fleet-<tag>-<kind>`.

The programs count only processes whose command name starts with `fleet-`, keyed by that name, so
each caller's events have series of their own. Every runner sees the same kernel, so each counts
every event once.

- `execs(n)`: execs a copy of /bin/true named `fleet-<tag>-x`, n times.
- `opens(n)`: a child renames itself `fleet-<tag>-o` (through /proc/self/comm, whose own open is made
  under its old name) and then calls openat(2) exactly n times.
- `connects(n)`: a child renamed `fleet-<tag>-c` connects n times over TCP to a socket listening on
  127.0.0.1 (no name lookup, so no other syscalls under that name matter); returns the port.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

# The children rename themselves, then do exactly what is counted and leave without interpreter shutdown.
OPENS = """
import os, sys
with open("/proc/self/comm", "w") as comm:
    comm.write(sys.argv[1])
for _ in range(int(sys.argv[2])):
    os.close(os.open(sys.argv[3], os.O_RDONLY))
os._exit(0)
"""

CONNECTS = """
import os, socket, sys
with open("/proc/self/comm", "w") as comm:
    comm.write(sys.argv[1])
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("127.0.0.1", int(sys.argv[3])))
    s.close()
os._exit(0)
"""


class FleetEvents:
    """Causes counted events under names carrying `tag` (at most 6 characters); files go to `workdir`."""

    def __init__(self, tag: str, workdir: Path) -> None:
        if len(tag) > 6:
            raise ValueError(f"tag {tag!r} is longer than 6 characters (command names hold 15)")
        self.tag = tag
        self.workdir = workdir

    def comm(self, kind: str) -> str:
        """The command name of the events of `kind` (x: execs, o: opens, c: connects)."""
        return f"fleet-{self.tag}-{kind}"

    def execs(self, n: int) -> None:
        binary = self.workdir / self.comm("x")
        if not binary.exists():
            self.workdir.mkdir(parents=True, exist_ok=True)
            shutil.copy("/bin/true", binary)
        for _ in range(n):
            subprocess.run([str(binary)], check=True)

    def opens(self, n: int) -> None:
        target = self.workdir / "opened"
        self.workdir.mkdir(parents=True, exist_ok=True)
        target.touch()
        subprocess.run([sys.executable, "-c", OPENS, self.comm("o"), str(n), str(target)], check=True)

    def connects(self, n: int) -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(n + 8)  # the kernel completes the handshakes; nothing needs to accept them
            port = int(listener.getsockname()[1])
            subprocess.run([sys.executable, "-c", CONNECTS, self.comm("c"), str(n), str(port)], check=True)
        return port
