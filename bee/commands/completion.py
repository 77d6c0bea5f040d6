"""`bee completion SHELL`: print the shell completion script."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from bee.commands.group import cli


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash:  eval "$(bee completion bash)"
           (or: bee completion bash > /etc/bash_completion.d/bee)
    zsh:   eval "$(bee completion zsh)"
    fish:  bee completion fish > ~/.config/fish/completions/bee.fish
    """
    completion_class = get_completion_class(shell)
    assert completion_class is not None  # the Choice above only admits shells click knows
    click.echo(completion_class(cli, {}, "bee", "_BEE_COMPLETE").source())
