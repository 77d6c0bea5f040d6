"""Turn a list of leaves (reads at byte offsets plus one Python expression each) into one decode function.

Every distinct read becomes one item of a `struct.Struct` format at its real offset (gaps
are `x` pad bytes), so a whole event is unpacked by one `unpack_from` call. Reads that
overlap (union members, bitfield storage) go to further formats ("layers"), each also
unpacked once. The function is generated as Python source once per type, so nothing
walks the BTF when an event is decoded.
"""

from __future__ import annotations

import re
import struct
import sys
from collections.abc import Callable, Sequence

from bee.decode.errors import DecodeError
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any


class Read(Record):
    """One value unpacked at byte `offset` with a one-item struct format `code` (`I`, `q`, `?`, `16s`)."""

    offset: int
    code: str

    @property
    def size(self) -> int:
        return struct.calcsize("<" + self.code)


class Leaf(Record):
    """One output field: `expr` is a Python expression in which `{0}`, `{1}`... stand for the reads' values;
    `kind` is the type it always gives (`int`, `bool`, `str`, `float`) or `any`."""

    name: str
    reads: tuple[Read, ...]
    expr: str
    kind: str = "any"


class Namespace:
    """The globals a generated function sees: helper objects under generated names."""

    def __init__(self, base: dict[str, Any]) -> None:
        self.values: dict[str, Any] = dict(base)
        self._names: dict[int, str] = {}

    def add(self, obj: Any) -> str:
        """A name bound to `obj` (the same name each time for the same object)."""
        name = self._names.get(id(obj))
        if name is None:
            name = self._names[id(obj)] = f"_h{len(self._names)}"
            self.values[name] = obj
        return name


def _layers(reads: Sequence[Read]) -> list[list[Read]]:
    """Reads split into groups without overlap, each sorted by offset (one group unless reads overlap)."""
    layers: list[list[Read]] = []
    ends: list[int] = []
    for read in sorted(reads, key=lambda r: (r.offset, r.size)):
        for i, end in enumerate(ends):
            if end <= read.offset:
                layers[i].append(read)
                ends[i] = read.offset + read.size
                break
        else:
            layers.append([read])
            ends.append(read.offset + read.size)
    return layers


def _format(layer: list[Read], byte_order: str) -> str:
    parts = [byte_order]
    position = 0
    for read in layer:
        if read.offset > position:
            gap = read.offset - position
            parts.append(f"{gap}x" if gap > 1 else "x")
        parts.append(read.code)
        position = read.offset + read.size
    return "".join(parts)


class Generated(Record):
    """A generated decode function, its Python `source` and the struct `formats` it unpacks (one per layer)."""

    function: Callable[[Any], Any]
    source: str
    formats: tuple[str, ...]


def generate(leaves: Sequence[Leaf], *, endian: str, what: str, size: int, namespace: Namespace,
             scalar: bool) -> Generated:
    """Generate the decode function of `leaves`.

    It returns `{leaf.name: value, ...}` in leaf order, or the single leaf's value when
    `scalar`. Data too short for the reads raises DecodeError naming `what` and `size`.
    """
    byte_order = "<" if endian == "little" else ">"
    variables: dict[Read, str] = {}
    for leaf in leaves:
        for read in leaf.reads:
            variables.setdefault(read, f"r{len(variables)}")

    lines = ["def decode(data):"]
    layers = _layers(list(variables))
    formats = tuple(_format(layer, byte_order) for layer in layers)
    if variables:
        lines.append("    try:")
        for layer, fmt in zip(layers, formats, strict=True):
            unpack = namespace.add(struct.Struct(fmt).unpack_from)
            targets = "".join(f"{variables[r]}, " for r in layer)
            lines.append(f"        {targets}= {unpack}(data)")
        lines.append("    except _struct_error:")
        lines.append("        raise _too_short(data) from None")

    exprs = [leaf.expr.format(*(variables[r] for r in leaf.reads)) for leaf in leaves]
    if scalar:
        lines.append(f"    return {exprs[0]}")
    else:
        items = ", ".join(f"{leaf.name!r}: {expr}" for leaf, expr in zip(leaves, exprs, strict=True))
        lines.append(f"    return {{{items}}}")
    source = "\n".join(lines) + "\n"

    def too_short(data: Any) -> DecodeError:
        return DecodeError(f"{what} needs {size} bytes, got {len(data)}")

    scope = dict(namespace.values, _struct_error=struct.error, _too_short=too_short)
    try:
        code = compile(source, f"<decoder for {what}>", "exec")
    except (RecursionError, MemoryError):  # an expression nested deeper than Python compiles: damaged BTF
        raise DecodeError(f"{what} nests its members too deeply to be decoded") from None
    exec(code, scope)  # noqa: S102 (source built above from BTF)
    return Generated(scope["decode"], source, formats)


