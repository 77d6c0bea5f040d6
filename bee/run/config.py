"""The runner's configuration file (`bee run --config FILE`): which programs one runner runs, and how.

```yaml
programs:                              # required: one entry per program, at least one
  - program: ghcr.io/me/opensnoop:v1   # required: a file or a reference, as on the command line
    name: opensnoop                    # how events and series name it (default: the file's stem,
                                       # or the reference's last path part)
    pull: missing                      # missing | always | never (default: missing)
    filters: ["print_events,comm,^bash$"]        # -f MAP,FIELD,REGEX, each
    hist_buckets: {hist_latency: [1, 10, 100]}   # map -> ascending bucket bounds
    hist_value_keys: {hist_latency: le}          # map -> the field a histogram observes
    iface: eth0                        # the interface XDP/TC programs attach to
    pin_maps: /sys/fs/bpf/bee/opensnoop/maps     # pin under bpffs (each program its own paths)
    pin_progs: /sys/fs/bpf/bee/opensnoop/progs
    params: {target_pid: 1234, target_comm: bash}  # parameters (`const volatile` globals), as --param
    outputs: {events: print, packets: counter}   # map -> output kind, whatever its name (as --output)
metrics: {address: 0.0.0.0, port: 9091}          # where /metrics and /healthz are served
poll_interval: 1.0                     # seconds between reads of hash maps
format: text                           # text | json: the event log
fail_fast: false                       # true: a program that fails to start ends the run
verify_keys: [/etc/bee/keys/ci.pub]    # load only programs signed by one of these keys (as --verify-key)
policy: /etc/bee/policy/policy.yaml    # or a signature policy file (as --policy; docs/signing.md)
ignore_identity: false                 # true: accept signatures made for another repository
```

Paths of keys and of the policy file are relative to the config file's directory.

`load_config(path)` reads and validates it without touching the kernel or the store; every mistake is
one `ConfigError` sentence naming the file, the line and the key. Two programs with the same name or
the same pin directory are refused. Parameter names and the form of their values are checked here; whether
the program has them and their types take them is checked when it is prepared (the object is not read here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bee.errors import UsageError
from bee.run.settings import DEFAULT_POLL_INTERVAL, DEFAULT_PROM_PORT
from bee.run.source import PULL_POLICIES
from bee.yamlfile import ConfigError, YamlNode, read_yaml

__all__ = ["ConfigError", "ProgramEntry", "RunnerConfig", "load_config", "program_name"]

PROGRAM_KEYS = ("program", "name", "pull", "filters", "hist_buckets", "hist_value_keys", "iface", "pin_maps",
                "pin_progs", "params", "outputs")
TOP_KEYS = ("programs", "metrics", "poll_interval", "format", "fail_fast", "verify_keys", "policy",
            "ignore_identity")
METRICS_KEYS = ("address", "port")
FORMATS = ("text", "json")
#: What `outputs` may give a map (bee.elf.maps.OUTPUTS; whether the map's type gives it is checked at prepare).
MAP_OUTPUTS = ("print", "counter", "gauge", "hist", "log2hist", "linhist")


@dataclass(frozen=True, slots=True)
class ProgramEntry:
    """One program of a runner config, validated; `line` is where its entry starts (for later messages)."""

    program: str
    name: str
    line: int
    pull: str = "missing"
    filters: tuple[str, ...] = ()
    hist_buckets: dict[str, tuple[float, ...]] = field(default_factory=dict)
    hist_value_keys: dict[str, str] = field(default_factory=dict)
    iface: str | None = None
    pin_maps: Path | None = None
    pin_progs: Path | None = None
    params: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    """A whole runner config, validated."""

    file: str
    programs: tuple[ProgramEntry, ...]
    prom_host: str | None = None
    prom_port: int = DEFAULT_PROM_PORT
    poll_interval: float = DEFAULT_POLL_INTERVAL
    fmt: str = "text"
    fail_fast: bool = False
    verify_keys: tuple[Path, ...] = ()
    policy: Path | None = None
    ignore_identity: bool = False


def program_name(program: str) -> str:
    """The default name of a program: a file's stem (`/x/opensnoop.o` → opensnoop), or a reference's last path
    part without tag or digest (`ghcr.io/me/opensnoop:v1` → opensnoop)."""
    last = program.rstrip("/").rsplit("/", 1)[-1]
    last = last.split("@", 1)[0].split(":", 1)[0]
    return last[:-2] if last.endswith(".o") else last


def load_config(path: Path) -> RunnerConfig:
    """Read and validate the runner config at `path`; ConfigError (one sentence, with file and line) if wrong."""
    document = read_yaml(path)
    top = document.mapping(TOP_KEYS)
    if "programs" not in top:
        raise document.error("the config has no `programs` list: name at least one program to run")
    entries = top["programs"].sequence()
    if not entries:
        raise top["programs"].error("the list is empty: name at least one program to run")
    programs = tuple(_program(entry) for entry in entries)
    _check_unique(programs, entries)
    metrics = top["metrics"].mapping(METRICS_KEYS) if "metrics" in top else {}
    return RunnerConfig(
        file=str(path),
        programs=programs,
        prom_host=metrics["address"].text() if "address" in metrics else None,
        prom_port=int(metrics["port"].number(0, 65535, integer=True)) if "port" in metrics else DEFAULT_PROM_PORT,
        poll_interval=(float(top["poll_interval"].number(0.05, 3600)) if "poll_interval" in top
                       else DEFAULT_POLL_INTERVAL),
        fmt=top["format"].choice(FORMATS) if "format" in top else "text",
        fail_fast=top["fail_fast"].boolean() if "fail_fast" in top else False,
        verify_keys=tuple(_path_near(path, node.text()) for node in top["verify_keys"].sequence())
        if "verify_keys" in top else (),
        policy=_path_near(path, top["policy"].text()) if "policy" in top else None,
        ignore_identity=top["ignore_identity"].boolean() if "ignore_identity" in top else False,
    )


def _path_near(config: Path, text: str) -> Path:
    """`text` as a path: absolute (after `~`), or relative to the directory of the config file."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else config.parent / path


