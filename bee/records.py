"""`Record`: the base of bee's small immutable value classes (BTF types, ELF headers, specs, settings).

A subclass declares its fields as class annotations, like a dataclass, with optional immutable
defaults on trailing fields; fields of base classes come first. The fields become `__slots__`,
and every `Record` has: a constructor taking the fields by position or keyword, read-only
attributes, equality and hashing by class and field values, a dataclass-style repr (without
the fields named in `_hidden`), `__match_args__`, `replace(**changes)`, and copy/pickle support.

Unlike a frozen dataclass, whose methods are compiled with `exec` when its module is imported
(about a millisecond per class, paid by every `bee run`), nothing is generated per class. A
subclass may define `__init__` (keyword-only arguments, defaults computed per call) and hand
every field on to `Record.__init__`.
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of `bee run` (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any, ClassVar, TypeVar

    from typing_extensions import dataclass_transform

    _R = TypeVar("_R", bound="Record")
else:
    def dataclass_transform(**_options: object) -> Callable[[type], type]:
        """PEP 681's marker at run time: it only informs type checkers, so here it changes nothing."""
        return lambda cls: cls

_MUTABLE = (list, dict, set, bytearray)


@dataclass_transform(frozen_default=True)  # type checkers see each Record as a frozen dataclass
class _RecordMeta(type):
    """Turns the annotated fields of a class body into `__slots__` and its defaults into `_defaults`."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> Any:
        hints = namespace.get("__annotations__", {})
        own = tuple(field for field, hint in hints.items() if not str(hint).startswith("ClassVar"))
        defaults = {field: namespace.pop(field) for field in own if field in namespace}
        for field, value in defaults.items():
            if isinstance(value, _MUTABLE):
                raise TypeError(f"{name}.{field}: a default must be immutable, not {type(value).__name__}")
        base: Any = next((b for b in bases if isinstance(b, _RecordMeta)), None)  # single inheritance
        base_fields: tuple[str, ...] = base._fields if base is not None else ()
        if set(own) & set(base_fields):
            raise TypeError(f"{name} declares again the fields {sorted(set(own) & set(base_fields))} of its base")
        namespace["__slots__"] = own
        namespace["__match_args__"] = (*base_fields, *own)
        cls: Any = super().__new__(mcs, name, bases, namespace, **kwargs)
        cls._fields = (*base_fields, *own)
        cls._setters = (*(base._setters if base is not None else ()), *(cls.__dict__[f].__set__ for f in own))
        cls._defaults = {**(base._defaults if base is not None else {}), **defaults}
        first = next((i for i, field in enumerate(cls._fields) if field in cls._defaults), len(cls._fields))
        if any(field not in cls._defaults for field in cls._fields[first:]):
            raise TypeError(f"{name}: a field without a default follows one with a default")
        return cls


class Record(metaclass=_RecordMeta):
    """An immutable record whose fields are the annotations of its class and of its bases."""

    _fields: ClassVar[tuple[str, ...]]
    _setters: ClassVar[tuple[Callable[[Any, Any], None], ...]]  # the slots' __set__, in field order
    _defaults: ClassVar[dict[str, Any]]
    _hidden: ClassVar[tuple[str, ...]] = ()  # fields the repr leaves out (raw bytes)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        setters = self._setters
        if kwargs or len(args) != len(setters):
            args = self._arguments(args, kwargs)
        for set_field, value in zip(setters, args, strict=False):  # same length, checked above
            set_field(self, value)

    @classmethod
    def _arguments(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """Every field's value, in field order, from positional and keyword arguments; TypeError if wrong."""
        fields = cls._fields
        if len(args) > len(fields):
            raise TypeError(f"{cls.__name__}() takes {len(fields)} arguments but {len(args)} were given")
        values = dict(zip(fields, args, strict=False))  # the rest come by keyword or default
        for name, value in kwargs.items():
            if name not in fields:
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {name!r}")
            if name in values:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
            values[name] = value
        missing = [name for name in fields if name not in values and name not in cls._defaults]
        if missing:
            raise TypeError(f"{cls.__name__}() is missing {', '.join(map(repr, missing))}")
        return tuple(values[name] if name in values else cls._defaults[name] for name in fields)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields if name not in self._hidden)
        return f"{type(self).__qualname__}({fields})"

    def __reduce__(self) -> tuple[Callable[..., Record], tuple[Any, ...]]:
        return _rebuild, (type(self), self._values())

    def replace(self: _R, **changes: Any) -> _R:
        """A copy with the fields named in `changes` set to new values."""
        values = dict(zip(self._fields, self._values(), strict=True))
        for name in changes:
            if name not in values:
                raise TypeError(f"{type(self).__name__} has no field {name!r}")
        values.update(changes)
        return type(self)(**values)


def _rebuild(cls: type[_R], values: tuple[Any, ...]) -> _R:
    """A record of class `cls` with the field `values` (in field order), without calling its `__init__`:
    what copy and pickle use, so that a subclass's own constructor needs no positional form."""
    record = cls.__new__(cls)
    for set_field, value in zip(cls._setters, values, strict=True):
        set_field(record, value)
    return record