Rows = Callable[[list[bytes], str, int], tuple[list[str], int]]
#: (field name, predicate of its value): an event gives a line only when every predicate is true of it
Guard = tuple[str, Callable[["Any"], bool]]


_TEMPLATE_CODE = re.compile(r"%(%|s|d|06d)")


def _split_template(template: str) -> tuple[list[str], list[str]]:
    """The literal texts and the codes (`s`, `d`, `06d`) of a `%` template: literal i comes before
    code i, and one more literal ends it. ValueError for any other `%` directive."""
    if "%" in _TEMPLATE_CODE.sub("", template):
        raise ValueError(f"unsupported % directive in line template {template!r}")
    literals, codes = [], []
    text: list[str] = []
    position = 0
    for match in _TEMPLATE_CODE.finditer(template):
        text.append(template[position:match.start()])
        position = match.end()
        if match.group(1) == "%":
            text.append("%")
        else:
            literals.append("".join(text))
            codes.append(match.group(1))
            text = []
    text.append(template[position:])
    literals.append("".join(text))
    return literals, codes


def generate_rows(leaves: Sequence[Leaf], *, endian: str, what: str, size: int, namespace: Namespace,
                  template: str, args: Sequence[str], scope: dict[str, Any], guards: Sequence[Guard] = ()) -> Rows:
    """Generate `rows(samples, prefix, micros)`: the line `template % (prefix, micros, *values)` of
    every sample of at least `size` bytes, where value i is `args[i]` with `{v}` standing for leaf
    i's value (names in `scope` may be used), and the count of shorter samples, which give no line.
    A sample for which a predicate of `guards` is false of its field's value gives no line either
    (filters); ValueError when a guard names no leaf.

    `template` starts with the time (`%s%06d`, the same for the whole batch, filled in once per
    call); each field is `%d` (an int: the text `str` gives) or `%s`. Decoding and formatting
    happen in one loop over the samples, each line built by one f-string: no record, no call per
    event, no template parsing per line. ValueError when `args` and `leaves` differ in number or
    the template does not fit them.
    """
    rows: Rows = _generate_lines(leaves, endian=endian, what=what, size=size, namespace=namespace,
                                 template=template, args=args, scope=scope, guards=guards, records=False)
    return rows


#: region of ring records → (lines, records read)
Records = Callable[[memoryview, str, int], tuple[list[str], int]]


def generate_records(leaves: Sequence[Leaf], *, endian: str, what: str, size: int, namespace: Namespace,
                     template: str, args: Sequence[str], scope: dict[str, Any],
                     guards: Sequence[Guard] = ()) -> Records | None:
    """Like `generate_rows`, but `records(region, prefix, micros)` reads ring-buffer records in place:
    `region` holds records back to back, each an 8-byte header (the sample length, u32 in host order,
    then 4 bytes) and a sample of `size` bytes padded to 8; the lines of the records are returned
    with how many records were read (guards may leave some without a line), stopping at the first
    whose length is not exactly `size`. One `struct.iter_unpack` splits and unpacks the records.
    None when the reads overlap (unions, bitfield storage: more than one format per sample), which
    `iter_unpack` cannot do in one pass.
    """
    records: Records | None = _generate_lines(leaves, endian=endian, what=what, size=size, namespace=namespace,
                                              template=template, args=args, scope=scope, guards=guards,
                                              records=True)
    return records


