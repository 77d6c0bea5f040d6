"""Settings shared by every command (bumblebee's global flags), built once by the CLI."""

from __future__ import annotations

from pathlib import Path

from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import ClassVar

DEFAULT_CONFIG_DIR = Path("~/.bumblebee")
DEFAULT_STORAGE = DEFAULT_CONFIG_DIR / "store"
#: Seconds a registry operation may take (plus its blobs' time) and a registry may stay silent (`--timeout`).
DEFAULT_REGISTRY_TIMEOUT = 60.0


class GlobalOptions(Record):
    """Bumblebee's global flags, plus `debug` (tracebacks instead of one-line errors).

    Keyword arguments only; `storage` and `config_dir` default to the locations under the home
    directory of the moment of the call.
    """

    storage: Path
    config_dir: Path
    auth_configs: tuple[Path, ...]
    username: str | None
    password: str | None
    insecure: bool
    plain_http: bool
    verbose: bool
    debug: bool
    timeout: float

    _hidden: ClassVar[tuple[str, ...]] = ("password",)

    def __init__(self, *, storage: Path | None = None, config_dir: Path | None = None,
                 auth_configs: tuple[Path, ...] = (), username: str | None = None, password: str | None = None,
                 insecure: bool = False, plain_http: bool = False, verbose: bool = False,
                 debug: bool = False, timeout: float = DEFAULT_REGISTRY_TIMEOUT) -> None:
        super().__init__(storage if storage is not None else DEFAULT_STORAGE.expanduser(),
                         config_dir if config_dir is not None else DEFAULT_CONFIG_DIR.expanduser(),
                         auth_configs, username, password, insecure, plain_http, verbose, debug, timeout)
