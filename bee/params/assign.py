"""Parameter values → the new initial bytes of an object's `.rodata`, checked against the object's BTF.

`rodata_image(spec, values, program)` starts from the section's own bytes (every parameter at its
default) and writes each value given over its parameter. Every mistake is one `ParamError` sentence
naming the program: a program without parameters, a name it does not have (listing those it has, with
their types), or a value its type does not take (the parameter, its type, the value, what it takes).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bee.elf.spec import ObjectSpec
from bee.elf.variables import Parameter, Parameters, parameters
from bee.errors import BeeError, UsageError
from bee.params.kinds import kind_of

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ParamError(BeeError):
    """A parameter value cannot be given to a program: it has no such parameter, or the value does not fit."""


@dataclass(frozen=True, slots=True)
class RodataImage:
    """What a run hands libbpf: the `.rodata` map whose BTF value type is `datasec_id` gets `data`."""

    datasec_id: int
    data: bytes


def check_name(name: str) -> str:
    """`name` when it can name a C variable; UsageError otherwise."""
    if not _NAME.fullmatch(name):
        raise UsageError(f"{name!r} cannot be a parameter name: parameters are C variables "
                         "(letters, digits and _, not starting with a digit)")
    return name


def _listing(found: Parameters) -> str:
    return ", ".join(f"{p.name} ({p.type_name})" for p in found.items)


def _unknown(program: str, name: str, found: Parameters) -> ParamError:
    close = difflib.get_close_matches(name, found.names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return ParamError(f"program {program} has no parameter {name}{hint}; its parameters are {_listing(found)}")


def _encode(spec: ObjectSpec, parameter: Parameter, value: str, program: str, endian: str) -> bytes:
    assert spec.btf is not None  # a program with parameters has BTF
    kind = kind_of(spec.btf, parameter.type_id, parameter.size)
    subject = f"parameter {parameter.name} ({parameter.type_name}) of program {program}"
    if not kind.settable:
        raise ParamError(f"{subject} cannot be set by bee: it sets integers, bool, enums, char arrays, "
                         "ipv4_addr, ipv6_addr, duration and arrays of these")
    try:
        raw = kind.encode(value, endian)
    except ValueError as exc:
        detail = f"; {exc}" if str(exc) else ""
        raise ParamError(f"{subject} cannot be {value!r}: it takes {kind.accepted}{detail}") from None
    assert len(raw) == parameter.size, (parameter, raw)
    return raw


def rodata_image(spec: ObjectSpec, values: Mapping[str, str], program: str) -> RodataImage | None:
    """The `.rodata` bytes of `spec` with `values` (parameter name → value as written) in place of the
    defaults; None when `values` is empty. `program` is how messages name it. Raises ParamError."""
    if not values:
        return None
    found = parameters(spec)
    if found is None or not found.items:
        given = ", ".join(f"{name}={value}" for name, value in values.items())
        raise ParamError(f"program {program} has no parameters (no `const volatile` globals), so {given} "
                         "cannot be set")
    image = bytearray(found.image)
    for name, value in values.items():
        parameter = found.get(name)
        if parameter is None:
            raise _unknown(program, name, found)
        image[parameter.offset:parameter.offset + parameter.size] = _encode(spec, parameter, value, program,
                                                                            found.endian)
    return RodataImage(found.datasec_id, bytes(image))
