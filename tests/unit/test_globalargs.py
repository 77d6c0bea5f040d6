"""Global options typed after the subcommand (`bee push --plain-http REF`) mean what they mean before it."""

from __future__ import annotations

import pytest

from bee.commands.globalargs import hoist, subcommand_index
from bee.commands.group import cli, own_flags

BUILD = own_flags(cli.get_command(None, "build"))  # type: ignore[arg-type]
RUN = own_flags(cli.get_command(None, "run"))  # type: ignore[arg-type]


@pytest.mark.parametrize(("argv", "own", "expected"), [
    (["push", "--plain-http", "r:v1"], {}, ["--plain-http", "push", "r:v1"]),
    (["build", "x.c", "r:v1", "--storage", "/s", "--local"], BUILD, ["--storage", "/s", "build", "x.c", "r:v1",
                                                                     "--local"]),
    (["build", "x.c", "--storage=/s"], BUILD, ["--storage=/s", "build", "x.c"]),
    (["-v", "pull", "r:v1", "-u", "me", "-p", "pw", "--timeout", "9"], {},
     ["-v", "-u", "me", "-p", "pw", "--timeout", "9", "pull", "r:v1"]),
    # an option's value is never taken for an option, and the subcommand's own spellings stay its own
    (["build", "x.c", "--cflags", "--debug"], BUILD, ["build", "x.c", "--cflags", "--debug"]),
    (["run", "p", "--debug", "-d"], RUN, ["run", "p", "--debug", "-d"]),
    (["run", "p", "-c", "a.json"], RUN, ["run", "p", "-c", "a.json"]) if "-c" in RUN else
    (["run", "p", "-c", "a.json"], RUN, ["-c", "a.json", "run", "p"]),
    # nothing after `--`; nothing when there is no subcommand
    (["run", "p", "--", "--plain-http"], RUN, ["run", "p", "--", "--plain-http"]),
    (["--help"], {}, ["--help"]), (["--storage", "/s"], {}, ["--storage", "/s"]),
], ids=lambda value: " ".join(value) if isinstance(value, list) else "")
def test_hoist(argv: list[str], own: dict[str, bool], expected: list[str]) -> None:
    assert hoist(argv, own) == expected


def test_the_subcommand_is_found_after_global_options_and_their_values() -> None:
    assert subcommand_index(["--storage", "/s", "-v", "build", "x.c"]) == 3
    assert subcommand_index(["--timeout=5", "list"]) == 1
    assert subcommand_index(["--nope", "list"]) is None  # click says what is wrong
    assert subcommand_index(["--", "list"]) is None
