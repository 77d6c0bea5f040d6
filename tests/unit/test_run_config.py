"""The runner config file: a valid one read whole, and each kind of mistake as one sentence with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bee.run.config import ConfigError, ProgramEntry, load_config, program_name

GOOD = """\
# two programs
programs:
  - program: ghcr.io/me/opensnoop:v1
    pull: always
    filters: ["print_events,comm,^bash$"]
  - program: /opt/probes/runqlat.o
    name: latency
    hist_buckets: {hist_latency: [1, 10, 100.5]}
    hist_value_keys: {hist_latency: le}
    iface: eth0
    pin_maps: /sys/fs/bpf/bee/latency
    pin_progs: /sys/fs/bpf/bee/latency
metrics: {address: 127.0.0.1, port: 9100}
poll_interval: 0.5
format: json
fail_fast: true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "runner.yaml"
    path.write_text(text)
    return path


def test_a_valid_config_is_read_whole(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.programs == (
        ProgramEntry(program="ghcr.io/me/opensnoop:v1", name="opensnoop", line=3, pull="always",
                     filters=("print_events,comm,^bash$",)),
        ProgramEntry(program="/opt/probes/runqlat.o", name="latency", line=6,
                     hist_buckets={"hist_latency": (1.0, 10.0, 100.5)}, hist_value_keys={"hist_latency": "le"},
                     iface="eth0", pin_maps=Path("/sys/fs/bpf/bee/latency"),
                     pin_progs=Path("/sys/fs/bpf/bee/latency")),
    )
    assert (config.prom_host, config.prom_port, config.poll_interval, config.fmt, config.fail_fast) == (
        "127.0.0.1", 9100, 0.5, "json", True)


def test_params_are_kept_as_written(tmp_path: Path) -> None:
    """Values are the file's own text (YAML would read 0x10 as 16, yes as true, 010 as 8): their types are
    the program's, checked when it is prepared; a list is an array, written comma-separated."""
    config = load_config(write(tmp_path, """\
programs:
  - program: a.o
    params:
      target_pid: 0x10
      verbose: yes
      mode: 010
      target_comm: "bash "
      quoted: '1,2'
      ports: [80, 0x1bb]
      wait: 1.5ms
      addr: 10.0.0.1
      addr6: "::1"
      big: 1G
"""))
    assert config.programs[0].params == {
        "target_pid": "0x10", "verbose": "yes", "mode": "010", "target_comm": "bash ", "quoted": "1,2",
        "ports": "80,0x1bb", "wait": "1.5ms", "addr": "10.0.0.1", "addr6": "::1", "big": "1G"}


def test_defaults_apply_to_what_is_left_out(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "programs: [{program: probe.o}]\n"))
    assert config.programs == (ProgramEntry(program="probe.o", name="probe", line=1),)
    assert (config.prom_host, config.prom_port, config.poll_interval, config.fmt, config.fail_fast) == (
        None, 9091, 1.0, "text", False)


@pytest.mark.parametrize(("program", "name"), [
    ("/x/opensnoop.o", "opensnoop"), ("ghcr.io/me/opensnoop:v1", "opensnoop"), ("probe", "probe"),
    ("localhost:5000/a/b@sha256:" + "0" * 64, "b"), ("probe.bpf.o", "probe.bpf")])
def test_default_names(program: str, name: str) -> None:
    assert program_name(program) == name


