"""`bee init` library: choice normalization, template rendering, writing, and real compiles."""

from __future__ import annotations

import itertools
import os
import stat
from pathlib import Path

import pytest

import bee
from bee.errors import BuildError, ScaffoldError, UsageError
from bee.scaffold import (
    LANGUAGES,
    MAP_TYPES,
    OUTPUT_TYPES,
    OUTPUTS_OF,
    PROGRAM_TYPES,
    ScaffoldChoice,
    normalize_choice,
    preset_choices,
    render_program,
    templates_dir,
    write_program,
)

COMBINATIONS = [combo for combo in itertools.product(PROGRAM_TYPES, MAP_TYPES, OUTPUT_TYPES, (False, True))
                if combo[2] in OUTPUTS_OF[combo[1]]]
COMBINATION_IDS = ["-".join(combo[:3]) + ("-filter-pid" if combo[3] else "") for combo in COMBINATIONS]
SECTIONS = {
    "Network": 'SEC("tracepoint/sock/inet_sock_set_state")',
    "FileSystem": 'SEC("tracepoint/syscalls/sys_enter_openat")',
}
HEADER = """\
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_core_read.h"
#include "bpf/bpf_tracing.h"
#include "solo_types.h"
"""


def _render(program_type: str, map_type: str, output_type: str, filter_pid: bool = False) -> str:
    return render_program(ScaffoldChoice("C", program_type, map_type, output_type, filter_pid))


# --- normalize_choice -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "choices", "expected"),
    [
        ("network", PROGRAM_TYPES, "Network"),
        ("Network", PROGRAM_TYPES, "Network"),
        ("NETWORK", PROGRAM_TYPES, "Network"),
        ("FileSystem", PROGRAM_TYPES, "FileSystem"),
        ("filesystem", PROGRAM_TYPES, "FileSystem"),
        ("file-system", PROGRAM_TYPES, "FileSystem"),
        ("file_system", PROGRAM_TYPES, "FileSystem"),
        ("File System", PROGRAM_TYPES, "FileSystem"),
        ("ringbuffer", MAP_TYPES, "RingBuffer"),
        ("ring-buffer", MAP_TYPES, "RingBuffer"),
        ("RING_BUFFER", MAP_TYPES, "RingBuffer"),
        ("hash-map", MAP_TYPES, "HashMap"),
        ("hashmap", MAP_TYPES, "HashMap"),
        ("COUNTER", OUTPUT_TYPES, "counter"),
        ("Gauge", OUTPUT_TYPES, "gauge"),
        ("print", OUTPUT_TYPES, "print"),
        ("c", LANGUAGES, "C"),
    ],
)
def test_normalize_choice_accepts_loose_spellings(value: str, choices: tuple[str, ...], expected: str) -> None:
    assert normalize_choice(value, choices, "thing") == expected


def test_normalize_choice_rejects_unknown_with_choices_listed() -> None:
    with pytest.raises(UsageError) as info:
        normalize_choice("xyz", PROGRAM_TYPES, "program type")
    assert str(info.value) == "'xyz' is not a valid program type; choose one of: Network, FileSystem"
    assert info.value.exit_code == 2


@pytest.mark.parametrize("value", ["", "-", "ring", "hashmaps", "rust"])
def test_normalize_choice_rejects_partial_or_empty(value: str) -> None:
    with pytest.raises(UsageError):
        normalize_choice(value, MAP_TYPES + LANGUAGES, "choice")


def test_preset_choices() -> None:
    assert preset_choices("file-system") == {"map_type": "RingBuffer", "output_type": "print"}
    assert preset_choices("Network") == {}
    with pytest.raises(UsageError):
        preset_choices("Disk")


# --- render_program ---------------------------------------------------------------------


@pytest.mark.parametrize(("program_type", "map_type", "output_type", "filter_pid"), COMBINATIONS, ids=COMBINATION_IDS)
def test_every_combination_renders(program_type: str, map_type: str, output_type: str, filter_pid: bool) -> None:
    text = _render(program_type, map_type, output_type, filter_pid)
    map_name = f"{output_type}_events"

    assert text.startswith(HEADER)
    assert '// 1. Change the license if necessary\nchar __license[] SEC("license") = "Dual MIT/GPL";' in text
    assert f'}} {map_name} SEC(".maps");' in text
    assert text.count('SEC(".maps")') == 1
    assert SECTIONS[program_type] in text
    assert "packed" not in text
    assert "{{" not in text and "{%" not in text
    if map_type == "RingBuffer":
        assert "__uint(type, BPF_MAP_TYPE_RINGBUF);" in text
        assert "__uint(max_entries, 1 << 24);" in text
        assert "__type(value, struct event_t);" in text
        assert f"bpf_ringbuf_reserve(&{map_name}, " in text
        assert "bpf_ringbuf_submit(event, 0);" in text
    else:
        assert "__uint(type, BPF_MAP_TYPE_HASH);" in text
        assert "__type(key, struct dimensions_t);" in text
        assert "__type(value, u64);" in text
        assert f"bpf_map_lookup_elem(&{map_name}, &key)" in text
        assert f"bpf_map_update_elem(&{map_name}, &key, " in text
        assert ("__sync_fetch_and_add" in text) == (output_type != "gauge")
    assert text.count("const volatile u32 target_pid = 0;") == int(filter_pid)
    assert text.count("if (target_pid && (bpf_get_current_pid_tgid() >> 32) != target_pid)") == int(filter_pid)
    assert "\n\n\n" not in text


