"""Settings shared by every command (bumblebee's global flags), built once by the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG_DIR = Path("~/.bumblebee")
DEFAULT_STORAGE = DEFAULT_CONFIG_DIR / "store"


@dataclass(frozen=True, kw_only=True)
class GlobalOptions:
    """Bumblebee's global flags, plus `debug` (tracebacks instead of one-line errors)."""

    storage: Path = field(default_factory=lambda: DEFAULT_STORAGE.expanduser())
    config_dir: Path = field(default_factory=lambda: DEFAULT_CONFIG_DIR.expanduser())
    auth_configs: tuple[Path, ...] = ()
    username: str | None = None
    password: str | None = None
    insecure: bool = False
    plain_http: bool = False
    verbose: bool = False
    debug: bool = False
