"""bee's optional parts (pip extras), and the one sentence a command says when one is missing.

The base install is what the runner needs (`bee run`, the store and registry commands);
`bee[build]` adds `bee init`, container builds and `bee package`; `bee[tui]` adds the
interactive view of `bee run` (and push/pull progress bars); `bee[all]` is both. The places
that import an optional package call `require` first (a presence check that imports nothing),
or turn the import's own `ModuleNotFoundError` into `MissingExtraError` with `reraise_missing`.
"""

from __future__ import annotations

import importlib.util
from typing import NoReturn

from bee.errors import MissingExtraError

#: The packages of each extra that bee imports, by the extra's name.
EXTRAS = {"build": ("docker", "jinja2"), "tui": ("textual", "rich"), "web": ("bcrypt",)}


def missing_extra(package: str, doing: str, *, instead: str = "") -> MissingExtraError:
    """The error for `doing` (e.g. "bee init") needing `package`, which is not installed."""
    extra = next(name for name, packages in EXTRAS.items() if package in packages)
    alternative = f", or {instead}" if instead else ""
    return MissingExtraError(f"{doing} needs the Python package {package} from bee's {extra} extra, which is not "
                             f"installed: pip install 'bee[{extra}]'{alternative}")


def require(package: str, doing: str, *, instead: str = "") -> None:
    """Raise `MissingExtraError` unless `package` (one of `EXTRAS`) can be imported; imports nothing."""
    if importlib.util.find_spec(package) is None:
        raise missing_extra(package, doing, instead=instead)


def reraise_missing(exc: ModuleNotFoundError, package: str, doing: str, *, instead: str = "") -> NoReturn:
    """Raise `MissingExtraError` when `exc` says `package` itself is missing; otherwise re-raise `exc`
    (a broken install of the package, which is a bug to show as such)."""
    if (exc.name or "").partition(".")[0] == package:
        raise missing_extra(package, doing, instead=instead) from None
    raise exc
