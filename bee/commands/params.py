"""The options of `bee` (global) and `bee run`, declared once without click.

click builds its options from these declarations (`bee.commands._shared.click_options`), and
`bee.commands.fastparse` reads a plain `bee run` command line with them without importing click, so both
always agree on names, defaults and types. Help texts live here too.
"""

from __future__ import annotations

from pathlib import Path

from bee.inputs import expand_user
from bee.options import DEFAULT_CONFIG_DIR, DEFAULT_REGISTRY_TIMEOUT, DEFAULT_STORAGE, GlobalOptions
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)
from bee.run.settings import DEFAULT_POLL_INTERVAL, DEFAULT_PROM_PORT

FLAG, TEXT, INT, FLOAT, CHOICE, PATH = "flag", "text", "int", "float", "choice", "path"


class Opt(Record):
    """One option: where its value goes (`dest`), its spellings and how its value is read.

    `kind` is one of FLAG (no value, True when given), TEXT, INT and FLOAT (within `bounds`,
    inclusive), CHOICE (one of `choices`, exactly) and PATH (a `pathlib.Path`; an existing
    regular file is refused unless `file_okay`). A `multiple` option collects a tuple.
    """

    dest: str
    flags: tuple[str, ...]
    kind: str = TEXT
    help: str = ""
    default: object = None
    multiple: bool = False
    choices: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None
    envvar: str | None = None
    metavar: str | None = None
    show_default: bool = False
    file_okay: bool = True

    def initial(self) -> object:
        """The value when the option is not given (and its environment variable is not set)."""
        if self.multiple:
            return ()
        if self.kind == FLAG:
            return False
        if self.kind == PATH and self.default is not None:
            return Path(str(self.default))
        return self.default


GLOBAL_OPTIONS: tuple[Opt, ...] = (
    Opt("verbose", ("-v", "--verbose"), FLAG, "Say more about what bee is doing."),
    Opt("debug", ("--debug",), FLAG, "Show tracebacks for errors.", envvar="BEE_DEBUG"),
    Opt("storage", ("--storage",), PATH, "Local OCI store directory.", default=str(DEFAULT_STORAGE),
        show_default=True, envvar="BEE_STORAGE"),
    Opt("config_dir", ("--config-dir",), PATH, "Directory for bee's configuration (credentials, signature policy).",
        default=str(DEFAULT_CONFIG_DIR), show_default=True),
    Opt("auth_configs", ("-c", "--config"), PATH,
        "Registry auth config file (docker config.json format); repeatable.", multiple=True),
    Opt("username", ("-u", "--username"), TEXT, "Registry username."),
    Opt("password", ("-p", "--password"), TEXT, "Registry password."),
    Opt("insecure", ("--insecure",), FLAG, "Allow registries with TLS certificates that do not verify."),
    Opt("plain_http", ("--plain-http",), FLAG, "Talk to registries over plain HTTP."),
    Opt("timeout", ("--timeout",), FLOAT,
        "Seconds a pull, push or login may take (plus time for its blobs at 32 KiB/s), and that a registry "
        "may stay silent.",
        default=DEFAULT_REGISTRY_TIMEOUT, bounds=(0.1, 86400), envvar="BEE_TIMEOUT", show_default=True),
)