def _program(entry: YamlNode) -> ProgramEntry:
    keys = entry.mapping(PROGRAM_KEYS)
    if "program" not in keys:
        raise entry.error("an entry needs `program`: a file or a reference")
    program = keys["program"].text()
    _check_reference(program, keys["program"])
    filters = tuple(item.text() for item in keys["filters"].sequence()) if "filters" in keys else ()
    if filters:
        from bee.sinks.filters import FilterSet

        try:
            FilterSet.parse(filters)
        except UsageError as exc:
            raise keys["filters"].error(str(exc)) from None
    return ProgramEntry(
        program=program,
        name=keys["name"].text() if "name" in keys else program_name(program),
        line=entry.line,
        pull=keys["pull"].choice(PULL_POLICIES) if "pull" in keys else "missing",
        filters=filters,
        hist_buckets=_buckets(keys["hist_buckets"]) if "hist_buckets" in keys else {},
        hist_value_keys=({name: node.text() for name, node in _any_mapping(keys["hist_value_keys"]).items()}
                         if "hist_value_keys" in keys else {}),
        iface=keys["iface"].text() if "iface" in keys else None,
        pin_maps=Path(keys["pin_maps"].text()) if "pin_maps" in keys else None,
        pin_progs=Path(keys["pin_progs"].text()) if "pin_progs" in keys else None,
        params=_params(keys["params"]) if "params" in keys else {},
        outputs=({name: node.choice(MAP_OUTPUTS) for name, node in _any_mapping(keys["outputs"]).items()}
                 if "outputs" in keys else {}),
    )


def _check_reference(program: str, node: YamlNode) -> None:
    """A `program` that is neither a file nor path-like must be a valid reference (checked now, so that
    the message names the file and line)."""
    from bee.inputs import existing_file, looks_like_path

    if existing_file(program) is not None or looks_like_path(program):
        return
    from bee.errors import InvalidReferenceError
    from bee.oci.reference import parse_reference

    try:
        parse_reference(program)
    except InvalidReferenceError as exc:
        raise node.error(str(exc)) from None


def _any_mapping(node: YamlNode, what: str = "map names") -> dict[str, YamlNode]:
    """A mapping whose keys are names of the user's choosing (map names, parameter names)."""
    import yaml

    if not isinstance(node.node, yaml.MappingNode):
        raise node.error(f"expected a mapping of {what}")
    keys = tuple(str(YamlNode(k, node.path, node.file).scalar()) for k, _ in node.node.value)
    return node.mapping(keys)


def _params(node: YamlNode) -> dict[str, str]:
    """Parameter name → value as written in the file: a scalar's own text (`0x10` stays hex, `yes` a word),
    a list's items joined by commas (an array); ConfigError for a name that cannot be a C variable, or a
    value that is empty, a mapping, or a list of lists."""
    import yaml

    from bee.errors import UsageError
    from bee.params.assign import check_name

    values: dict[str, str] = {}
    for name, value in _any_mapping(node, "parameter names").items():
        try:
            check_name(name)
        except UsageError as exc:
            raise value.error(str(exc)) from None
        items = value.sequence() if isinstance(value.node, yaml.SequenceNode) else [value]
        texts = []
        for item in items:
            item.scalar()  # ConfigError for a mapping or a list here
            if item.node.tag == "tag:yaml.org,2002:null" or not str(item.node.value).strip():
                raise item.error("expected a value for the parameter")
            texts.append(str(item.node.value))
        if not texts:
            raise value.error("expected at least one value for the array parameter")
        values[name] = ",".join(texts)
    return values


def _buckets(node: YamlNode) -> dict[str, tuple[float, ...]]:
    buckets: dict[str, tuple[float, ...]] = {}
    for name, value in _any_mapping(node).items():
        bounds = tuple(float(item.number(float("-inf"), float("inf"))) for item in value.sequence())
        if not bounds:
            raise value.error("expected at least one bucket bound")
        if any(a >= b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise value.error(f"bucket bounds must increase, got {list(bounds)}")
        buckets[name] = bounds
    return buckets


def _check_unique(programs: tuple[ProgramEntry, ...], entries: list[YamlNode]) -> None:
    """ConfigError when two programs share a name or a pin directory (naming both entries)."""
    seen: dict[tuple[str, str], int] = {}
    for index, (program, entry) in enumerate(zip(programs, entries, strict=True)):
        claims = [("name", program.name)]
        claims += [(key, str(path)) for key, path in (("pin directory", program.pin_maps),
                                                          ("pin directory", program.pin_progs)) if path is not None]
        for claim in dict.fromkeys(claims):  # one program may pin maps and programs in one directory
            if claim in seen:
                first = seen[claim]
                hint = "; give one of them a `name`" if claim[0] == "name" else ""
                raise entry.error(f"{claim[0]} {claim[1]!r} is also that of programs[{first}]{hint}")
            seen[claim] = index
