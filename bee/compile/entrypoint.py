"""The builder image's entrypoint: `python3 -m bee.compile.entrypoint INPUT OUTPUT`.

It runs the same `compile_bpf` as `bee build --local`, so the compile line has one source.
INPUT is relative to the mounted source directory (the working directory); OUTPUT is written
under /out. `$CFLAGS` carries extra flags, `$BEE_TARGET_ARCH` the target architecture.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bee.compile.compiler import compile_bpf
from bee.errors import BeeError


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python3 -m bee.compile.entrypoint INPUT OUTPUT", file=sys.stderr)
        return 2
    source, output = Path(argv[0]), Path(argv[1])
    try:
        compile_bpf(source, output, arch=os.environ.get("BEE_TARGET_ARCH") or None,
                    cflags=[os.environ["CFLAGS"]] if os.environ.get("CFLAGS") else ())
    except BeeError as exc:
        if exc.detail:
            print(exc.detail, file=sys.stderr)
        print(f"Error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
