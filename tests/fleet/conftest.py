"""Fixtures for the fleet tests: runner containers of this checkout's image and a real Prometheus."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from tests.docker.conftest import docker_client, runner_image
from tests.fleet.fleet import Fleet
from tests.fleet.prometheus import PROMETHEUS, prometheus_binary
from tests.helpers import require

__all__ = ["docker_client", "runner_image"]


@pytest.fixture
def fleet(root: None, docker_client: Any, runner_image: str) -> Iterator[Callable[..., Fleet]]:
    """`fleet(programs)` starts a Fleet of 5 runners running `programs`; every fleet is removed afterwards."""
    require(prometheus_binary() is not None, f"needs Debian's prometheus at {PROMETHEUS} (scripts/setup.sh)")
    started: list[Fleet] = []

    def start(programs: Sequence[str], size: int = 5) -> Fleet:
        fleet = Fleet(docker_client, runner_image, size=size, programs=programs)
        started.append(fleet)
        fleet.start()
        return fleet

    yield start
    for fleet in started:
        fleet.close()
