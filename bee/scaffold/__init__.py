"""`bee init`: render a C eBPF program skeleton from the shipped templates and write it.

Every combination of language, program type, map type and output type renders a program
that compiles with the `bee build` command line. Nothing here prompts: the command asks
for missing values, then calls `render_program` and `write_program`.

Imports jinja2, `bee` (where the templates are) and `bee.errors`; only `bee.commands` imports this package.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bee
from bee.errors import ScaffoldError, UsageError
from bee.extras import reraise_missing
from bee.inputs import expand_user

try:
    import jinja2
except ModuleNotFoundError as exc:  # jinja2 comes with bee[build]
    reraise_missing(exc, "jinja2", "bee init")

__all__ = [
    "LANGUAGES",
    "MAP_TYPES",
    "OUTPUTS_OF",
    "OUTPUT_TYPES",
    "PROGRAM_TYPES",
    "PROMPT_MAP_TYPES",
    "ScaffoldChoice",
    "check_pairing",
    "normalize_choice",
    "preset_choices",
    "render_program",
    "templates_dir",
    "write_program",
]

LANGUAGES = ("C",)
PROGRAM_TYPES = ("Network", "FileSystem")
MAP_TYPES = ("RingBuffer", "HashMap")
#: Map types in the order bumblebee offers them when it prompts.
PROMPT_MAP_TYPES = ("HashMap", "RingBuffer")
OUTPUT_TYPES = ("print", "counter", "gauge")
#: The outputs `bee run` makes from each map type a skeleton can have (bee.elf.maps.SUPPORTED_OUTPUTS): a ring
#: buffer's events are printed or counted; a gauge follows a value, which only a hash map holds.
OUTPUTS_OF = {"RingBuffer": ("print", "counter"), "HashMap": OUTPUT_TYPES}

_HOOK_TEMPLATES = {"Network": "c/hooks/network.c.j2", "FileSystem": "c/hooks/filesystem.c.j2"}
_MAP_TEMPLATES = {"RingBuffer": "c/maps/ringbuf.c.j2", "HashMap": "c/maps/hash.c.j2"}
_PROGRAM_TEMPLATES = {"C": "c/program.c.j2"}
# What bumblebee picks without asking when the flags leave these unset.
_PRESETS = {"FileSystem": {"map_type": "RingBuffer", "output_type": "print"}}

_NAMES = {
    LANGUAGES: "language",
    PROGRAM_TYPES: "program type",
    MAP_TYPES: "map type",
    PROMPT_MAP_TYPES: "map type",
    OUTPUT_TYPES: "output type",
}


@dataclass(frozen=True, slots=True)
class ScaffoldChoice:
    """What to scaffold; each field is one of LANGUAGES, PROGRAM_TYPES, MAP_TYPES, OUTPUT_TYPES.
    `filter_pid` adds a parameter, `const volatile u32 target_pid`, that keeps one process's events."""

    language: str
    program_type: str
    map_type: str
    output_type: str
    filter_pid: bool = False


def _fold(value: str) -> str:
    return "".join(ch for ch in value.casefold() if ch not in "-_ .")


def normalize_choice(value: str, choices: Sequence[str], what: str) -> str:
    """Return the spelling in `choices` that `value` names, ignoring case and `-`, `_`, spaces.

    Raises UsageError naming `what` (e.g. "program type") and the valid choices.
    """
    folded = _fold(value)
    for choice in choices:
        if folded and _fold(choice) == folded:
            return choice
    raise UsageError(f"{value!r} is not a valid {what}; choose one of: {', '.join(choices)}")


def check_pairing(map_type: str, output_type: str) -> None:
    """UsageError, with the reason and what would work, when `bee run` cannot make `output_type` from a map
    of `map_type` (both already normalized): such a skeleton would build and then be refused."""
    if output_type not in OUTPUTS_OF[map_type]:
        others = [m for m, outputs in OUTPUTS_OF.items() if output_type in outputs]
        raise UsageError(f"a {map_type} map cannot give {output_type} output (a ring buffer's events are printed "
                         f"or counted; a {output_type} follows a value a map holds): choose "
                         f"{' or '.join(OUTPUTS_OF[map_type])} output, or a {' or '.join(others)} map")


def preset_choices(program_type: str) -> dict[str, str]:
    """Values a program type implies when the user gave none (keys: map_type, output_type).

    FileSystem implies RingBuffer and print, without prompting, as bumblebee does; Network
    implies nothing. Raises UsageError for an unknown program type.
    """
    return dict(_PRESETS.get(normalize_choice(program_type, PROGRAM_TYPES, "program type"), {}))


def templates_dir() -> Path:
    """The directory holding the templates: `bee/_templates` when installed from a wheel,
    else `templates/` at the root of a source checkout. Raises ScaffoldError if neither exists."""
    package = Path(bee.__file__).resolve().parent
    for candidate in (package / "_templates", package.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise ScaffoldError(f"the program templates are missing (looked in {package / '_templates'})")


@lru_cache(maxsize=1)
def _environment(directory: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_program(choice: ScaffoldChoice) -> str:
    """Render the program source for `choice`; its fields may be spelled loosely (see
    `normalize_choice`). The map is named `<output type>_events` in `SEC(".maps")`; with
    `filter_pid`, a `target_pid` parameter keeps the events of one process.

    Raises UsageError for a value outside the choices, or a map type and output `bee run` cannot pair.
    """
    language = normalize_choice(choice.language, LANGUAGES, "language")
    program_type = normalize_choice(choice.program_type, PROGRAM_TYPES, "program type")
    map_type = normalize_choice(choice.map_type, MAP_TYPES, "map type")
    output_type = normalize_choice(choice.output_type, OUTPUT_TYPES, "output type")
    check_pairing(map_type, output_type)
    template = _environment(templates_dir()).get_template(_PROGRAM_TEMPLATES[language])
    return template.render(
        language=language,
        program_type=program_type,
        map_type=map_type,
        output_type=output_type,
        map_name=f"{output_type}_events",
        hook_template=_HOOK_TEMPLATES[program_type],
        map_template=_MAP_TEMPLATES[map_type],
        filter_pid=choice.filter_pid,
    )


def write_program(path: Path, text: str, *, force: bool = False) -> Path:
    """Write `text` to `path` atomically (a temporary file in the same directory, then
    `os.replace`), creating missing parent directories, and return the absolute path.

    Raises ScaffoldError if the file exists and `force` is false, or if the file or its
    directory cannot be written.
    """
    target = Path(os.path.abspath(expand_user(path)))
    if target.is_dir():
        raise ScaffoldError(f"{target} is a directory; give the path of a file to write")
    if target.exists() and not force:
        raise ScaffoldError(f"{target} already exists; use --force to overwrite it")
    tmp_name: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(text)
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, target)
        tmp_name = None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ScaffoldError(f"cannot write {target}: {reason}") from exc
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
