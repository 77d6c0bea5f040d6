"""BTF type → leaves (reads at real byte offsets + presentation expressions): the decoder's compile step.

Semantics, per leaf (a member after flattening nested structs and unions):

- ints of 1/2/4/8 bytes signed or not, 16-byte ints, `_Bool` → bool, pointers → int, floats → float;
- bitfields: the bytes holding a run of adjacent bitfields are read once, each field is
  shifted and masked out of them (sign-extended when signed), in the object's byte order;
- enums → the enumerator's name, or the number when no enumerator has that value;
- `char[N]` (plain, signed or unsigned char) → str, cut at the first NUL, UTF-8 with replacement;
  arrays of fixed-width byte typedefs (`u8`, `__s8`, `uint8_t`...) and all other arrays → lists
  (of dicts for structs);
- typedef names (anywhere in the member's typedef chain): `ipv4_addr` of 4 bytes → `127.0.0.1`,
  `ipv6_addr` of 16 bytes → RFC 5952 text, `duration` → Go's `time.Duration` text; the label
  typedefs `ksym_t`, `errno_t`, `ifindex_t`, `cgroup_t`, `syscall_t` → the names the system gives them
  (bee.decode.system_names); `kstack_t` → the kernel stack its id names (bee.decode.stacks: the compiler is
  given the program's stacks; without them it is refused).
"""

from __future__ import annotations

import struct
from collections import namedtuple
from collections.abc import Callable, Iterator

from bee.decode.codegen import Leaf, Namespace, Read, generate
from bee.decode.duration import format_duration
from bee.decode.errors import DecodeError
from bee.decode.values import C_STRING_EXPR, EnumNames, element_list, ipv4_text, ipv6_text
from bee.elf.btf import POINTER_SIZE, Btf
from bee.elf.btf_types import Array, BtfType, Composite, Enum, Enum64, Float, Int, Ptr
from bee.elf.fields import FieldSpec, field_tree, flatten
from bee.errors import ElfError

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any

    from bee.decode.stacks import KernelStacks

#: Typedef names of one-byte integers: arrays of them are lists of numbers, not strings.
BYTE_TYPEDEFS = frozenset({"u8", "s8", "__u8", "__s8", "uint8_t", "int8_t", "__uint8_t", "__int8_t"})
#: Arrays of up to this many elements are unpacked item by item inside the event's own format.
INLINE_ARRAY_MAX = 32

