"""`bee init` through the real CLI: flags, prompts answered on stdin, refusal to overwrite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import assert_one_line_error, require


@pytest.mark.parametrize(
    ("flags", "section", "map_line"),
    [
        (["--program-type", "network", "-m", "ringbuffer", "-o", "PRINT"],
         "tracepoint/sock/inet_sock_set_state", "} print_events SEC(\".maps\");"),
        (["--program-type", "Network", "--map", "HashMap", "--output-type", "gauge"],
         "tracepoint/sock/inet_sock_set_state", "} gauge_events SEC(\".maps\");"),
        (["--program-type", "file-system"],
         "tracepoint/syscalls/sys_enter_openat", "} print_events SEC(\".maps\");"),
        (["-l", "c", "--program-type", "FileSystem", "-m", "hash-map", "-o", "counter"],
         "tracepoint/syscalls/sys_enter_openat", "} counter_events SEC(\".maps\");"),
    ],
)
def test_flags_only_runs_without_prompts(bee, tmp_path: Path, flags: list[str], section: str, map_line: str) -> None:
    target = tmp_path / "deep" / "probe.c"
    proc = bee("init", *flags, "-f", str(target), input="")
    assert proc.returncode == 0, proc.stderr
    text = target.read_text()
    assert f'SEC("{section}")' in text
    assert map_line in text
    assert "?" not in proc.stderr and "initialize" not in proc.stderr  # nothing was asked


def test_filter_pid_adds_the_target_pid_parameter(bee, tmp_path: Path) -> None:
    target = tmp_path / "probe.c"
    proc = bee("init", "--program-type", "FileSystem", "--filter-pid", "-f", str(target), input="")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (f"Wrote a FileSystem program with a RingBuffer print map and a target_pid parameter "
                           f"to {target}\n")
    text = target.read_text()
    assert "const volatile u32 target_pid = 0;" in text
    assert "if (target_pid && (bpf_get_current_pid_tgid() >> 32) != target_pid)" in text


def test_prompts_answered_on_stdin(bee, tmp_path: Path) -> None:
    proc = bee("init", input="Network\nnot-a-map\nHashMap\ncounter\nmine.c\n")
    assert proc.returncode == 0, proc.stderr
    assert "What type of program to initialize" in proc.stderr
    assert "'not-a-map' is not a valid map type" in proc.stderr  # asked again, not fatal
    assert '} counter_events SEC(".maps");' in (tmp_path / "mine.c").read_text()


def test_default_file_name_is_bee_c(bee, tmp_path: Path) -> None:
    proc = bee("init", "--program-type", "FileSystem", input="\n")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "bee.c").is_file()


def test_missing_answer_on_closed_stdin_is_one_clear_error(bee, tmp_path: Path) -> None:
    proc = bee("init", "--program-type", "Network", "-m", "HashMap", "-f", "x.c", input="")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "Error: no output type was given; pass it as a flag to run without prompts")
    assert not (tmp_path / "x.c").exists()


def test_invalid_flag_value(bee) -> None:
    proc = bee("init", "--program-type", "kernel", "-f", "x.c", input="")
    assert_one_line_error(proc, "'kernel' is not a valid program type; choose one of: Network, FileSystem")


def test_existing_file_is_kept_without_force(bee, tmp_path: Path) -> None:
    target = tmp_path / "probe.c"
    target.write_text("// mine\n")
    proc = bee("init", "--program-type", "FileSystem", "-f", str(target), input="")
    assert_one_line_error(proc, "already exists; use --force to overwrite it")
    assert target.read_text() == "// mine\n"
    forced = bee("init", "--program-type", "FileSystem", "-f", str(target), "--force", input="")
    assert forced.returncode == 0, forced.stderr
    assert "sys_enter_openat" in target.read_text()


def test_unwritable_directory(bee) -> None:
    proc = bee("init", "--program-type", "FileSystem", "-f", "/sys/kernel/probe.c", input="")
    assert_one_line_error(proc, "/sys/kernel/probe.c", "Permission denied")


def test_a_pairing_bee_run_would_refuse_is_refused_by_init(bee, tmp_path: Path) -> None:
    proc = bee("init", "--program-type", "FileSystem", "-m", "RingBuffer", "-o", "gauge", "-f", "x.c")
    assert proc.returncode == 2
    assert_one_line_error(proc, "a RingBuffer map cannot give gauge output", "choose print or counter output, "
                          "or a HashMap map")
    assert not (tmp_path / "x.c").exists()
    asked = bee("init", "--program-type", "Network", "-m", "RingBuffer", "-f", "y.c", input="gauge\ncounter\n")
    assert asked.returncode == 0, asked.stderr
    assert "What type of output would you like from your map (print, counter):" in asked.stderr
    assert "'gauge' is not a valid output type; choose one of: print, counter" in asked.stderr  # asked again
    assert '} counter_events SEC(".maps");' in (tmp_path / "y.c").read_text()


def test_on_a_terminal_filesystem_asks_with_bumblebees_choices_as_defaults(tmp_path: Path) -> None:
    """In a real terminal (tmux), FileSystem asks for the map and output types, offering bumblebee's choices
    (RingBuffer, print) as the defaults; without a terminal it takes them without asking (above)."""
    require(shutil.which("tmux") is not None, "needs tmux (apt-get install tmux)")
    socket = str(tmp_path / "tmux.sock")
    command = f"{sys.executable} -m bee init --program-type FileSystem -f {tmp_path / 'fs.c'}; sleep 30"

    # tmux runs the command with $SHELL, else the user's login shell: nologin for nobody (the offline run)
    env = {**os.environ, "SHELL": "/bin/sh"}

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-S", socket, *args], capture_output=True, text=True, check=True,
                              env=env).stdout

    def wait_for(text: str) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            screen = tmux("capture-pane", "-p", "-t", "init")
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not on the screen:\n{screen}")

    tmux("new-session", "-d", "-s", "init", "-x", "150", "-y", "20", command)
    try:
        wait_for("What language do you wish to use for the filter (C) [C]:")
        tmux("send-keys", "-t", "init", "Enter")
        wait_for("What type of map should we initialize (HashMap, RingBuffer) [RingBuffer]:")
        tmux("send-keys", "-t", "init", "Enter")
        wait_for("What type of output would you like from your map (print, counter) [print]:")
        tmux("send-keys", "-t", "init", "-l", "counter")
        tmux("send-keys", "-t", "init", "Enter")
        wait_for("Wrote a FileSystem program with a RingBuffer counter map to")
    finally:
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, check=False)
    text = (tmp_path / "fs.c").read_text()
    assert "BPF_MAP_TYPE_RINGBUF" in text and '} counter_events SEC(".maps");' in text
