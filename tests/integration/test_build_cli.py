"""`bee build --local` through the real CLI: clang, llvm-strip, the store, and its errors.

Builds need the `clang` capability; refusals that come before any compiler is looked for do not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import DATA, assert_one_line_error

HELLO = DATA / "src" / "hello.c"
EM_BPF = 247


def _machine(obj: bytes) -> int:
    assert obj[:4] == b"\x7fELF"
    return int.from_bytes(obj[18:20], "little")


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    source = tmp_path / "src" / "hello.c"
    source.parent.mkdir()
    shutil.copy(HELLO, source)
    return source


@pytest.mark.clang
def test_build_stores_program_and_lists_it(bee, hello: Path, store_dir: Path) -> None:
    proc = bee("build", str(hello), "hello:v1", "--local")
    assert proc.returncode == 0, proc.stderr
    obj = hello.with_suffix(".o").read_bytes()
    assert _machine(obj) == EM_BPF
    assert b".BTF" in obj and b".debug_info" not in obj  # llvm-strip -g keeps BTF, drops DWARF
    listing = bee("list")
    assert listing.returncode == 0
    assert listing.stdout.splitlines()[0].split() == ["Name", "OS", "OS", "Version", "Arch"]
    assert listing.stdout.splitlines()[1].split()[0] == "hello:v1"
    index = json.loads((store_dir / "index.json").read_text())
    assert [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]] == ["hello:v1"]


@pytest.mark.clang
def test_relative_paths_and_output_file(bee, hello: Path, tmp_path: Path) -> None:
    proc = bee("build", "src/hello.c", "--local", "--binary-only", "-o", "out/x.o", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _machine((tmp_path / "out" / "x.o").read_bytes()) == EM_BPF


@pytest.mark.clang
def test_same_source_same_bytes_wherever_it_lives(bee, hello: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "deeper" / "hello.c"
    other.parent.mkdir(parents=True)
    shutil.copy(hello, other)
    assert bee("build", str(hello), "--local", "--binary-only").returncode == 0
    assert bee("build", str(other), "--local", "--binary-only").returncode == 0
    assert hello.with_suffix(".o").read_bytes() == other.with_suffix(".o").read_bytes()
    assert str(tmp_path).encode() not in hello.with_suffix(".o").read_bytes()


@pytest.mark.clang
def test_a_relative_cache_home_is_ignored_as_the_xdg_spec_says(bee, hello: Path, tmp_path: Path) -> None:
    """XDG_CACHE_HOME=relcache names another directory from each working directory (the types were unpacked
    under one and the compiler looked in another): it is ignored, and ~/.cache used."""
    home = tmp_path / "home"
    home.mkdir()
    proc = bee("build", str(hello), "--local", "--binary-only", cwd=hello.parent,
               env={"XDG_CACHE_HOME": "relcache", "HOME": str(home), "BEE_VMLINUX_H": "", "BEE_KERNEL_TYPES": ""})
    assert proc.returncode == 0, proc.stderr
    assert _machine(hello.with_suffix(".o").read_bytes()) == EM_BPF
    assert not (hello.parent / "relcache").exists()
    assert list((home / ".cache" / "bee" / "types").glob("*/x86/vmlinux.h"))


@pytest.mark.clang
def test_cflags_reach_the_compiler(bee, hello: Path, tmp_path: Path) -> None:
    plain = bee("build", str(hello), "--local", "--binary-only", "-o", str(tmp_path / "a.o"))
    flagged = bee("build", str(hello), "--local", "--binary-only", "-o", str(tmp_path / "b.o"),
                  "--cflags=-DHELLO_PID -DBEE_TEST_UNUSED=1")
    assert plain.returncode == 0 and flagged.returncode == 0, flagged.stderr
    assert (tmp_path / "a.o").read_bytes() != (tmp_path / "b.o").read_bytes()


@pytest.mark.clang
def test_arch_override_builds_for_arm64(bee, hello: Path, tmp_path: Path) -> None:
    proc = bee("build", str(hello), "--local", "--binary-only", "--arch", "aarch64", "-o", str(tmp_path / "a.o"))
    assert proc.returncode == 0, proc.stderr
    bad = bee("build", str(hello), "--local", "--binary-only", "--arch", "vax")
    assert_one_line_error(bad, "unknown target architecture 'vax'")


@pytest.mark.clang
def test_build_script_out_and_custom_script(bee, hello: Path, tmp_path: Path) -> None:
    script = bee("build", str(hello), "hello:v1", "--local", "--build-script-out")
    assert script.returncode == 0
    assert "-target bpf" in script.stdout and "llvm-strip" in script.stdout and "$CFLAGS" in script.stdout
    (tmp_path / "build.sh").write_text(script.stdout)
    proc = bee("build", str(hello), "hello:v2", "--local", "--build-script", str(tmp_path / "build.sh"),
               "--cflags", "-DHELLO_PID")
    assert proc.returncode == 0, proc.stderr
    assert _machine(hello.with_suffix(".o").read_bytes()) == EM_BPF
    (tmp_path / "bad.sh").write_text("echo nope >&2; exit 3\n")
    failed = bee("build", str(hello), "hello:v3", "--local", "--build-script", str(tmp_path / "bad.sh"))
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == ["nope", "Error: the build script failed (exit 3)"]


def test_missing_input_file(bee, tmp_path: Path) -> None:
    proc = bee("build", str(tmp_path / "nope.c"), "nope:v1", "--local")
    assert_one_line_error(proc, "nope.c does not exist")


@pytest.mark.clang
def test_compiler_errors_are_shown_verbatim(bee, tmp_path: Path, store_dir: Path) -> None:
    source = tmp_path / "broken.c"
    source.write_text('#include "vmlinux.h"\nint f(void) {\n  return x +;\n}\n')
    proc = bee("build", str(source), "broken:v1", "--local")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "broken.c:3:" in proc.stderr and "error:" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "Error: compiling broken.c failed (exit 1)"
    assert not (tmp_path / "broken.o").exists()
    assert not list(tmp_path.glob(".broken.o.*"))  # no temporary left behind
    assert not (store_dir / "index.json").exists()


@pytest.mark.clang
def test_unwritable_output_directory(bee, hello: Path) -> None:
    proc = bee("build", str(hello), "--local", "--binary-only", "-o", "/sys/kernel/hello.o")
    assert_one_line_error(proc, "cannot write the output file /sys/kernel/hello.o", "Permission denied")
    beside_a_file = bee("build", str(hello), "--local", "--binary-only", "-o", str(hello) + "/x.o")
    assert_one_line_error(beside_a_file, "cannot write the output file")


@pytest.mark.parametrize("ref", ["Foo:bar", "a:b:c", "../../etc/x", "UPPER", "name:", "a b"])
def test_malformed_refs_are_refused_before_compiling(bee, hello: Path, ref: str) -> None:
    proc = bee("build", str(hello), ref, "--local")
    assert_one_line_error(proc, "invalid reference")
    assert not hello.with_suffix(".o").exists()


def test_ref_or_binary_only_is_required(bee, hello: Path) -> None:
    assert_one_line_error(bee("build", str(hello), "--local"), "--binary-only")


def test_debug_shows_the_traceback(bee, tmp_path: Path) -> None:
    proc = bee("--debug", "build", str(tmp_path / "nope.c"), "x:v1", "--local")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "InputFileError" in proc.stderr


# --- no command overwrites its own input; outputs go only where they were named ---


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


@pytest.mark.parametrize("extra", [[], ["--build-script", "build.sh"]])
def test_output_onto_the_input_is_refused_and_the_source_kept(bee, hello: Path, tmp_path: Path,
                                                              extra: list[str]) -> None:
    (tmp_path / "build.sh").write_text("exit 1\n")
    before = hello.read_bytes()
    proc = bee("build", str(hello), "--local", "--binary-only", "-o", str(hello), *extra, cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, f"the output file {hello} is the input file; choose another -o")
    assert hello.read_bytes() == before
    assert _leftovers(hello.parent) == []


def test_output_onto_a_hard_link_of_the_input_is_refused(bee, hello: Path) -> None:
    twin = hello.parent / "twin.c"
    twin.hardlink_to(hello)
    before = hello.read_bytes()
    proc = bee("build", str(hello), "--local", "--binary-only", "-o", str(twin))
    assert proc.returncode == 2
    assert_one_line_error(proc, "is the input file; choose another -o")
    assert hello.read_bytes() == before


def test_output_through_a_symlink_is_refused(bee, hello: Path) -> None:
    link = hello.parent / "link.o"
    link.symlink_to(hello)  # following it would overwrite the source
    before = hello.read_bytes()
    proc = bee("build", str(hello), "--local", "--binary-only", "-o", str(link))
    assert proc.returncode == 2
    assert_one_line_error(proc, f"the output file {link} is a symbolic link", "does not write through links")
    assert link.is_symlink() and hello.read_bytes() == before
    assert _leftovers(hello.parent) == []


def test_output_under_a_file_is_refused(bee, hello: Path) -> None:
    proc = bee("build", str(hello), "--local", "--binary-only", "-o", str(hello / "x.o"))
    assert proc.returncode == 2
    assert_one_line_error(proc, f"{hello} is a file, not a directory; choose another -o")


@pytest.mark.clang
def test_building_an_object_names_the_real_cause(bee, hello: Path, tmp_path: Path) -> None:
    assert bee("build", str(hello), "--local", "--binary-only").returncode == 0
    obj = hello.with_suffix(".o")
    before = obj.read_bytes()
    # without -o the default output of x.o is x.o itself: it must not be touched either
    for args in ([], ["-o", str(tmp_path / "y.o")]):
        proc = bee("build", str(obj), "--local", "--binary-only", *args)
        assert proc.returncode == 1
        assert_one_line_error(proc, f"input file {obj} is already a compiled object (ELF), not C source",
                              "give bee build the .c file")
        assert "llvm-strip" not in proc.stderr
    assert obj.read_bytes() == before and not (tmp_path / "y.o").exists()
    assert _leftovers(hello.parent) == []


def test_unbalanced_quote_in_cflags_is_one_sentence(bee, hello: Path) -> None:
    proc = bee("build", str(hello), "--local", "--binary-only", "--cflags", '-DX="a')
    assert proc.returncode == 2
    assert_one_line_error(proc, "--cflags '-DX=\"a' cannot be split into flags (No closing quotation)",
                          "balance its quotes")
    assert not hello.with_suffix(".o").exists()