#: samples → (one {field: value} per sample of at least the type's size, samples too short)
DecodeSamples = Callable[[list[bytes]], tuple[list[dict[str, "Any"]], int]]
#: region of ring records → one {field: value} per record read (see `generate_records`)
DecodeRecords = Callable[[memoryview], list[dict[str, "Any"]]]


def generate_batch_decode(leaves: Sequence[Leaf], *, endian: str, what: str, size: int, namespace: Namespace,
                          records: bool) -> DecodeSamples | DecodeRecords | None:
    """Generate the decode of a whole batch in one loop (`batch_loop`): the `{leaf.name: value}` of each
    event, as `generate` gives them one at a time. Over samples (`DecodeSamples`) or over ring records
    read in place (`DecodeRecords`; None when the reads overlap, as for `generate_records`)."""
    loop = _leaves_loop(leaves, endian=endian, size=size, namespace=namespace, records=records)
    if loop is None:
        return None
    head, variables = loop
    items = ", ".join(f"{leaf.name!r}: {leaf.expr.format(*(variables[r] for r in leaf.reads))}" for leaf in leaves)
    source = "\n".join([f"def decode_all({'region' if records else 'samples'}):",
                        "    out = []",
                        "    append = out.append",
                        *head,
                        f"        append({{{items}}})",
                        "    return out" if records else "    return out, short"]) + "\n"
    scope = dict(namespace.values)
    kind = "records" if records else "samples"
    exec(compile(source, f"<batch decoder of {what} ({kind})>", "exec"), scope)  # noqa: S102 (built from BTF)
    function: DecodeSamples | DecodeRecords = scope["decode_all"]
    return function


def record_stride(size: int) -> int:
    """Bytes a ring-buffer record of a `size`-byte sample takes: its 8-byte header, then the sample
    padded to 8 bytes."""
    return (size + 8 + 7) & ~7


def batch_loop(reads: Sequence[Read], *, size: int, byte_order: str, namespace: Namespace,
               records: bool) -> tuple[list[str], dict[Read, str]] | None:
    """The head of a generated loop over one batch of events of `size` bytes: the one loop every batch
    function (event lines, grouped metrics) is built on. Over `samples` (libbpf's copies; one shorter
    than `size` adds 1 to `short` and is skipped), or over `region` (ring-buffer records read in place:
    each an 8-byte header, the sample length as a u32 in the host's order then 4 bytes, and the sample
    padded to 8 bytes; one `struct.iter_unpack` splits and unpacks them all; the loop ends at the first
    record whose length is not `size`, as a busy or discarded one). In the loop's body (8 spaces in),
    each of `reads` is a local variable: the returned names. None for records when reads overlap
    (unions, bitfield storage: more than one struct format per sample, which `iter_unpack` cannot do).
    """
    variables: dict[Read, str] = {}
    for read in reads:
        variables.setdefault(read, f"r{len(variables)}")
    layers = _layers(list(variables))
    if records:
        if len(layers) > 1:
            return None
        layer = layers[0] if layers else []
        sample_format = _format(layer, byte_order)[1:]  # without the byte order
        pad = record_stride(size) - 8 - struct.calcsize(byte_order + sample_format)
        # the length is compared as bytes: the host's order, whatever the event's byte order
        record_format = struct.Struct(f"{byte_order}4s4x{sample_format}{pad}x")
        names = "".join(f"{variables[r]}, " for r in layer)
        header = namespace.add(size.to_bytes(4, sys.byteorder))
        return [f"    expected_length = {header}",
                f"    for length, {names}in {namespace.add(record_format.iter_unpack)}(region):",
                "        if length != expected_length:",
                "            break"], variables
    head = ["    short = 0",
            "    for data in samples:",
            f"        if len(data) < {size}:",
            "            short += 1",
            "            continue"]
    for layer in layers:
        unpack = namespace.add(struct.Struct(_format(layer, byte_order)).unpack_from)
        head.append(f"        {''.join(f'{variables[r]}, ' for r in layer)}= {unpack}(data)")
    return head, variables