def test_filter_pid_adds_a_parameter_and_leaves_the_rest_as_it_was() -> None:
    for program_type, map_type, output_type, _ in COMBINATIONS[::2]:
        plain = _render(program_type, map_type, output_type)
        with_pid = _render(program_type, map_type, output_type, True)
        assert "target_pid" not in plain
        kept = [line for line in with_pid.splitlines() if "target_pid" not in line and "return 0;" not in line]
        assert set(kept) - set(plain.splitlines()) <= {
            "// default, keeps every process). A `const volatile` global is set before the program loads, so",
            "// the verifier sees its value as a constant; `bee describe` lists the parameters of a program."}


def test_network_program_records_ipv4_connection_attempts() -> None:
    text = _render("Network", "RingBuffer", "print")
    assert "int handle_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)" in text
    assert "ctx->protocol != IPPROTO_TCP" in text
    assert "ctx->newstate != TCP_SYN_SENT" in text
    for field in ("ipv4_addr saddr;", "ipv4_addr daddr;", "u16 dport;"):
        assert field in text


def test_filesystem_program_records_opened_files() -> None:
    text = _render("FileSystem", "HashMap", "counter")
    assert "int handle_sys_enter_openat(struct trace_event_raw_sys_enter *ctx)" in text
    assert "bpf_probe_read_user_str(key.fname, sizeof(key.fname), (const char *)ctx->args[1]);" in text
    assert "bpf_get_current_comm(key.comm, sizeof(key.comm));" in text
    for field in ("u32 pid;", "char comm[16];", "char fname[64];"):
        assert field in text


def test_render_accepts_loose_spellings() -> None:
    loose = render_program(ScaffoldChoice("c", "file_system", "hash-map", "GAUGE"))
    assert loose == _render("FileSystem", "HashMap", "gauge")


def test_pairings_bee_run_cannot_make_are_refused_with_the_reason() -> None:
    assert len(COMBINATIONS) == 2 * 5 * 2  # RingBuffer gives print or counter; HashMap all three
    with pytest.raises(UsageError, match=r"a RingBuffer map cannot give gauge output .*: choose print or counter "
                                         r"output, or a HashMap map"):
        render_program(ScaffoldChoice("C", "Network", "ring-buffer", "gauge"))


def test_render_rejects_unknown_values() -> None:
    with pytest.raises(UsageError, match="not a valid map type"):
        render_program(ScaffoldChoice("C", "Network", "PerfBuffer", "print"))
    with pytest.raises(UsageError, match="not a valid language"):
        render_program(ScaffoldChoice("Rust", "Network", "HashMap", "print"))


def test_templates_dir_in_checkout() -> None:
    assert (templates_dir() / "c" / "program.c.j2").is_file()


def test_templates_dir_prefers_installed_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "bee"
    (package / "_templates").mkdir(parents=True)
    monkeypatch.setattr(bee, "__file__", str(package / "__init__.py"))
    assert templates_dir() == package / "_templates"
    (package / "_templates").rmdir()
    with pytest.raises(ScaffoldError, match="templates are missing"):
        templates_dir()


# --- write_program ----------------------------------------------------------------------


def test_write_creates_parents_and_returns_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    written = write_program(Path("a/b/bee.c"), "int x;\n")
    assert written == tmp_path / "a" / "b" / "bee.c"
    assert written.is_absolute()
    assert written.read_text() == "int x;\n"
    assert os.listdir(written.parent) == ["bee.c"]  # no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(written.stat().st_mode) == 0o666 & ~umask


def test_write_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "bee.c"
    target.write_text("mine\n")
    with pytest.raises(ScaffoldError) as info:
        write_program(target, "new\n")
    assert str(info.value) == f"{target} already exists; use --force to overwrite it"
    assert target.read_text() == "mine\n"


def test_write_overwrites_with_force(tmp_path: Path) -> None:
    target = tmp_path / "bee.c"
    target.write_text("mine\n")
    assert write_program(target, "new\n", force=True) == target
    assert target.read_text() == "new\n"
    assert os.listdir(tmp_path) == ["bee.c"]


def test_write_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="is a directory"):
        write_program(tmp_path, "x", force=True)


def test_write_under_a_regular_file_fails_cleanly(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    target = blocker / "sub" / "bee.c"
    with pytest.raises(ScaffoldError) as info:
        write_program(target, "x")
    message = str(info.value)
    assert message == f"cannot write {target}: Not a directory"
    assert "\n" not in message


def test_write_into_proc_fails_cleanly() -> None:
    target = Path("/proc/bee-scaffold-test/bee.c")
    with pytest.raises(ScaffoldError) as info:
        write_program(target, "x")
    assert str(info.value).startswith(f"cannot write {target}: ")


# --- real compiles ----------------------------------------------------------------------


@pytest.mark.clang  # against the running kernel's vmlinux.h, as `bee build --local` after `bee init`
@pytest.mark.parametrize(("program_type", "map_type", "output_type", "filter_pid"), COMBINATIONS, ids=COMBINATION_IDS)
def test_every_combination_compiles(program_type: str, map_type: str, output_type: str, filter_pid: bool,
                                    tmp_path: Path) -> None:
    from bee.compile.compiler import compile_bpf

    source = write_program(tmp_path / "bee.c", _render(program_type, map_type, output_type, filter_pid))
    output = tmp_path / "bee.o"
    try:
        compile_bpf(source, output, cflags=["-Werror"])
    except BuildError as exc:
        pytest.fail(f"{exc}\n{exc.detail or ''}")
    assert output.read_bytes()[:4] == b"\x7fELF"
