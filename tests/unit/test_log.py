"""`bee.log`: forwards to `logging`, and after `configure` drops what is below the level without importing it."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

import bee
from bee import log


def test_unconfigured_loggers_forward_everything(caplog: pytest.LogCaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log, "_threshold", 0)
    logger = log.get("bee.test")
    with caplog.at_level(logging.DEBUG, logger="bee.test"):
        logger.debug("d %s", 1)
        logger.info("i")
        logger.warning("w")
        logger.log(log.WARNING, "l")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("e")
        assert logger.isEnabledFor(log.DEBUG)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (10, "d 1"), (20, "i"), (30, "w"), (30, "l"), (40, "e")]
    assert caplog.records[-1].exc_info is not None and caplog.records[-1].exc_info[0] is ValueError


def _child(level: str) -> subprocess.CompletedProcess[str]:
    code = ("import sys\nfrom bee import log\n"
            f"log.configure(log.{level})\n"
            "logger = log.get('bee.child')\n"
            "logger.debug('debug %s', 1)\nlogger.info('info')\n"
            "print('logging imported:', 'logging' in sys.modules, logger.isEnabledFor(log.DEBUG))\n"
            "logger.warning('warn %s', 'x')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_configured_at_warning_drops_debug_without_importing_logging() -> None:
    proc = _child("WARNING")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "logging imported: False False\n"
    assert proc.stderr == "bee: WARNING: warn x\n"


def test_configured_at_debug_logs_everything_in_bee_format() -> None:
    proc = _child("DEBUG")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "logging imported: True True\n"
    assert proc.stderr == "bee: DEBUG: debug 1\nbee: INFO: info\nbee: WARNING: warn x\n"


def test_setup_applies_the_configuration_for_code_that_swaps_handlers() -> None:
    """The interactive view swaps the root handlers: `setup()` first gives it bee's handler to restore."""
    code = ("from bee import log\nlog.configure(log.WARNING)\nlogging = log.setup()\nroot = logging.getLogger()\n"
            "print(len(root.handlers), root.level, root.handlers[0].formatter._fmt)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout == "1 30 bee: %(levelname)s: %(message)s\n", proc.stderr


@pytest.mark.parametrize(("flags", "expected"), [
    ((), "bee: WARNING: warn x\n"),
    (("-v",), "bee: INFO: info\nbee: WARNING: warn x\n"),
    (("--debug",), "bee: DEBUG: debug 1\nbee: INFO: info\nbee: WARNING: warn x\n"),
])
def test_commands_other_than_run_log_through_logging_in_bee_format(flags: tuple[str, ...], expected: str) -> None:
    """The click group sets `logging` up for every command but `bee run`: a module's
    `logging.getLogger(__name__)` then writes "bee: LEVEL: message" on stderr, at the level the flags ask."""
    code = ("import logging\nfrom bee.commands.group import invoke\n"
            f"code = invoke([*{flags!r}, 'version'])\n"
            "logger = logging.getLogger('bee.oci.store')\n"
            "logger.debug('debug %s', 1)\nlogger.info('info')\nlogger.warning('warn %s', 'x')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == bee.__version__ and proc.stderr == expected


def test_other_libraries_log_only_warnings_even_with_debug() -> None:
    code = ("import logging\nfrom bee.commands.group import invoke\ninvoke(['--debug', 'version'])\n"
            "logging.getLogger('urllib3.connectionpool').debug('Starting new HTTPS connection')\n"
            "logging.getLogger('urllib3.connectionpool').warning('Retrying')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "bee: WARNING: Retrying\n"
