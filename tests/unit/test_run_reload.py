"""Reloading a runner config: what a new config adds, removes and keeps, and noticing a file's change,
including the symbolic-link swap a Kubernetes ConfigMap volume makes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bee.run.config import ConfigError, RunnerConfig, load_config
from bee.run.reload import ConfigWatcher, plan_reload

BASE = """\
programs:
  - program: ghcr.io/me/opensnoop:v1
  - program: ghcr.io/me/execsnoop:v1
    filters: ["print_events,comm,^bash$"]
  - program: ghcr.io/me/tcpconnect:v1
"""


def config(tmp_path: Path, text: str, name: str = "runner.yaml") -> RunnerConfig:
    path = tmp_path / name
    path.write_text(text)
    return load_config(path)


def test_added_removed_changed_and_kept_programs(tmp_path: Path) -> None:
    old = config(tmp_path, BASE)
    new = config(tmp_path, """\
# a comment moves every entry down a line: lines alone do not make a change
programs:
  - program: ghcr.io/me/opensnoop:v1
  - program: ghcr.io/me/execsnoop:v1
    filters: ["print_events,comm,^sh$"]
  - program: ghcr.io/me/biolatency:v1
""", "new.yaml")
    plan = plan_reload(old, new)
    assert [p.name for p in plan.keep] == ["opensnoop"]
    assert [p.name for p in plan.add] == ["execsnoop", "biolatency"]
    assert [p.name for p in plan.remove] == ["tcpconnect", "execsnoop"]
    assert plan.summary() == ("reload: +2 -2 (1 unchanged): added execsnoop, biolatency; "
                              "removed tcpconnect, execsnoop")


def test_changed_params_replace_the_program(tmp_path: Path) -> None:
    """A program whose parameters changed is removed and added again (they are set before it loads);
    the same parameters written otherwise (order, quoting) are no change."""
    with_params = BASE.replace("  - program: ghcr.io/me/tcpconnect:v1\n",
                               "  - program: ghcr.io/me/tcpconnect:v1\n    params: {port: 80, host: a}\n")
    old = config(tmp_path, with_params)
    same = config(tmp_path, with_params.replace("{port: 80, host: a}", "{host: 'a', port: 80}"), "same.yaml")
    assert plan_reload(old, same).empty
    for changed in ("{port: 81, host: a}", "{port: 80}", "{port: 80, host: a, extra: 1}"):
        plan = plan_reload(old, config(tmp_path, with_params.replace("{port: 80, host: a}", changed), "new.yaml"))
        assert ([p.name for p in plan.remove], [p.name for p in plan.add]) == (["tcpconnect"], ["tcpconnect"])
    plan = plan_reload(old, config(tmp_path, BASE, "none.yaml"))
    assert ([p.name for p in plan.remove], [p.name for p in plan.add]) == (["tcpconnect"], ["tcpconnect"])


def test_the_same_config_changes_nothing(tmp_path: Path) -> None:
    plan = plan_reload(config(tmp_path, BASE), config(tmp_path, BASE, "again.yaml"))
    assert plan.empty and len(plan.keep) == 3
    assert plan.summary() == "reload: +0 -0 (3 unchanged): nothing to do"


@pytest.mark.parametrize(("extra", "message"), [
    ("metrics: {port: 9100}\n", r"metrics\.port changed from 9091 to 9100, which a reload cannot apply"),
    ("format: json\n", r"format changed from 'text' to 'json'"),
    ("metrics: {address: 127.0.0.1}\n", r"metrics\.address changed from None to '127\.0\.0\.1'"),
])
def test_runner_wide_settings_cannot_be_reloaded(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_reload(config(tmp_path, BASE), config(tmp_path, BASE + extra, "new.yaml"))


def test_a_change_in_place_is_seen_once(tmp_path: Path) -> None:
    path = tmp_path / "runner.yaml"
    path.write_text(BASE)
    watcher = ConfigWatcher(path)
    assert not watcher.changed()
    path.write_text(BASE + "fail_fast: true\n")
    assert watcher.changed() and not watcher.changed()
    path.write_text(BASE + "fail_fast: true\n")  # rewritten with the same bytes: no change
    assert not watcher.changed()


def test_a_configmap_style_symlink_swap_is_a_change(tmp_path: Path) -> None:
    """As the kubelet updates a ConfigMap volume: runner.yaml -> ..data/runner.yaml, ..data -> a timestamped
    directory; an update writes a new directory and renames a new link over ..data."""
    first, second = tmp_path / "..2026_12_04_1", tmp_path / "..2026_12_04_2"
    for directory, text in ((first, BASE), (second, BASE + "poll_interval: 2\n")):
        directory.mkdir()
        (directory / "runner.yaml").write_text(text)
    os.symlink(first.name, tmp_path / "..data")
    os.symlink("..data/runner.yaml", tmp_path / "runner.yaml")
    watcher = ConfigWatcher(tmp_path / "runner.yaml")
    os.symlink(second.name, tmp_path / "..data_tmp")
    os.replace(tmp_path / "..data_tmp", tmp_path / "..data")
    assert watcher.changed()
    assert load_config(tmp_path / "runner.yaml").poll_interval == 2.0


def test_a_file_missing_for_a_moment_is_not_a_change(tmp_path: Path) -> None:
    path = tmp_path / "runner.yaml"
    path.write_text(BASE)
    watcher = ConfigWatcher(path)
    path.unlink()
    assert not watcher.changed()
    path.write_text(BASE)
    assert not watcher.changed()
