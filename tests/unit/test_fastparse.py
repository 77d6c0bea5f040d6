"""`bee.commands.fastparse` against click: every `bee run` command line it reads, click reads the same way.

click is the reference: `click_reading` runs the real click group with `start_run` replaced by
a function that records what it was given, so no program is run.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from bee.commands import group
from bee.commands.fastparse import RunCommand, parse_run
from bee.commands.params import GLOBAL_OPTIONS, RUN_OPTIONS
from bee.run import start


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """No bee variables in the environment; the dict is what both parsers are given."""
    for name in ("BEE_STORAGE", "BEE_DEBUG", "_BEE_COMPLETE"):
        monkeypatch.delenv(name, raising=False)
    yield dict(os.environ)


def click_reading(argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> RunCommand | str:
    """What click hands `start_run` for `argv` under `env`, or the name of the exception it raised."""
    seen: list[RunCommand] = []
    with monkeypatch.context() as patch:
        for name in ("BEE_STORAGE", "BEE_DEBUG", "_BEE_COMPLETE"):
            if name in env:
                patch.setenv(name, env[name])
            else:
                patch.delenv(name, raising=False)
        patch.setattr(start, "start_run", lambda options, programs, values: seen.append(
            RunCommand(options, tuple(programs), dict(values))))
        try:
            group.cli.main(args=list(argv), prog_name="bee", standalone_mode=False)
        except (click.ClickException, click.exceptions.Exit) as exc:
            return type(exc).__name__
    assert len(seen) <= 1, argv
    return seen[0] if seen else "exited"  # --help, --version


ACCEPTED = [
    ["run", "x"],
    ["run", "prog.o", "--no-tty", "--format", "json", "--prom-port", "0", "--prom-addr", "127.0.0.1"],
    ["--storage", "/tmp/s", "--config-dir", "cfg", "--plain-http", "--insecure", "-v", "run", "ref:v1", "-d"],
    ["-c", "a.json", "--config", "b.json", "-u", "me", "-p", "pw", "run", "x", "-f", "m,f,^a$",
     "--filter=m,g,b", "-b", "h,[1,2]", "-k", "h,lat", "--hist-value-key", "h2,x"],
    ["run", "--poll-interval", "0.5", "x", "--iface", "lo", "--pin-maps", "/sys/fs/bpf/x", "--pin-progs",
     "/tmp/p", "--pull", "never"],
    ["run", "x", "--prom-port=65535", "--poll-interval=3600", "--format=text", "--pull=always"],
    ["run", "x", "--bpf-stats", "--no-tty"],
    ["run", "x", "--prom-port", "007", "--poll-interval", "0.05", "--format", "json", "--format", "text"],
    ["--storage", "~/store", "--debug", "run", "--no-tty", "--no-tty", "ghcr.io/a/b:1"],
    ["--storage=/a", "--storage", "/b", "run", "-"],
    ["run", "x", "-f", "=", "--prom-addr", "::1"],
    ["--storage=", "run", "x", "--prom-addr=", "-f", ""],  # empty values
    ["run", "", "--prom-port", "١٢", "--poll-interval", "١.5"],  # int() and float() read any Unicode digits
    ["-u", "", "--insecure", "--insecure", "run", "-d", "x", "-d"],
    ["run", "a", "b"],  # several programs
    ["run", "a.o", "--no-tty", "ghcr.io/a/b:1", "--fail-fast", "c.o", "--pull", "never"],
    ["run", "--config", "runner.yaml", "--no-tty"],  # programs from a runner config
    ["-c", "auth.json", "run", "--config=runner.yaml", "-d"],  # the global -c/--config is another option
    ["run", "x", "--param", "target_pid=12", "--param=target_comm=bash", "--param", "a=1,2"],  # parameters
    ["-p", "pw", "run", "x", "--param", "p=x=y"],  # the global -p is the password; --param has no short form
    ["run", "x", "--storage", "/s"], ["run", "x", "--plain-http", "-v", "--timeout", "5", "--no-tty"],  # globals after
    ["run", "x", "--debug"],  # run's own --debug (libbpf's log too), not the global one
]


@pytest.mark.parametrize("argv", ACCEPTED, ids=" ".join)
def test_reads_like_click(argv: list[str], clean_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    fast = parse_run(argv, clean_env)
    assert fast is not None
    assert fast == click_reading(argv, clean_env, monkeypatch)


def test_every_option_is_read(clean_env: dict[str, str]) -> None:
    """Each option of both tables reaches its own `dest`, with the value given."""
    fast = parse_run(ACCEPTED[3], clean_env)
    assert fast is not None
    assert fast.options.auth_configs == (Path("a.json"), Path("b.json"))
    assert (fast.options.username, fast.options.password) == ("me", "pw")
    assert fast.values["filters"] == ("m,f,^a$", "m,g,b")
    assert fast.values["hist_buckets"] == ("h,[1,2]",)
    assert fast.values["hist_value_key"] == ("h,lat", "h2,x")
    assert set(fast.values) == {opt.dest for opt in RUN_OPTIONS}
    assert len({opt.dest for opt in GLOBAL_OPTIONS}) == len(GLOBAL_OPTIONS)


def test_storage_from_the_environment(clean_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for env, argv in [({"BEE_STORAGE": "/env/store"}, ["run", "x"]),
                      ({"BEE_STORAGE": "/env/store"}, ["--storage", "/flag", "run", "x"]),
                      ({"BEE_STORAGE": ""}, ["run", "x"])]:
        fast = parse_run(argv, {**clean_env, **env})
        assert fast == click_reading(argv, {**clean_env, **env}, monkeypatch)
    assert parse_run(["run", "x"], {"BEE_STORAGE": "/env/store"}).options.storage == Path("/env/store")  # type: ignore[union-attr]


def test_defaults_are_clicks(clean_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    fast = parse_run(["run", "x"], clean_env)
    assert fast is not None
    assert fast.values == {"debug": False, "filters": (), "hist_buckets": (), "hist_value_key": (), "params": (),
                           "no_tty": False,
                           "fmt": "text", "prom_port": 9091, "prom_addr": None, "web_config": None,
                           "poll_interval": 1.0, "iface": None,
                           "pin_maps": None, "pin_progs": None, "pull_policy": "missing", "fail_fast": False,
                           "bpf_stats": False, "verify_keys": (), "policy": None, "ignore_identity": False,
                           "outputs": (),
                           "runner_config": None}
    assert fast.options.storage == Path("~/.bumblebee/store").expanduser()


@pytest.mark.parametrize("argv", [
    ["run"], ["run", "x", "--format", "xml"], ["run", "x", "--prom-port", "70000"],
    ["run", "x", "--prom-port", "-1"], ["run", "x", "--prom-port", "0x10"], ["run", "x", "--poll-interval", "0"],
    ["run", "x", "--poll-interval", "inf"], ["run", "x", "--nope"], ["run", "x", "--no-tty=1"],
    ["--nope", "run", "x"], ["run", "x", "--format"], ["run", "x", "--pull", "sometimes"], ["-v", "run"],
    ["version", "run"],
], ids=" ".join)
def test_leaves_bad_command_lines_to_click(argv: list[str], clean_env: dict[str, str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """What click refuses is never read here: click prints its usual message."""
    assert parse_run(argv, clean_env) is None
    assert click_reading(argv, clean_env, monkeypatch) in ("UsageError", "BadParameter", "NoSuchOption",
                                                           "MissingParameter", "BadOptionUsage")


@pytest.mark.parametrize("argv", [
    ["run", "x", "-dfm,f,r"], ["run", "--", "x"], ["run", "x", "-f", "-weird"], ["run", "x", "-fm,f,r"],
], ids=" ".join)
def test_leaves_unusual_spellings_to_click(argv: list[str], clean_env: dict[str, str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid but unusual command lines go to click too (only slower)."""
    assert parse_run(argv, clean_env) is None
    assert isinstance(click_reading(argv, clean_env, monkeypatch), RunCommand)


