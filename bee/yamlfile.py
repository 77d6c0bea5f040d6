"""Reading a YAML file as a tree of nodes that remember their line, for errors that name file, line and key.

`read_yaml(path)` parses with PyYAML's safe composer (no tags beyond YAML's own, no object
construction) and refuses what a configuration has no use for and a hostile file could abuse: files
over `MAX_BYTES`, anchors and aliases, duplicate keys (which YAML loaders otherwise resolve silently,
last one wins). `YamlNode` then gives each value with its location. Raises ConfigError, one sentence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bee.errors import BeeError

#: Largest configuration file read, in bytes: a runner config is a few kilobytes.
MAX_BYTES = 1 << 20


class ConfigError(BeeError):
    """A configuration file cannot be used: unreadable, not YAML, or a key or value that is wrong."""


@dataclass(frozen=True, slots=True)
class YamlNode:
    """One value of a YAML document: the node, where it is (`path` like `programs[1].pull`), which file."""

    node: yaml.Node
    path: str
    file: str

    @property
    def line(self) -> int:
        """The 1-based line the value starts on."""
        return int(self.node.start_mark.line) + 1

    def error(self, problem: str) -> ConfigError:
        """`FILE, line N: PATH: problem` (without the path for the document itself)."""
        where = f"{self.path}: " if self.path else ""
        return ConfigError(f"{self.file}, line {self.line}: {where}{problem}")

    def _kind(self) -> str:
        if isinstance(self.node, yaml.MappingNode):
            return "a mapping"
        if isinstance(self.node, yaml.SequenceNode):
            return "a list"
        value = self.scalar()
        return "nothing" if value is None else f"{type(value).__name__} {value!r}"

    def scalar(self) -> Any:
        """The value of a scalar node as YAML's core schema reads it (str, int, float, bool, None)."""
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.error(f"expected a single value, got {self._kind()}")
        try:
            return yaml.SafeLoader("").construct_object(self.node)
        except yaml.YAMLError as exc:  # a tag the safe schema has no type for (`!!python/...`, `!!value`)
            raise self.error(f"this value cannot be read: {_problem(exc)}") from None

    def mapping(self, known: tuple[str, ...]) -> dict[str, YamlNode]:
        """The keys of a mapping node, each with its value; ConfigError for another node, a key that is not a
        string, or a key outside `known` (naming the closest known one)."""
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"expected a mapping, got {self._kind()}")
        items: dict[str, YamlNode] = {}
        for key_node, value_node in self.node.value:
            key = YamlNode(key_node, self.path, self.file).scalar()
            if not isinstance(key, str):
                raise YamlNode(key_node, self.path, self.file).error(f"a key must be a name, not {key!r}")
            child = YamlNode(value_node, f"{self.path}.{key}" if self.path else key, self.file)
            if key not in known:
                raise YamlNode(key_node, child.path, self.file).error(f"unknown key{_closest(key, known)}")
            items[key] = child
        return items

    def sequence(self) -> list[YamlNode]:
        """The items of a list node; ConfigError for another node."""
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error(f"expected a list, got {self._kind()}")
        return [YamlNode(item, f"{self.path}[{i}]", self.file) for i, item in enumerate(self.node.value)]

    def text(self) -> str:
        """A non-empty string value."""
        value = self.scalar()
        if not isinstance(value, str) or not value:
            raise self.error(f"expected a non-empty string, got {self._kind()}")
        return value

    def boolean(self) -> bool:
        value = self.scalar()
        if not isinstance(value, bool):
            raise self.error(f"expected true or false, got {self._kind()}")
        return value

    def number(self, low: float, high: float, *, integer: bool = False) -> float:
        """A finite number within [low, high] (an int when `integer`)."""
        value = self.scalar()
        kind = "an integer" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            raise self.error(f"expected {kind}, got {self._kind()}")
        if not math.isfinite(value) or not low <= value <= high:
            raise self.error(f"expected {kind} from {low:g} to {high:g}, got {value!r}")
        return value

    def choice(self, choices: tuple[str, ...]) -> str:
        value = self.scalar()
        if value not in choices:
            raise self.error(f"expected one of {', '.join(choices)}, got {self._kind()}")
        return str(value)


def _closest(key: str, known: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f" (known keys: {', '.join(known)}){hint}"


def _problem(exc: yaml.YAMLError) -> str:
    """What PyYAML says is wrong, without its position lines."""
    return getattr(exc, "problem", None) or str(exc).splitlines()[0]


def read_yaml(path: Path, what: str = "runner config", kind: str = "config") -> YamlNode:
    """The document of YAML file `path` as a `YamlNode`; ConfigError when it cannot be read or used
    (messages call it "the `kind` file" and say it is not a `what`)."""
    name = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the {kind} file {name}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"the {kind} file {name} is larger than {MAX_BYTES >> 20} MiB: not a {what}")
    try:
        text = data.decode("utf-8")
        document = yaml.compose(text, Loader=yaml.SafeLoader)
    except UnicodeDecodeError:
        raise ConfigError(f"the {kind} file {name} is not UTF-8 text") from None
    except RecursionError:
        raise ConfigError(f"the {kind} file {name} is nested too deeply to be a {what}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = _problem(exc)
        raise ConfigError(f"{name}{line}: not valid YAML: {problem}") from None
    if document is None:
        raise ConfigError(f"the {kind} file {name} is empty")
    try:
        _check_plain(document, name, set(), what)
    except RecursionError:
        raise ConfigError(f"the {kind} file {name} is nested too deeply to be a {what}") from None
    return YamlNode(document, "", name)


def _check_plain(node: yaml.Node, name: str, seen: set[int], what: str) -> None:
    """ConfigError for anchors/aliases (a node met twice) and duplicate mapping keys."""
    if id(node) in seen or getattr(node, "anchor", None):
        raise ConfigError(f"{name}, line {node.start_mark.line + 1}: anchors and aliases (&, *) are not supported "
                          f"in a {what}")
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: dict[object, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                if key in keys:
                    raise ConfigError(f"{name}, line {key_node.start_mark.line + 1}: the key {key!r} is given twice "
                                      f"(first on line {keys[key]})")
                keys[key] = key_node.start_mark.line + 1
            _check_plain(key_node, name, seen, what)
            _check_plain(value_node, name, seen, what)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_plain(item, name, seen, what)
