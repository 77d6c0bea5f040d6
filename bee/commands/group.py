"""The `bee` click group: parsing only; each command calls one function elsewhere.

Subcommands are imported on first use so `bee --help` and `bee version` start fast. The entry
point is `bee.cli.main`, which turns errors into one line. Every command but `bee run` (which sets
its own up, `bee.run.start`) logs through `logging` to stderr as "bee: LEVEL: message": warnings,
with -v/--verbose bee's information too, with --debug bee's debug messages as well.
"""

from __future__ import annotations

import importlib
import logging

import click

from bee import __version__
from bee.commands._shared import click_options
from bee.commands.globalargs import hoist, subcommand_index
from bee.commands.params import GLOBAL_OPTIONS, global_options
from bee.log import FORMAT

# command name → ("module:attribute" of its click command, one-line help), in help order.
_COMMANDS = {
    "init": ("bee.commands.init:init_command", "Scaffold a BPF program in C."),
    "build": ("bee.commands.build:build_command", "Compile a BPF program into the local store."),
    "package": ("bee.commands.package:package_command", "Build a container image that runs a stored program."),
    "list": ("bee.commands.store:list_command", "List the programs in the local store."),
    "run": ("bee.commands.run:run_command", "Load, attach and export a BPF program."),
    "describe": ("bee.commands.describe:describe_command", "Show the programs, hooks and maps of a program."),
    "tag": ("bee.commands.store:tag_command", "Give a stored program another name."),
    "rm": ("bee.commands.store:rm_command", "Remove programs from the local store."),
    "store": ("bee.commands.store:store_group", "Check (and repair) the local store's blobs."),
    "push": ("bee.commands.registry:push_command", "Upload a stored program to a registry."),
    "pull": ("bee.commands.registry:pull_command", "Download a program from a registry."),
    "login": ("bee.commands.registry:login_command", "Log in to a registry."),
    "generate-key-pair": ("bee.commands.signing:generate_key_pair_command", "Write a key pair for signing programs."),
    "sign": ("bee.commands.signing:sign_command", "Sign a program in its registry or the local store."),
    "verify": ("bee.commands.signing:verify_command", "Check a program's signature with public keys."),
    "k8s": ("bee.commands.k8s:k8s_group", "Kubernetes manifests that run programs on every node."),
    "completion": ("bee.commands.completion:completion_command", "Print a shell completion script."),
    "version": ("bee.commands.version:version_command", "Print bee's version."),
}


def own_flags(command: click.Command) -> dict[str, bool]:
    """Every option spelling of `command` and of its subcommands → whether it takes a value."""
    flags: dict[str, bool] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            takes = not (param.is_flag or param.count)
            flags.update({opt: takes for opt in (*param.opts, *param.secondary_opts)})
    for sub in getattr(command, "commands", {}).values():
        flags.update(own_flags(sub))
    return flags


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when they run (help uses the table above)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        module, attr = _COMMANDS[cmd_name][0].split(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Global options are taken before or after the subcommand: those after it are moved before it
        (bee.commands.globalargs), unless the subcommand has an option of that spelling."""
        at = subcommand_index(args)
        command = self.get_command(ctx, args[at]) if at is not None else None
        return super().parse_args(ctx, hoist(args, own_flags(command)) if command is not None else args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in _COMMANDS.items()])


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="bee", message="%(prog)s %(version)s")
@click_options(GLOBAL_OPTIONS)
@click.pass_context
def cli(ctx: click.Context, **values: object) -> None:
    """Build, ship and run eBPF programs as OCI images.

    \b
    bee init                      scaffold a C program
    bee build probe.c probe:v1    compile it into the local store
    bee list                      show what the store holds
    bee describe probe:v1         programs, hooks and maps of a program
    """
    options = ctx.obj = global_options(values)
    if ctx.invoked_subcommand != "run":
        logging.basicConfig(format=FORMAT)  # other libraries' loggers: warnings and errors
        logging.getLogger("bee").setLevel(logging.DEBUG if options.debug else logging.INFO if options.verbose
                                          else logging.WARNING)


def invoke(args: list[str]) -> int:
    """Run the click command line `args`; its exit code. click's own errors (usage, abort) are shown
    here, as click shows them; `BeeError`s and other exceptions go up to `bee.cli.main`."""
    try:
        result = cli.main(args=args, prog_name="bee", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    # standalone_mode=False hands back the code of `ctx.exit()` (e.g. after --help).
    return result if isinstance(result, int) else 0
