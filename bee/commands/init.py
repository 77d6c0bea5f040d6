"""`bee init`: scaffold a C program; prompts for what the flags do not say."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from bee import scaffold
from bee.errors import BeeError, UsageError


def _ask(question: str, choices: Sequence[str], what: str, default: str | None = None) -> str:
    """Prompt for one of `choices`, spelled loosely (`file-system`); re-asks on a wrong answer.

    With no terminal on stdin, a question with one possible answer (the language) is not asked.
    When stdin ends before an answer, take `default`, or raise UsageError naming the flag to pass.
    """
    if len(choices) == 1 and not sys.stdin.isatty():
        return choices[0]

    def convert(answer: str) -> str:
        try:
            return scaffold.normalize_choice(answer, choices, what)
        except BeeError as exc:
            raise click.UsageError(exc.message) from None

    try:
        answer: str = click.prompt(f"{question} ({', '.join(choices)})", default=default,
                                   value_proc=convert, err=True)
    except click.exceptions.Abort:
        click.echo(err=True)  # end the unanswered prompt's line
        if default is not None:
            return default
        raise UsageError(f"no {what} was given; pass it as a flag to run without prompts") from None
    return answer


def _given_or_asked(value: str | None, choices: Sequence[str], what: str, question: str,
                    default: str | None = None) -> str:
    if value is not None:
        return scaffold.normalize_choice(value, choices, what)
    return _ask(question, choices, what, default)


@click.command("init", short_help="Scaffold a BPF program in C.")
@click.option("-l", "--language", help="Language of the program (C).")
@click.option("--program-type", help="Network or FileSystem.")
@click.option("-m", "--map", "map_type", help="RingBuffer or HashMap.")
@click.option("-o", "--output-type", help="print, counter or gauge (gauge: HashMap only).")
@click.option("-f", "--file", "file_path", type=click.Path(path_type=Path, dir_okay=False),
              help="File to write [default: bee.c].")
@click.option("--filter-pid", is_flag=True,
              help="Add a parameter, target_pid, that keeps one process's events (bee run --param target_pid=PID).")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
def init_command(language: str | None, program_type: str | None, map_type: str | None,
                 output_type: str | None, file_path: Path | None, filter_pid: bool, force: bool) -> None:
    """Scaffold a BPF program in C, asking for what the flags do not say.

    \b
    bee init --program-type Network --map HashMap --output-type counter -f probe.c
    bee init --program-type file-system -f /tmp/p/probe.c
    bee init --program-type file-system --filter-pid -f probe.c
      (then: bee run ... --param target_pid=PID)
    """
    language = _given_or_asked(language, scaffold.LANGUAGES, "language",
                               "What language do you wish to use for the filter", default="C")
    program_type = _given_or_asked(program_type, scaffold.PROGRAM_TYPES, "program type",
                                   "What type of program to initialize")
    preset = scaffold.preset_choices(program_type)
    if map_type is None and output_type is None and not sys.stdin.isatty():
        # FileSystem without a terminal: bumblebee's program, no prompts; on a terminal its choices are the defaults
        map_type, output_type = preset.get("map_type"), preset.get("output_type")
    map_type = _given_or_asked(map_type, scaffold.PROMPT_MAP_TYPES, "map type",
                               "What type of map should we initialize", default=preset.get("map_type"))
    if output_type is not None:
        output_type = scaffold.normalize_choice(output_type, scaffold.OUTPUT_TYPES, "output type")
        scaffold.check_pairing(map_type, output_type)  # refused here, not after a build, by bee run
    output_type = _given_or_asked(output_type, scaffold.OUTPUTS_OF[map_type], "output type",
                                  "What type of output would you like from your map",
                                  default=preset.get("output_type"))
    if file_path is None:
        try:
            file_path = Path(click.prompt("BPF Program File Location", default="bee.c", err=True))
        except click.exceptions.Abort:
            file_path = Path("bee.c")
    choice = scaffold.ScaffoldChoice(language=language, program_type=program_type,
                                     map_type=map_type, output_type=output_type, filter_pid=filter_pid)
    written = scaffold.write_program(file_path, scaffold.render_program(choice), force=force)
    with_param = " and a target_pid parameter" if filter_pid else ""
    click.echo(f"Wrote a {program_type} program with a {map_type} {output_type} map{with_param} to {written}",
               err=True)