BAD = [
    ("programs: [\n", r"runner\.yaml, line 2: not valid YAML: "),
    ("", r"runner\.yaml is empty"),
    ("- a\n- b\n", r"runner\.yaml, line 1: expected a mapping, got a list"),
    ("metrics: {port: 9091}\n", r"line 1: the config has no `programs` list"),
    ("programs: []\n", r"line 1: programs: the list is empty"),
    ("programs:\n  - program: a.o\n    pul: always\n",
     r"line 3: programs\[0\]\.pul: unknown key \(known keys: program, name, .*\); did you mean 'pull'\?"),
    ("programs:\n  - name: x\n", r"line 2: programs\[0\]: an entry needs `program`"),
    ("programs:\n  - program: a.o\n    pull: sometimes\n",
     r"line 3: programs\[0\]\.pull: expected one of missing, always, never, got str 'sometimes'"),
    ("programs:\n  - program: 12\n", r"line 2: programs\[0\]\.program: expected a non-empty string, got int 12"),
    ("programs: [{program: a.o}]\nmetrics: {port: 70000}\n",
     r"line 2: metrics\.port: expected an integer from 0 to 65535, got 70000"),
    ("programs: [{program: a.o}]\npoll_interval: .nan\n",
     r"line 2: poll_interval: expected a number from 0\.05 to 3600, got nan"),
    ("programs: [{program: a.o}]\nfail_fast: yes please\n", r"line 2: fail_fast: expected true or false"),
    ("programs: [{program: a.o}]\nformat: xml\n", r"line 2: format: expected one of text, json, got str 'xml'"),
    ("programs:\n  - program: a.o\n    filters: ['print_events,comm']\n",
     r"line 3: programs\[0\]\.filters: invalid filter"),
    ("programs:\n  - program: a.o\n    hist_buckets: {hist_x: [10, 1]}\n",
     r"line 3: programs\[0\]\.hist_buckets\.hist_x: bucket bounds must increase, got \[10\.0, 1\.0\]"),
    ("programs:\n  - program: a/x.o\n  - program: b/x.o\n",
     r"line 3: programs\[1\]: name 'x' is also that of programs\[0\]; give one of them a `name`"),
    ("programs:\n  - {program: a.o, pin_maps: /sys/fs/bpf/p}\n  - {program: b.o, pin_progs: /sys/fs/bpf/p}\n",
     r"line 3: programs\[1\]: pin directory '/sys/fs/bpf/p' is also that of programs\[0\]"),
    ("programs:\n  - program: a.o\n  - program: 'Ghcr.io/Me/probe v1'\n",
     r"line 3: programs\[1\]\.program: invalid reference \"Ghcr.io/Me/probe v1\": it contains whitespace"),
    ("programs: [{program: a.o}]\nformat: text\nformat: json\n",
     r"line 3: the key 'format' is given twice \(first on line 2\)"),
    ("base: &b {program: a.o}\nprograms: [*b]\n", r"line 1: anchors and aliases \(&, \*\) are not supported"),
    ("programs:\n  - program: a.o\n    params: [target_pid]\n",
     r"line 3: programs\[0\]\.params: expected a mapping of parameter names"),
    ("programs:\n  - program: a.o\n    params:\n      9lives: 1\n",
     r"line 4: programs\[0\]\.params\.9lives: '9lives' cannot be a parameter name: parameters are C variables"),
    ("programs:\n  - program: a.o\n    params:\n      target-pid: 1\n",
     r"line 4: programs\[0\]\.params\.target-pid: 'target-pid' cannot be a parameter name"),
    ("programs:\n  - program: a.o\n    params:\n      target_pid:\n",
     r"line 4: programs\[0\]\.params\.target_pid: expected a value for the parameter"),
    ("programs:\n  - program: a.o\n    params: {target_pid: {pid: 1}}\n",
     r"line 3: programs\[0\]\.params\.target_pid: expected a single value, got a mapping"),
    ("programs:\n  - program: a.o\n    params: {ports: [[1, 2]]}\n",
     r"line 3: programs\[0\]\.params\.ports\[0\]: expected a single value, got a list"),
    ("programs:\n  - program: a.o\n    params: {ports: []}\n",
     r"line 3: programs\[0\]\.params\.ports: expected at least one value for the array parameter"),
    ("programs:\n  - program: a.o\n    params: {a: 1, a: 2}\n", r"line 3: the key 'a' is given twice"),
    ("programs: [{program: a.o}]\n" + "x: " + "[" * 5000 + "]" * 5000 + "\n", r"nested too deeply|not valid YAML"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_each_mistake_is_one_sentence_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(write(tmp_path, text))
    assert "\n" not in str(caught.value)


def test_unreadable_oversized_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read the config file .*missing\.yaml: No such file or directory"):
        load_config(tmp_path / "missing.yaml")
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * (1 << 20) + b"\n")
    with pytest.raises(ConfigError, match=r"larger than 1 MiB"):
        load_config(big)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00programs")
    with pytest.raises(ConfigError, match=r"not UTF-8 text"):
        load_config(binary)


def test_outputs_and_signature_settings(tmp_path: Path) -> None:
    """Per program, maps exported as chosen (`outputs`); for the runner, keys and a policy, with paths
    relative to the config file; an output bee does not know is one sentence with its line."""
    config = load_config(write(tmp_path, """\
programs:
  - program: a.o
    outputs: {events: print, packets: counter}
verify_keys: [keys/ci.pub, /etc/bee/other.pub]
policy: policy.yaml
ignore_identity: true
"""))
    assert config.programs[0].outputs == {"events": "print", "packets": "counter"}
    assert config.verify_keys == (tmp_path / "keys" / "ci.pub", Path("/etc/bee/other.pub"))
    assert config.policy == tmp_path / "policy.yaml" and config.ignore_identity is True
    with pytest.raises(ConfigError, match=r"line 3: programs\[0\]\.outputs\.events: expected one of print"):
        load_config(write(tmp_path, "programs:\n  - program: a.o\n    outputs: {events: sum}\n"))
