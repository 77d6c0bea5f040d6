"""Global options after the subcommand: `bee push --plain-http REF` means `bee --plain-http push REF`.

Bumblebee's users type bee's global options anywhere. `hoist(argv, own)` moves every global option
(`bee.commands.params.GLOBAL_OPTIONS`, with its value) that follows the subcommand to just before it,
unless the subcommand has an option of that spelling itself (`bee run --debug` stays `bee run`'s). `own`
maps each option spelling of the subcommand (and of its own subcommands) to whether it takes a value, so
a value is never taken for an option. Nothing after `--` moves. Pure, and imports no click: `bee run`'s
fast path uses it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bee.commands.params import FLAG, GLOBAL_OPTIONS

#: Every global option spelling → whether it takes a value.
GLOBAL_FLAGS: dict[str, bool] = {flag: opt.kind != FLAG for opt in GLOBAL_OPTIONS for flag in opt.flags}


def subcommand_index(argv: Sequence[str]) -> int | None:
    """Where the subcommand's name is: the first token that is neither a global option nor its value."""
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--" or not token.startswith("-") or token == "-":
            return index if token != "--" else None
        name = token.split("=", 1)[0]
        if name not in GLOBAL_FLAGS:
            return None  # --help, --version, or an unknown option: click says what it says
        index += 2 if GLOBAL_FLAGS[name] and "=" not in token else 1
    return None


def hoist(argv: Sequence[str], own: Mapping[str, bool]) -> list[str]:
    """`argv` with the global options given after the subcommand moved before it (see the module's doc)."""
    at = subcommand_index(argv)
    if at is None:
        return list(argv)
    before, name, after = list(argv[:at]), argv[at], list(argv[at + 1:])
    moved: list[str] = []
    kept: list[str] = []
    index = 0
    while index < len(after):
        token = after[index]
        if token == "--":
            kept += after[index:]
            break
        flag = token.split("=", 1)[0] if token.startswith("--") else token
        if flag in own:  # the subcommand's own option (and its value)
            takes = own[flag] and "=" not in token
            kept += after[index:index + (2 if takes else 1)]
            index += 2 if takes else 1
        elif flag in GLOBAL_FLAGS and token.startswith("-"):
            takes = GLOBAL_FLAGS[flag] and "=" not in token
            moved += after[index:index + (2 if takes else 1)]
            index += 2 if takes else 1
        else:
            kept.append(token)
            index += 1
    return [*before, *moved, name, *kept]