@pytest.mark.parametrize("argv", [["run", "--help"], ["--help"], ["--version"], ["run", "x", "-h"], ["list"]],
                         ids=" ".join)
def test_leaves_help_and_other_commands_to_click(argv: list[str], clean_env: dict[str, str]) -> None:
    assert parse_run(argv, clean_env) is None


def test_leaves_debug_env_and_completion_to_click(clean_env: dict[str, str]) -> None:
    assert parse_run(["run", "x"], {**clean_env, "BEE_DEBUG": "1"}) is None
    assert parse_run(["run", "x"], {**clean_env, "_BEE_COMPLETE": "bash_complete"}) is None
    assert parse_run(["run", "x"], {**clean_env, "BEE_DEBUG": ""}) is not None


def test_path_options_are_checked_as_click_does(tmp_path: Path, clean_env: dict[str, str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    a_dir = tmp_path / "dir"
    a_dir.mkdir()
    for argv in (["run", "x", "--pin-maps", str(a_file)], ["run", "x", "--pin-progs", str(a_file)]):
        assert parse_run(argv, clean_env) is None
        assert click_reading(argv, clean_env, monkeypatch) == "BadParameter"
    for argv in (["run", "x", "--pin-maps", str(a_dir)], ["--storage", str(a_file), "run", "x"],
                 ["--config-dir", str(a_dir), "-c", str(a_file), "run", "x"]):
        fast = parse_run(argv, clean_env)
        assert fast is not None
        assert fast == click_reading(argv, clean_env, monkeypatch)


def test_random_command_lines(tmp_path: Path, clean_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Command lines drawn from valid and invalid pieces: whatever this parser reads, click reads the same."""
    a_file = tmp_path / "file"
    a_file.write_text("x")
    global_pieces = [["--storage", "/s"], ["--storage=~/s"], ["--config-dir", "c"], ["-c", "a.json"], ["-u", "me"],
                     ["-p", "pw"], ["--insecure"], ["--plain-http"], ["-v"], ["--debug"], ["--storage", str(a_file)]]
    run_pieces = [
        ["-d"], ["--debug"], ["--no-tty"], ["-f", "m,f,r"], ["--filter=m,f,r"], ["-b", "m,[1]"], ["-k", "m,f"],
        ["--format", "json"], ["--format=text"], ["--prom-port", "0"], ["--prom-port", "65535"], ["--prom-addr", "::"],
        ["--poll-interval", "2"], ["--poll-interval", "1e-3"], ["--poll-interval", "0.25"], ["--iface", "lo"],
        ["--pin-maps", "/p"], ["--pin-progs", str(tmp_path)], ["--pull", "never"], ["--pull=always"],
        ["--fail-fast"], ["prog2"], ["ghcr.io/a/prog3:1", "prog4.o"], ["--config", "r.yaml"],
    ]
    bad_pieces = [
        ["--format", "JSON"], ["--prom-port", "99999"], ["--prom-port=1_000"], ["--prom-port", " 7 "],
        ["--poll-interval", "nan"], ["--pin-maps", str(a_file)], ["--pull"], ["run"], ["--"], ["-"],
        ["-x"], ["--help"], ["-fm,f,r"], ["-dv"], ["--no-tty=yes"], ["--storage", "/s"], ["-c"],
    ]
    rng = random.Random(20261130)
    read = 0
    for _ in range(600):
        before = [token for _ in range(rng.randint(0, 3)) for token in rng.choice(global_pieces)]
        after = [rng.choice(run_pieces) for _ in range(rng.randint(0, 5))]
        after.insert(rng.randint(0, len(after)), ["prog"])
        argv = [*before, "run", *(token for piece in after for token in piece)]
        for _ in range(rng.choice([0, 0, 1, 2])):
            argv[rng.randint(0, len(argv)):0] = rng.choice(bad_pieces)
        env = {**clean_env, "BEE_STORAGE": "/env"} if rng.random() < 0.2 else clean_env
        fast = parse_run(argv, env)
        if fast is not None:
            read += 1
            assert fast == click_reading(argv, env, monkeypatch), argv
        else:
            click_reading(argv, env, monkeypatch)  # click must not crash either
    assert 200 < read < 600  # the draw reaches both paths often


def test_bee_run_does_not_import_click(tmp_path: Path) -> None:
    """A plain `bee run` never imports click, even when it fails (here: an unknown reference)."""
    code = ("import sys\nfrom bee.cli import main\ntry:\n    main(sys.argv[1:])\nfinally:\n"
            "    print('click' in sys.modules, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code, "--storage", str(tmp_path), "run", "nope:v1", "--no-tty"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"Error: nope:v1 is not in the local store ({tmp_path}); build it with `bee build` or pull it with `bee pull`",
        "False"]