RUN_OPTIONS: tuple[Opt, ...] = (
    Opt("debug", ("-d", "--debug"), FLAG, "Show libbpf's log and tracebacks."),
    Opt("filters", ("-f", "--filter"), TEXT, "Print only events whose FIELD matches REGEX; repeatable.",
        multiple=True, metavar="MAP,FIELD,REGEX"),
    Opt("hist_buckets", ("-b", "--hist-buckets"), TEXT, "Histogram buckets of a hist_ map.", multiple=True,
        metavar="MAP,[B1,B2,...]"),
    Opt("hist_value_key", ("-k", "--hist-value-key"), TEXT, "Field a hist_ map observes [default: le].",
        multiple=True, metavar="MAP,FIELD"),
    Opt("params", ("--param",), TEXT,
        "Set a parameter (a `const volatile` global of the program) before it loads; repeatable. "
        "`bee describe` lists them.", multiple=True, metavar="NAME=VALUE"),
    Opt("outputs", ("--output",), TEXT,
        "Export map MAP as KIND (print, counter, gauge, hist, log2hist, linhist) whatever its name, for programs "
        "written without Bumblebee's map names (bpfman's); repeatable.", multiple=True, metavar="MAP=KIND"),
    Opt("no_tty", ("--no-tty",), FLAG, "Log events to stdout instead of an interactive view."),
    Opt("fmt", ("--format",), CHOICE, "Event log format.", default="text", choices=("text", "json"),
        show_default=True),
    Opt("prom_port", ("--prom-port",), INT, "Port of the metrics endpoint (0: any free port).",
        default=DEFAULT_PROM_PORT, bounds=(0, 65535), show_default=True),
    Opt("prom_addr", ("--prom-addr",), TEXT, "Address of the metrics endpoint [default: every interface]."),
    Opt("web_config", ("--web-config",), PATH,
        "TLS and basic auth for the metrics endpoint: a Prometheus exporter-toolkit web config file.",
        metavar="FILE"),
    Opt("poll_interval", ("--poll-interval",), FLOAT, "Seconds between reads of hash maps.",
        default=DEFAULT_POLL_INTERVAL, bounds=(0.05, 3600), show_default=True),
    Opt("iface", ("--iface",), TEXT, "Network interface for XDP and TC programs."),
    Opt("pin_maps", ("--pin-maps",), PATH, "Pin maps under this bpffs dir.", file_okay=False),
    Opt("pin_progs", ("--pin-progs",), PATH, "Pin programs under this bpffs dir.", file_okay=False),
    Opt("pull_policy", ("--pull",), CHOICE,
        "Pull each reference from its registry: when not stored, before every run, or never.",
        default="missing", choices=("missing", "always", "never"), show_default=True),
    Opt("fail_fast", ("--fail-fast",), FLAG,
        "With several programs: end the run when one fails to start (by default the others go on)."),
    Opt("bpf_stats", ("--bpf-stats",), FLAG,
        "Count what each BPF program costs the kernel while the run lasts (Linux 5.8, CAP_SYS_ADMIN; a clock "
        "read before and after every run): bee_bpf_runs_total and bee_bpf_run_seconds_total per BPF program, "
        "/healthz as JSON with nanoseconds per run, and one line per BPF program at exit."),
    Opt("verify_keys", ("--verify-key",), PATH,
        "Load only programs signed by this public key (cosign's format, PEM); repeatable: any one of them. "
        "Checked before any byte is stored or loaded.", multiple=True, metavar="PUB"),
    Opt("policy", ("--policy",), PATH,
        "Signature policy file: which keys each registry or repository needs [default: "
        "<config-dir>/policy.yaml when it exists].", metavar="FILE"),
    Opt("ignore_identity", ("--ignore-identity",), FLAG,
        "Accept a signature made for another repository (as cosign does), for copies between registries."),
    Opt("runner_config", ("--config",), PATH,
        "Run the programs of this runner config file (YAML), each with its own options, instead of "
        "BPF_PROGRAM arguments.", metavar="FILE"),
)


def global_options(values: dict[str, object]) -> GlobalOptions:
    """`GlobalOptions` from the parsed values of GLOBAL_OPTIONS (paths with `~` expanded)."""
    storage = values["storage"]
    config_dir = values["config_dir"]
    auth_configs = values["auth_configs"]
    assert isinstance(storage, Path) and isinstance(config_dir, Path) and isinstance(auth_configs, tuple)
    return GlobalOptions(
        storage=expand_user(storage), config_dir=expand_user(config_dir),
        auth_configs=tuple(expand_user(p) for p in auth_configs),
        username=values["username"], password=values["password"],  # type: ignore[arg-type]
        insecure=bool(values["insecure"]), plain_http=bool(values["plain_http"]),
        verbose=bool(values["verbose"]), debug=bool(values["debug"]),
        timeout=float(values["timeout"]),  # type: ignore[arg-type]
    )
