"""`bee describe REF|FILE`."""

from __future__ import annotations

import json

import click

from bee.commands._shared import complete_program, echo_table
from bee.describe import Description, FieldInfo, ParamInfo, describe
from bee.oci.layouts.converted import SOURCE_DIGEST, SOURCE_FORMAT, SOURCE_METADATA
from bee.options import GlobalOptions


def _render_fields(title: str, type_name: str | None, fields: list[FieldInfo]) -> None:
    if type_name is None:
        return
    click.echo(f"    {title}: {type_name}")
    rows = []
    for f in fields:
        where = f"{f.offset}" + (f":{f.bits}b" if f.bits else "")
        rows.append([f"      {f.name}", f.type, f"@{where}", f"{f.size}B"])
    if rows:
        echo_table(["      field", "type", "offset", "size"], rows)


def _default(p: ParamInfo) -> str:
    if not p.settable:
        return f"{p.default} (bee cannot set this type)"
    return json.dumps(p.default, ensure_ascii=False) if p.text else p.default


def _render_parameters(d: Description) -> None:
    click.echo("")
    click.echo("Parameters (bee run --param NAME=VALUE):")
    if not d.parameters:
        click.echo("  (none)")
    else:
        echo_table(["  Name", "Type", "Size", "Default"],
                   [[f"  {p.name}", p.type, f"{p.size}B", _default(p)] for p in d.parameters])
    if d.mutable_globals:
        click.echo(f"  mutable globals (not parameters): {', '.join(d.mutable_globals)}")


def render(description: Description) -> None:
    """Print a Description as text."""
    d = description
    click.echo(f"Name:         {d.source}")
    if d.digest:
        click.echo(f"Digest:       {d.digest}")
    if d.platforms:
        click.echo(f"Platforms:    {', '.join(d.platforms)} (an image index; described below: this machine's)")
    if d.platform:
        p = d.platform
        shown = " ".join(v for v in (p.get("os"), p.get("os.version"), p.get("architecture")) if v)
        click.echo(f"Platform:     {shown}")
    for key, label in (("org.opencontainers.image.description", "Description"),
                       ("org.opencontainers.image.authors", "Authors")):
        if key in d.annotations:
            click.echo(f"{label + ':':<13} {d.annotations[key]}")
    if SOURCE_FORMAT in d.annotations:  # read from another layout (bee.oci.layouts)
        source = f"{d.annotations[SOURCE_FORMAT]} image {d.annotations.get(SOURCE_DIGEST, '')}"
        click.echo(f"Source:       {source}".rstrip())
        metadata = json.loads(d.annotations.get(SOURCE_METADATA) or "{}")
        for key, value in metadata.items():
            shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            click.echo(f"  {key}: {shown}")
    click.echo(f"Size:         {d.size} bytes")
    click.echo(f"License:      {d.license or '(none)'}")
    if d.signature_problem:
        click.echo(f"Signatures:   unreadable: {d.signature_problem}")
    elif d.signatures is not None:
        count = f"{d.signatures} in the local store" if d.signatures else "none in the local store"
        check = f" (bee verify {d.source} --local --key KEY checks them)" if d.signatures else ""
        click.echo(f"Signatures:   {count}{check}")
    if not d.has_btf:
        click.echo("BTF:          none (maps and fields cannot be described)")
    if d.cannot_run:
        click.echo(f"Runs here:    no: {d.cannot_run}")
    click.echo("")
    click.echo("Programs:")
    echo_table(["  Name", "Section", "Kind", "Hook"],
               [[f"  {p.name or '?'}", p.section, p.kind or "?", p.hook or "-"] for p in d.programs])
    click.echo("")
    click.echo("Maps:")
    if not d.maps:
        click.echo("  (none)")
    for m in d.maps:
        output = m.output if m.tracked else (f"{m.output}, not exported" if m.output else "not exported")
        click.echo(f"  {m.name}  ({m.type}, {output}, max_entries {m.max_entries})")
        if m.help or m.unit:
            click.echo(f"    help: {' '.join(p for p in (m.help, f'(unit: {m.unit})' if m.unit else None) if p)}")
        if m.note:
            click.echo(f"    note: {m.note}")
        if m.exported:
            click.echo(f"    exported: {m.exported}")
        if m.histogram:
            click.echo(f"    histogram: {m.histogram}")
        _render_fields("key", m.key_type, m.key_fields)
        _render_fields("value", m.value_type, m.value_fields)
    _render_parameters(d)


@click.command("describe")
@click.argument("program", shell_complete=complete_program)
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
@click.pass_obj
def describe_command(options: GlobalOptions, program: str, as_json: bool) -> None:
    """Show the programs, hooks, maps and parameters of PROGRAM (a file path, or a reference in the local store).

    Parses the object's ELF and BTF; needs neither root nor the kernel, and never pulls: a reference
    is read from the local store only (bee pull first).
    """
    description = describe(options.storage, program)
    if as_json:
        click.echo(json.dumps(description.to_json(), indent=2))
    else:
        render(description)
