"""`bee run --param NAME=VALUE` and a runner config's `params:`: values set before the load act in the kernel
(events of other processes are not even sent), every kind reaches the kernel as written, and every mistake
is one sentence, exit 1, nothing loaded; through the real CLI, the real kernel and real scrapes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.run.conftest import BeeRun, bpf_prog_ids, free_port
from tests.run.test_run_config_file import run_bee, start_config  # noqa: F401 - the fixture
from tests.run.test_several import attached_lines

#: A process that names itself, then opens /nonexistent-beeparams/<i> N times for each line "N" it reads.
OPENER = """\
import os, sys
with open("/proc/self/comm", "w") as comm:
    comm.write(sys.argv[1])
print("ready", flush=True)
for line in sys.stdin:
    for i in range(int(line)):
        try:
            os.open(f"/nonexistent-beeparams/{i}", os.O_RDONLY)
        except FileNotFoundError:
            pass
    print("done", flush=True)
"""


class Opener:
    """A running OPENER under a chosen command name."""

    def __init__(self, name: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", OPENER, name], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "ready\n"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def open(self, count: int) -> None:
        """Open `count` missing files, and wait until it has."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{count}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "done\n"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def openers() -> Iterator[Callable[[str], Opener]]:
    made: list[Opener] = []

    def make(name: str) -> Opener:
        made.append(Opener(name))
        return made[-1]

    yield make
    for opener in made:
        opener.close()


def read_total(run: BeeRun) -> int:
    (line,) = run.metric_lines('bee_events_read_total{map="print_events"}')
    return int(line.rsplit(" ", 1)[1])


def test_target_pid_keeps_other_processes_out_in_the_kernel(bee_run, object_file, openers) -> None:
    """opensnoop with --param target_pid: the target's opens are every event read; the opens of another
    process (and of everything else on the machine) never reach the ring buffer."""
    target, other = openers("beeparamtarget"), openers("beeparamnoise")
    run = bee_run(object_file("opensnoop"), "--param", f"target_pid={target.pid}",
                  "-f", "print_events,fname,^/nonexistent-beeparams/")
    other.open(300)
    target.open(25)
    other.open(300)
    run.wait_for(lambda: len(run.events("print_events")) >= 25, what="the target's 25 opens")
    time.sleep(0.5)  # time for anything else to arrive: nothing should
    events = run.events("print_events")
    assert len(events) == 25
    assert {(e["event"]["pid"], e["event"]["comm"]) for e in events} == {(target.pid, "beeparamtarget")}
    assert sorted(e["event"]["fname"] for e in events) == sorted(f"/nonexistent-beeparams/{i}" for i in range(25))
    # read_total counts what came out of the ring buffer before the -f filter: only the target's events
    assert read_total(run) == 25
    run.stop()


def test_without_the_parameter_every_process_is_seen(bee_run, object_file, openers) -> None:
    """The default (0) keeps opensnoop's behaviour: both processes' opens arrive."""
    target, other = openers("beeparamtarget"), openers("beeparamnoise")
    run = bee_run(object_file("opensnoop"), "-f", "print_events,fname,^/nonexistent-beeparams/")
    target.open(5)
    other.open(7)
    run.wait_for(lambda: len(run.events("print_events")) >= 12, what="both processes' opens")
    comms = sorted(e["event"]["comm"] for e in run.events("print_events"))
    assert comms == ["beeparamnoise"] * 7 + ["beeparamtarget"] * 5
    assert read_total(run) >= 12
    run.stop()


def test_target_comm_is_a_string_the_kernel_compares(bee_run, object_file, openers) -> None:
    named, other = openers("beeparamcomm"), openers("beeparamcommx")  # a longer name with the same start
    run = bee_run(object_file("opensnoop"), "--param", "target_comm=beeparamcomm")
    other.open(40)
    named.open(9)
    other.open(40)
    run.wait_for(lambda: len(run.events("print_events")) >= 9, what="the named process's opens")
    time.sleep(0.5)
    assert {(e["event"]["pid"], e["event"]["comm"]) for e in run.events("print_events")} == {
        (named.pid, "beeparamcomm")}
    assert read_total(run) == len(run.events("print_events")) == 9
    run.stop()


#: --param values of tests/data/src/params.c, and the event they make the kernel send.
VALUES = {"trigger": "beeparamsall", "count": "64k", "offset": "-0x10", "big": "0xffffffffffffffff",
          "enabled": "no", "level": "HIGH", "label": "abcdefg", "addr": "10.1.2.3", "addr6": "fe80::2",
          "wait": "2.5ms", "ports": "1,2,3", "mask": "255,0x0f"}
