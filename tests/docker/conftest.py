"""Fixtures for tests against the real Docker engine (started by `make test` via scripts/docker-up.sh)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import REPO
from tests.run.conftest import trigger

__all__ = ["trigger"]


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A client of the Docker engine; requesting it marks the test `docker`, whose check found the engine."""
    import docker

    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="session")
def runner_image(docker_client: Any) -> str:
    """The runner image of this checkout, built with `make runner-image` when missing."""
    from docker.errors import ImageNotFound

    from bee.compile.package import DEFAULT_RUNNER_IMAGE

    try:
        docker_client.images.get(DEFAULT_RUNNER_IMAGE)
    except ImageNotFound:
        subprocess.run(["make", "-s", "runner-image"], cwd=REPO, check=True, timeout=900)
    return DEFAULT_RUNNER_IMAGE
