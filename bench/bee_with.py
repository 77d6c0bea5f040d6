#!/usr/bin/env python3
"""Run bee with some of its modules replaced by other files, to compare two versions side by side.

    .venv/bin/python bench/bee_with.py bee.sinks.eventlog=/tmp/eventlog_before.py -- run REF ...

For bench.py: --also-bee "before=.venv/bin/python bench/bee_with.py bee.sinks.eventlog=FILE --"
(e.g. FILE from `git show REV:bee/sinks/eventlog.py > FILE`, a revision whose modules fit this
checkout's). Every module is loaded from its file under its own name before bee imports it; the rest
of bee is this checkout's.
"""

from __future__ import annotations

import importlib.util
import sys


def main() -> None:
    args = sys.argv[1:]
    split = args.index("--") if "--" in args else len(args)
    for spec_text in args[:split]:
        name, _, path = spec_text.partition("=")
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None or not path:
            sys.exit(f"bee_with: cannot load {spec_text!r} (expected MODULE=FILE)")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    from bee.cli import main as bee_main

    bee_main(args[split + 1:])


if __name__ == "__main__":
    main()