EVENT = {"count": 64000, "offset": -16, "big": (1 << 64) - 1, "enabled": False, "level": "HIGH", "label": "abcdefg",
         "addr": "10.1.2.3", "addr6": "fe80::2", "wait": "2.5ms", "ports": [1, 2, 3, 0], "mask": [255, 15, 0],
         "comm": "beeparamsall"}
DEFAULTS = {"count": 7, "offset": -3, "big": 0x1122334455667788, "enabled": True, "level": "MID", "label": "bee",
            "addr": "127.0.0.1", "addr6": "2001:db8::1", "wait": "1.5ms", "ports": [80, 443, 0, 0],
            "mask": [0, 0, 0], "comm": "beeparams"}


def test_every_kind_reaches_the_kernel_as_written(bee_run, object_file, trigger) -> None:
    argv = [arg for name, value in VALUES.items() for arg in ("--param", f"{name}={value}")]
    run = bee_run(object_file("params"), *argv)
    trigger("beeparams")  # the default trigger: no longer the one
    trigger("beeparamsall")
    run.wait_for(lambda: run.events("print_params"), what="the event")
    time.sleep(0.2)
    assert [e["event"] for e in run.events("print_params")] == [EVENT]
    run.stop()


def test_defaults_without_params(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("params"))
    trigger("beeparams")
    run.wait_for(lambda: run.events("print_params"), what="the event")
    assert [e["event"] for e in run.events("print_params")] == [DEFAULTS]
    run.stop()


@pytest.mark.parametrize(("program", "args", "code", "message"), [
    ("params", ["--param", "count=-1"],
     1, "parameter count (u32) of program params cannot be '-1': it takes an integer from 0 to 4294967295 "
        "(decimal, 0x hex, or with a k, M or G suffix); -1 is out of range"),
    ("params", ["--param", "enabled=maybe"],
     1, "parameter enabled (bool) of program params cannot be 'maybe': it takes a boolean (true, false, yes, no, "
        "1 or 0)"),
    ("params", ["--param", "level=TOP"],
     1, "parameter level (enum level) of program params cannot be 'TOP': it takes one of its enumerators by name or "
        "value: LOW (1), MID (5), HIGH (9)"),
    ("params", ["--param", "label=abcdefgh"],
     1, "parameter label (char[8]) of program params cannot be 'abcdefgh': it takes a string of at most 7 bytes "
        "(UTF-8); it is 8 bytes"),
    ("params", ["--param", "addr=10.0.0"],
     1, "parameter addr (ipv4_addr) of program params cannot be '10.0.0': it takes an IPv4 address in dotted "
        "notation (10.0.0.1)"),
    ("params", ["--param", "addr6=::g"],
     1, "parameter addr6 (ipv6_addr) of program params cannot be '::g': it takes an IPv6 address in colon notation "
        "(2001:db8::1)"),
    ("params", ["--param", "wait=10"],
     1, "parameter wait (duration) of program params cannot be '10': it takes a duration with a unit, from 0s to "
        "2562047h47m16.854775807s (such as 10ms, 1.5s, 250us or 100ns)"),
    ("params", ["--param", "ports=1,2,3,4,5"],
     1, "parameter ports (u16[4]) of program params cannot be '1,2,3,4,5': it takes up to 4 comma-separated values, "
        "each an integer from 0 to 65535 (decimal, 0x hex, or with a k, M or G suffix); it has 5"),
    ("params", ["--param", "pair=1"],
     1, "parameter pair (struct pair) of program params cannot be set by bee: it sets integers, bool, enums, char "
        "arrays, ipv4_addr, ipv6_addr, duration and arrays of these"),
    ("opensnoop", ["--param", "target_pdi=1"],
     1, "program opensnoop has no parameter target_pdi (did you mean target_pid?); its parameters are target_pid "
        "(u32), target_comm (char[16])"),
    ("run_types", ["--param", "target_pid=1"],
     1, "program run_types has no parameters (no `const volatile` globals), so target_pid=1 cannot be set"),
    ("params", ["--param", "count"], 2, "invalid parameter 'count': expected --param NAME=VALUE"),
    ("params", ["--param", "count=1", "--param", "count=2"],
     2, "parameter count is given twice (--param count=1 and --param count=2)"),
])
def test_a_bad_value_is_one_sentence_and_loads_nothing(root: None, object_file, store_dir: Path, program: str,
                                                       args: list[str], code: int, message: str) -> None:
    before = bpf_prog_ids("on_exec_params")
    proc = run_bee(store_dir, object_file(program), "--no-tty", "--prom-port", str(free_port()), *args)
    assert (proc.returncode, proc.stdout, proc.stderr) == (code, "", f"Error: {message}\n")
    assert bpf_prog_ids("on_exec_params") <= before