def _leaves_loop(leaves: Sequence[Leaf], *, endian: str, size: int, namespace: Namespace,
                 records: bool) -> tuple[list[str], dict[Read, str]] | None:
    """`batch_loop` over every read of `leaves`, in `endian` byte order."""
    return batch_loop([read for leaf in leaves for read in leaf.reads], size=size,
                      byte_order="<" if endian == "little" else ">", namespace=namespace, records=records)


def _generate_lines(leaves: Sequence[Leaf], *, endian: str, what: str, size: int, namespace: Namespace,
                    template: str, args: Sequence[str], scope: dict[str, Any], guards: Sequence[Guard],
                    records: bool) -> Any:
    if len(args) != len(leaves):
        raise ValueError(f"{len(leaves)} fields but {len(args)} value expressions")
    index = {leaf.name: i for i, leaf in enumerate(leaves)}
    if any(name not in index for name, _ in guards):
        raise ValueError(f"a guard names a field {what} does not have")
    literals, codes = _split_template(template)
    if codes[:2] != ["s", "06d"] or len(codes) != len(leaves) + 2 or "06d" in codes[2:]:
        raise ValueError(f"line template {template!r} does not hold the time and {len(leaves)} fields")
    loop = _leaves_loop(leaves, endian=endian, size=size, namespace=namespace, records=records)
    if loop is None:
        return None
    loop_head, variables = loop
    body = [f"def lines({'region' if records else 'samples'}, prefix, micros):",
            "    head = f'{_l0}{prefix}{_l1}{micros:06d}{_l2}'",
            *(f"    l{i} = _l{i}" for i in range(3, len(literals))),
            "    out = []",
            "    append = out.append",
            *loop_head]
    guarded = {index[name] for name, _ in guards}
    for i in sorted(guarded):  # the guards' values first: an event they refuse costs nothing more
        leaf = leaves[i]
        body.append(f"        v{i} = {leaf.expr.format(*(variables[r] for r in leaf.reads))}")
    for name, predicate in guards:
        body += [f"        if not {namespace.add(predicate)}(v{index[name]}):", "            continue"]
    pieces = ["{head}"]
    for i, (leaf, arg) in enumerate(zip(leaves, args, strict=True)):
        expr = f"v{i}" if i in guarded else leaf.expr.format(*(variables[r] for r in leaf.reads))
        if arg.count("{v}") > 1 and not expr.isidentifier():
            body.append(f"        v{i} = {expr}")  # used more than once: computed once
            expr = f"v{i}"
        value = arg.replace("{v}", expr if expr.isidentifier() else f"({expr})")
        if not value.isidentifier():  # f-string braces take names only: no quotes, no backslashes
            body.append(f"        t{i} = {value}")
            value = f"t{i}"
        pieces.append(f"{{{value}}}{{l{i + 3}}}")
    body.append(f"        append(f'{''.join(pieces)}')")
    if not records:
        body.append("    return out, short")
    elif guards:  # some records give no line: they are counted as they are read
        body.insert(body.index(loop_head[-1]) + 1, "        read += 1")
        body.insert(body.index(loop_head[0]), "    read = 0")
        body.append("    return out, read")
    else:
        body.append("    return out, len(out)")
    source = "\n".join(body) + "\n"
    texts = {f"_l{i}": text for i, text in enumerate(literals)}
    namespace_values = dict(namespace.values, **scope, **texts)
    kind = "records" if records else "samples"
    exec(compile(source, f"<event lines of {what} ({kind})>", "exec"), namespace_values)  # noqa: S102
    return namespace_values["lines"]
