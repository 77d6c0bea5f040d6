"""`bee.run.runconfig`: the settings of `bee run` from arguments or from `--config FILE`, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bee.commands.params import RUN_OPTIONS
from bee.errors import UsageError
from bee.run.runconfig import CONFIGURED, settings_from
from bee.run.settings import ProgramOptions, RunSettings

DEFAULTS = {opt.dest: opt.initial() for opt in RUN_OPTIONS}


def test_configured_options_are_those_of_the_command_line() -> None:
    by_dest = {opt.dest: opt for opt in RUN_OPTIONS}
    for dest, (flag, default) in CONFIGURED.items():
        assert flag in by_dest[dest].flags and default == by_dest[dest].initial(), dest
    assert set(by_dest) - set(CONFIGURED) == {"debug", "no_tty", "runner_config", "bpf_stats", "web_config"}


def test_arguments_give_every_program_the_same_options() -> None:
    values = {**DEFAULTS, "filters": ("m,f,x",), "pin_maps": Path("/sys/fs/bpf/m"), "pull_policy": "never"}
    settings = settings_from(["a.o", "ghcr.io/me/b:v1"], values)
    assert settings.program_options() == (
        ProgramOptions(program="a.o", name="a", pull="never", filters=("m,f,x",), pin_maps=Path("/sys/fs/bpf/m/a")),
        ProgramOptions(program="ghcr.io/me/b:v1", name="b", pull="never", filters=("m,f,x",),
                       pin_maps=Path("/sys/fs/bpf/m/b")))
    one = settings_from(["a.o"], values).program_options()
    assert one[0].pin_maps == Path("/sys/fs/bpf/m")  # one program pins in the directory given


def test_params_go_to_every_program_given() -> None:
    values = {**DEFAULTS, "params": ("target_pid=12", "target_comm=a=b", "ports=1,2", "empty=")}
    settings = settings_from(["a.o", "b.o"], values)
    expected = {"target_pid": "12", "target_comm": "a=b", "ports": "1,2", "empty": ""}
    assert [p.params for p in settings.program_options()] == [expected, expected]


@pytest.mark.parametrize(("params", "message"), [
    (("target_pid",), "invalid parameter 'target_pid': expected --param NAME=VALUE"),
    (("=1",), "invalid parameter '=1': expected --param NAME=VALUE"),
    (("target-pid=1",), "'target-pid' cannot be a parameter name: parameters are C variables (letters, digits and _, "
                        "not starting with a digit)"),
    (("a=1", "a=2"), "parameter a is given twice (--param a=1 and --param a=2)"),
])
def test_bad_params(params: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        settings_from(["a.o"], {**DEFAULTS, "params": params})
    assert str(caught.value) == message and caught.value.exit_code == 2


def test_a_config_gives_each_program_its_own(tmp_path: Path) -> None:
    path = tmp_path / "runner.yaml"
    path.write_text("programs:\n  - {program: a.o, name: first, filters: ['m,f,x'], iface: lo, params: {n: 0x1}}\n"
                    "  - {program: a.o, name: second, pull: never, hist_buckets: {h: [1, 2]}}\n"
                    "metrics: {address: 127.0.0.1, port: 9500}\nformat: json\nfail_fast: true\n")
    settings = settings_from([], {**DEFAULTS, "runner_config": path, "no_tty": True})
    assert settings.program_options() == (
        ProgramOptions(program="a.o", name="first", filters=("m,f,x",), iface="lo", params={"n": "0x1"}),
        ProgramOptions(program="a.o", name="second", pull="never", hist_buckets={"h": (1.0, 2.0)}))
    assert (settings.fmt, settings.prom_host, settings.prom_port, settings.fail_fast, settings.no_tty) == (
        "json", "127.0.0.1", 9500, True, True)
    assert settings.several and RunSettings(programs=("a.o",)).several is False


@pytest.mark.parametrize(("programs", "extra", "message"), [
    ([], {}, "bee run needs a program: give BPF_PROGRAM arguments or --config FILE"),
    (["a.o"], {"runner_config": Path("r.yaml")}, "give programs either as arguments or in --config r.yaml, "
                                                 "not both (got a.o)"),
    ([], {"runner_config": Path("r.yaml"), "fmt": "json"},
     "--format cannot be given with --config r.yaml: set it in the config file instead"),
    ([], {"runner_config": Path("r.yaml"), "fail_fast": True},
     "--fail-fast cannot be given with --config r.yaml: set it in the config file instead"),
    ([], {"runner_config": Path("r.yaml"), "params": ("a=1",)},
     "--param cannot be given with --config r.yaml: set it in the config file instead"),
])
def test_refused(programs: list[str], extra: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        settings_from(programs, {**DEFAULTS, **extra})
    assert str(caught.value) == message
