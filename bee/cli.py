"""The `bee` command line: parsing only; each command calls one function elsewhere.

Subcommands are imported on first use so `bee --help` and `bee version` start fast.
`main()` turns expected failures (`BeeError`) into one line on stderr and an exit code;
`--debug` (or BEE_DEBUG=1) shows tracebacks instead.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import click

from bee import __version__
from bee.errors import BeeError
from bee.options import DEFAULT_CONFIG_DIR, DEFAULT_STORAGE, GlobalOptions

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
    "push": ("bee.commands.registry:push_command", "Upload a stored program to a registry."),
    "pull": ("bee.commands.registry:pull_command", "Download a program from a registry."),
    "login": ("bee.commands.registry:login_command", "Log in to a registry."),
    "completion": ("bee.commands.completion:completion_command", "Print a shell completion script."),
    "version": ("bee.commands.version:version_command", "Print bee's version."),
}


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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in _COMMANDS.items()])


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="bee", message="%(prog)s %(version)s")
@click.option("-v", "--verbose", is_flag=True, help="Say more about what bee is doing.")
@click.option("--debug", is_flag=True, envvar="BEE_DEBUG", help="Show tracebacks for errors.")
@click.option("--storage", type=click.Path(path_type=Path), default=str(DEFAULT_STORAGE),
              show_default=True, envvar="BEE_STORAGE", help="Local OCI store directory.")
@click.option("--config-dir", type=click.Path(path_type=Path), default=str(DEFAULT_CONFIG_DIR),
              show_default=True, help="Directory for bee's configuration (credentials).")
@click.option("-c", "--config", "auth_configs", multiple=True, type=click.Path(path_type=Path),
              help="Registry auth config file (docker config.json format); repeatable.")
@click.option("-u", "--username", help="Registry username.")
@click.option("-p", "--password", help="Registry password.")
@click.option("--insecure", is_flag=True, help="Allow registries with TLS certificates that do not verify.")
@click.option("--plain-http", is_flag=True, help="Talk to registries over plain HTTP.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, debug: bool, storage: Path, config_dir: Path,
        auth_configs: tuple[Path, ...], username: str | None, password: str | None,
        insecure: bool, plain_http: bool) -> None:
    """Build, ship and run eBPF programs as OCI images.

    \b
    bee init                      scaffold a C program
    bee build probe.c probe:v1    compile it into the local store
    bee list                      show what the store holds
    bee describe probe:v1         programs, hooks and maps of a program
    """
    ctx.obj = GlobalOptions(
        storage=storage.expanduser(), config_dir=config_dir.expanduser(),
        auth_configs=tuple(p.expanduser() for p in auth_configs), username=username,
        password=password, insecure=insecure, plain_http=plain_http, verbose=verbose, debug=debug,
    )


def _wants_debug(argv: list[str]) -> bool:
    run_debug = "run" in argv and "-d" in argv[argv.index("run"):]
    return "--debug" in argv or run_debug or os.environ.get("BEE_DEBUG", "") not in ("", "0", "false")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit: 0 on success, the error's exit code on an expected failure."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _wants_debug(args)
    try:
        result = cli.main(args=args, prog_name="bee", standalone_mode=False)
    except BeeError as exc:
        if debug:
            raise
        if exc.detail:
            click.echo(exc.detail, err=True)
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # stdout closed by the reader (`bee list | head`): not an error worth reporting.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:  # a bug: one line, the traceback only with --debug
        if debug:
            raise
        click.echo(f"Error: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
                   err=True)
        sys.exit(70)
    # standalone_mode=False hands back the code of `ctx.exit()` (e.g. after --help).
    sys.exit(result if isinstance(result, int) else 0)