def test_several_programs_each_must_have_the_parameter(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("params"), object_file("run_types"), "--param", "trigger=beeparamsboth")
    run.wait_for(lambda: any("did not start" in line for line in run.stderr_lines), what="run_types' warning")
    assert [line for line in run.stderr_lines if "did not start" in line] == [
        f"bee: warning: program run_types ({object_file('run_types')}) did not start: program run_types has no "
        "parameters (no `const volatile` globals), so trigger=beeparamsboth cannot be set"]
    trigger("beeparamsboth")
    run.wait_for(lambda: run.events("print_params"), what="the event")
    assert run.events("print_params")[0]["event"]["comm"] == "beeparamsboth"
    run.stop()


CONFIG = """\
programs:
  - program: {params}
    name: tuned
    params:
      trigger: beeparamscfg
      count: 0x10
      enabled: yes
      ports: [8, 0x9]
      wait: 1h
metrics: {{address: 127.0.0.1, port: {port}}}
format: json
"""


def test_a_config_sets_params_and_a_reload_applies_new_ones(start_config, object_file, trigger,  # noqa: F811
                                                             tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "runner.yaml"
    path.write_text(CONFIG.format(params=object_file("params"), port=port))
    run = start_config(path, port)
    trigger("beeparamscfg")
    run.wait_for(lambda: run.events("print_params"), what="the event")
    [event] = run.events("print_params")
    assert event["program"] == "tuned"
    assert {k: event["event"][k] for k in ("count", "enabled", "ports", "wait", "comm")} == {
        "count": 16, "enabled": True, "ports": [8, 9, 0, 0], "wait": "1h0m0s", "comm": "beeparamscfg"}
    # a changed parameter is a changed program: removed and added again, with the new value in the kernel
    path.write_text(CONFIG.format(params=object_file("params"), port=port).replace("count: 0x10", "count: 17"))
    os.kill(run.proc.pid, signal.SIGHUP)
    run.wait_for(lambda: any(line.startswith("bee: reload:") for line in run.stderr_lines), what="the reload")
    assert [line for line in run.stderr_lines if line.startswith("bee: reload:")] == [
        "bee: reload: +1 -1 (0 unchanged): added tuned; removed tuned"]
    trigger("beeparamscfg")
    run.wait_for(lambda: len(run.events("print_params")) == 2, what="the second event")
    assert run.events("print_params")[1]["event"]["count"] == 17
    assert len(attached_lines(run)) == 2
    run.stop()


def test_a_config_with_a_bad_param_name_is_refused_with_file_and_line(root: None, object_file, tmp_path: Path,
                                                                       store_dir: Path) -> None:
    path = tmp_path / "runner.yaml"
    path.write_text(CONFIG.format(params=object_file("params"), port=free_port()).replace("count:", "count-x:"))
    proc = run_bee(store_dir, "--config", str(path), "--no-tty")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (f"Error: {path}, line 6: programs[0].params.count-x: 'count-x' cannot be a parameter "
                           "name: parameters are C variables (letters, digits and _, not starting with a digit)\n")


def test_a_config_with_a_value_its_program_does_not_take_names_the_program(root: None, object_file, tmp_path: Path,
                                                                           store_dir: Path) -> None:
    before = bpf_prog_ids("on_exec_params")
    path = tmp_path / "runner.yaml"
    path.write_text(CONFIG.format(params=object_file("params"), port=free_port()).replace("wait: 1h", "wait: 1d"))
    proc = run_bee(store_dir, "--config", str(path), "--no-tty")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == ("Error: parameter wait (duration) of program tuned cannot be '1d': it takes a duration "
                           "with a unit, from 0s to 2562047h47m16.854775807s (such as 10ms, 1.5s, 250us or 100ns)\n")
    assert bpf_prog_ids("on_exec_params") <= before


@pytest.mark.clang  # bee build --local
def test_a_bee_init_skeleton_with_filter_pid_keeps_one_process(bee, bee_run, openers, tmp_path: Path) -> None:
    source, obj = tmp_path / "probe.c", tmp_path / "probe.o"
    assert bee("init", "--program-type", "FileSystem", "--filter-pid", "-f", str(source), input="").returncode == 0
    built = bee("build", str(source), "-o", str(obj), "--binary-only", "--local")
    assert built.returncode == 0, built.stderr
    described = bee("describe", str(obj)).stdout
    assert "  target_pid  u32   4B    0\n" in described, described
    target, other = openers("beeparaminit"), openers("beeparaminitx")
    run = bee_run(str(obj), "--param", f"target_pid={target.pid}", "-f", "print_events,fname,^/nonexistent-beeparams/")
    other.open(50)
    target.open(6)
    run.wait_for(lambda: len(run.events("print_events")) >= 6, what="the target's opens")
    time.sleep(0.3)
    assert {(e["event"]["pid"], e["event"]["comm"]) for e in run.events("print_events")} == {
        (target.pid, "beeparaminit")}
    assert read_total(run) == 6
    run.stop()