_INT_CODES = {(1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h",
              (4, False): "I", (4, True): "i", (8, False): "Q", (8, True): "q"}
_FLOAT_CODES = {2: "e", 4: "f", 8: "d"}
_PIECES = (8, 4, 2, 1)
_BASE_HELPERS = {"_ntoa": ipv4_text, "_ipv6": ipv6_text, "_duration": format_duration}
#: bee's label typedefs (solo_types.h): name → (the integer sizes it takes, signed read, the function of
#: bee.decode.system_names that names the value at decode time, imported only by a program that has one;
#: "" for `kstack_t`, named by the program's own `KernelStacks`).
LABEL_TYPEDEFS = {"ksym_t": ((8,), False, "ksym"), "errno_t": ((4, 8), True, "errno_name"),
                  "ifindex_t": ((4,), False, "ifname"), "cgroup_t": ((8,), False, "cgroup_path"),
                  "syscall_t": ((4, 8), True, "syscall_name"), "kstack_t": ((4, 8), True, "")}
#: Label types whose text for a value never changes during a run (tables of the architecture): the same bytes
#: decode to the same text. An interface or cgroup appearing later turns a number into a name, a stack id is
#: reused for another stack, so the other label types are decoded every time.
STABLE_LABELS = frozenset({"errno_t", "syscall_t"})

Decode = Callable[["Any"], "Any"]
BitfieldType = Int | Enum | Enum64


class Extract(namedtuple("Extract", ("reads", "expr", "kind"), defaults=("any",))):
    """How to get one value: `reads` (a tuple of `Read`), then `expr` (str) with `{0}`, `{1}`...
    standing for their values.

    `kind` is the Python type `expr` always gives (`int`, `bool`, `str`, `float`), or `any` when
    it varies or is a list (enums give a name or a number)."""

    __slots__ = ()
    reads: tuple[Read, ...]
    expr: str
    kind: str


class _Bitfield(namedtuple("_Bitfield", ("field", "bit", "bits", "type"))):
    """A bitfield member: its `FieldSpec`, first `bit` (from the start of the outermost type),
    width in `bits`, and its integer or enum `type`."""

    __slots__ = ()
    field: FieldSpec
    bit: int
    bits: int
    type: BitfieldType


def is_bool(t: Int) -> bool:
    """Whether an integer is a C `_Bool` (BTF's BOOL encoding, or a one-byte int named so)."""
    return t.is_bool or (t.size == 1 and t.name in ("_Bool", "bool"))


def special_typedef(btf: Btf, type_id: int, size: int) -> str | None:
    """Which of bee's typedefs (`solo_types.h`) gives `type_id` its meaning: "ipv4_addr" (4 bytes, network
    order), "ipv6_addr" (16 bytes, network order) or "duration" (an integer of 1, 2, 4 or 8 bytes, in
    nanoseconds), the first that fits in the type's typedef chain; None when none does (an `ipv6_addr`
    that is solo_types.h's u32 is a plain integer)."""
    t = btf.resolve(type_id)
    for name in btf.typedef_names(type_id):
        if name == "ipv4_addr" and size == 4:
            return name
        if name == "ipv6_addr" and size == 16:
            return name
        if name == "duration" and isinstance(t, Int) and t.size in (1, 2, 4, 8) and not is_bool(t):
            return name
    return None


def label_typedef(btf: Btf, type_id: int, size: int) -> str | None:
    """Which of bee's label typedefs (`ksym_t`, `errno_t`, `ifindex_t`, `cgroup_t`) names `type_id`, when it is
    an integer of a size that typedef takes; None otherwise (then it decodes as the integer it is)."""
    t = btf.resolve(type_id)
    if not isinstance(t, Int) or is_bool(t):
        return None
    for name in btf.typedef_names(type_id):
        if name in LABEL_TYPEDEFS and size in LABEL_TYPEDEFS[name][0]:
            return name
    return None


def is_text(btf: Btf, array: Array) -> bool:
    """Whether an array is text: of plain, signed or unsigned `char` (not `_Bool`, not a byte typedef such
    as `u8`, whose arrays are lists of numbers)."""
    element = btf.resolve(array.type_id)
    return (isinstance(element, Int) and element.size == 1 and element.is_char and not is_bool(element)
            and not BYTE_TYPEDEFS.intersection(btf.typedef_names(array.type_id)))


def _int_code(size: int, signed: bool, what: str) -> str:
    code = _INT_CODES.get((size, signed))
    if code is None:
        raise DecodeError(f"{what} is a {size}-byte integer, which cannot be decoded (sizes 1, 2, 4, 8 and 16 can)")
    return code


class LayoutCompiler:
    """Compiles the types of one BTF for one byte order; element decoders are shared within it."""

    def __init__(self, btf: Btf, endian: str, stacks: KernelStacks | None = None) -> None:
        """`stacks`: what names `kstack_t` ids (the program's stack map); without it a `kstack_t` is refused."""
        if endian not in ("little", "big"):
            raise ValueError(f"endian must be 'little' or 'big', not {endian!r}")
        self.btf = btf
        self.stacks = stacks
        self.endian = endian
        self.namespace = Namespace(_BASE_HELPERS)
        self._enums: dict[int, str] = {}
        self._values: dict[int, Decode] = {}
        self._compiling: set[int] = set()  # element types being compiled: a type inside itself is malformed
        #: False once a label type whose name may change during a run is compiled in (see `STABLE_LABELS`)
        self.stable = True

    # --- whole types ---------------------------------------------------------------------------------

    def name(self, type_id: int) -> str:
        return self.btf.type_name(type_id)

    def size(self, type_id: int, what: str | None = None) -> int:
        """Byte size of a decodable type; DecodeError for types without a layout (forward declarations, functions)."""
        t = self.btf.resolve(type_id)
        subject = f"{what} has type {self.name(type_id)}" if what else self.name(type_id)
        if not isinstance(t, (Int, Float, Ptr, Enum, Enum64, Array, Composite)):
            raise DecodeError(f"{subject} (a {t.kind.label}), which has no data layout and cannot be decoded")
        try:
            return self.btf.size_of(type_id)
        except ElfError as exc:
            raise DecodeError(f"{subject}, which cannot be decoded: {exc.message}") from exc

    def struct_leaves(self, type_id: int) -> list[Leaf]:
        """The flattened members of struct/union `type_id`, names joined by `_`, a repeated name numbered (`a_2`)."""
        size = self.size(type_id)
        try:
            fields = flatten(field_tree(self.btf, type_id))
        except ElfError as exc:
            raise DecodeError(f"{self.name(type_id)} cannot be decoded: {exc.message}") from exc
        leaves: list[Leaf] = []
        seen: set[str] = set()
        for field, extract in self._members(fields, type_id, size):
            name = unique = field.path.replace(".", "_")
            n = 1
            while unique in seen:
                n += 1
                unique = f"{name}_{n}"
            seen.add(unique)
            leaves.append(Leaf(unique, *extract))
        return leaves

    def value(self, type_id: int) -> Extract:
        """A whole non-struct type at offset 0."""
        return self._extract(type_id, 0, self.size(type_id), self.name(type_id))

    def value_decoder(self, type_id: int) -> Decode:
        """bytes → the presentation value of `type_id` (a dict for a struct); compiled once per type."""
        fn = self._values.get(type_id)
        if fn is not None:
            return fn
        what, size = self.name(type_id), self.size(type_id)
        if type_id in self._compiling:
            raise DecodeError(f"{what} contains itself, which cannot be decoded")
        self._compiling.add(type_id)
        if isinstance(self.btf.resolve(type_id), Composite):
            leaves, scalar = self.struct_leaves(type_id), False
        else:
            leaves, scalar = [Leaf("value", *self.value(type_id))], True
        self._compiling.discard(type_id)
        fn = self._values[type_id] = generate(leaves, endian=self.endian, what=what, size=size,
                                              namespace=self.namespace, scalar=scalar).function
        return fn

    # --- members -------------------------------------------------------------------------------------

    def _members(self, fields: list[FieldSpec], outer: int, outer_size: int) -> Iterator[tuple[FieldSpec, Extract]]:
        run: list[_Bitfield] = []  # adjacent bitfields, decoded together
        for field in fields:
            t = self.btf.resolve(field.type_id)
            if isinstance(t, Composite) or not field.name:
                continue  # an empty struct, or unnamed padding
            what = f"member {field.path} of {self.name(outer)}"
            bitfield = self._bitfield(field, t, what)
            if bitfield is not None:
                if bitfield.bit + bitfield.bits > outer_size * 8:
                    raise DecodeError(f"{what} lies outside the type's {outer_size} bytes")
                run.append(bitfield)
                continue
            yield from self._bitfields(run)
            run = []
            size = self.size(field.type_id, what)
            if field.offset + size > outer_size:
                raise DecodeError(f"{what} lies outside the type's {outer_size} bytes")
            yield field, self._extract(field.type_id, field.offset, size, what)
        yield from self._bitfields(run)

    def _bitfield(self, field: FieldSpec, t: BtfType, what: str) -> _Bitfield | None:
        """The member as a bitfield (either BTF encoding of one), or None when it is not one."""
        if field.bit_size:
            if not isinstance(t, (Int, Enum, Enum64)):
                raise DecodeError(f"{what} is a bitfield of {self.name(field.type_id)}, which is not an integer")
            return _Bitfield(field, field.bit_offset, field.bit_size, t)
        if field.bit_offset % 8:
            raise DecodeError(f"{what} starts at bit {field.bit_offset}, inside a byte, without being a bitfield")
        if isinstance(t, Int) and (t.bit_offset or t.bits != t.size * 8):
            return _Bitfield(field, field.bit_offset + t.bit_offset, t.bits, t)
        return None

    def _bitfields(self, run: list[_Bitfield]) -> Iterator[tuple[FieldSpec, Extract]]:
        """Adjacent bitfields: the bytes holding them are read once, as the fewest 8/4/2/1-byte pieces."""
        if not run:
            return
        lo = min(b.bit for b in run) // 8
        hi = max(-(-(b.bit + b.bits) // 8) for b in run)
        reads: list[Read] = []
        terms: list[str] = []
        offset = lo
        while offset < hi:
            piece = next(p for p in _PIECES if p <= hi - offset)
            shift = (offset - lo) * 8 if self.endian == "little" else (hi - offset - piece) * 8
            terms.append(f"{{{len(reads)}}} << {shift}" if shift else f"{{{len(reads)}}}")
            reads.append(Read(offset, _INT_CODES[(piece, False)]))
            offset += piece
        storage = terms[0] if len(terms) == 1 else f"({' | '.join(terms)})"
        for b in run:
            shift = b.bit - lo * 8 if self.endian == "little" else hi * 8 - b.bit - b.bits
            mask = (1 << b.bits) - 1
            expr = f"{storage} >> {shift} & {mask:#x}" if shift else f"{storage} & {mask:#x}"
            kind = "int"
            if isinstance(b.type, Int) and is_bool(b.type):
                expr, kind = f"({expr}) != 0", "bool"
            elif b.type.signed:
                sign = 1 << (b.bits - 1)
                expr = f"(({expr}) ^ {sign:#x}) - {sign:#x}"
            if isinstance(b.type, (Enum, Enum64)):
                expr, kind = f"{self._enum_names(b.type)}[{expr}]", "any"
            yield b.field, Extract(tuple(reads), expr, kind)

    # --- one value -----------------------------------------------------------------------------------

    def _extract(self, type_id: int, offset: int, size: int, what: str) -> Extract:
        """A non-bitfield value of `type_id` (`size` bytes) at byte `offset`."""
        special = self._special(type_id, offset, size, what)
        if special is not None:
            return special
        t = self.btf.resolve(type_id)
        if isinstance(t, Int):
            if t.size == 16:
                return Extract((Read(offset, "16s"),), f"int.from_bytes({{0}}, {self.endian!r}, signed={t.signed})",
                               "int")
            if is_bool(t):
                if t.size == 1:
                    return Extract((Read(offset, "?"),), "{0}", "bool")
                return Extract((Read(offset, _int_code(t.size, False, what)),), "{0} != 0", "bool")
            return Extract((Read(offset, _int_code(t.size, t.signed, what)),), "{0}", "int")
        if isinstance(t, (Enum, Enum64)):
            code = _int_code(t.size, t.signed, what)
            return Extract((Read(offset, code),), f"{self._enum_names(t)}[{{0}}]")
        if isinstance(t, Ptr):
            return Extract((Read(offset, _INT_CODES[(POINTER_SIZE, False)]),), "{0}", "int")
        if isinstance(t, Float):
            float_code = _FLOAT_CODES.get(t.size)
            if float_code is None:
                raise DecodeError(f"{what} is a {t.size}-byte float, which cannot be decoded (sizes 2, 4 and 8 can)")
            return Extract((Read(offset, float_code),), "{0}", "float")
        if isinstance(t, Array):
            return self._array(t, offset, size, what)
        raise DecodeError(f"{what} has type {self.name(type_id)} (a {t.kind.label}), which cannot be decoded")

    def _special(self, type_id: int, offset: int, size: int, what: str) -> Extract | None:
        """bee's typedef names (`ipv4_addr`, `ipv6_addr`, `duration`, the label types) when the size fits;
        else None. DecodeError for a `kstack_t` without `stacks`, or whose `stacks` are not one map."""
        special = special_typedef(self.btf, type_id, size)
        if special == "ipv4_addr":
            return Extract((Read(offset, "4s"),), "_ntoa({0})", "str")
        if special == "ipv6_addr":
            return Extract((Read(offset, "16s"),), "_ipv6({0})", "str")
        if special == "duration":
            t = self.btf.resolve(type_id)
            assert isinstance(t, Int)
            signed = t.signed or t.size == 8  # Go's Duration is an int64
            return Extract((Read(offset, _INT_CODES[(t.size, signed)]),), "_duration({0})", "str")
        label = label_typedef(self.btf, type_id, size)
        if label == "kstack_t" and self.stacks is None:
            raise DecodeError(f"{what} is a kstack_t, but the program has no BPF_MAP_TYPE_STACK_TRACE map for its "
                              "ids to name")
        if label is not None:
            from bee.decode import system_names

            if label not in STABLE_LABELS:
                self.stable = False

            _, signed, function = LABEL_TYPEDEFS[label]
            if function:
                helper = self.namespace.add(getattr(system_names, function))
            else:
                assert self.stacks is not None
                self.stacks.check(what)
                helper = self.namespace.add(self.stacks)
            return Extract((Read(offset, _INT_CODES[(size, signed)]),), f"{helper}({{0}})", "str")
        return None

    def _array(self, t: Array, offset: int, size: int, what: str) -> Extract:
        element = self.btf.resolve(t.type_id)
        element_size = self.size(t.type_id, f"an element of {what}")
        if is_text(self.btf, t):
            return Extract((Read(offset, f"{size}s"),), C_STRING_EXPR, "str")
        if t.nelems == 0 or element_size == 0:
            return Extract((), "[]")
        item = None if isinstance(element, Composite) else self._extract(t.type_id, 0, element_size, what)
        if item is not None and len(item.reads) == 1:
            code = item.reads[0].code
            if t.nelems <= INLINE_ARRAY_MAX:
                reads = tuple(Read(offset + i * element_size, code) for i in range(t.nelems))
                return Extract(reads, "[" + ", ".join(item.expr.format(f"{{{i}}}") for i in range(t.nelems)) + "]")
            if item.expr == "{0}":
                byte_order = "<" if self.endian == "little" else ">"
                unpack = self.namespace.add(struct.Struct(f"{byte_order}{t.nelems}{code}").unpack)
                return Extract((Read(offset, f"{size}s"),), f"list({unpack}({{0}}))")
        items = self.namespace.add(element_list(self.value_decoder(t.type_id), element_size, t.nelems))
        return Extract((Read(offset, f"{size}s"),), f"{items}({{0}})")

    def _enum_names(self, t: Enum | Enum64) -> str:
        name = self._enums.get(t.id)
        if name is None:
            names = EnumNames()
            for v in t.values:
                names.setdefault(v.value, v.name)
            name = self._enums[t.id] = self.namespace.add(names)
        return name
