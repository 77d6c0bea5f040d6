"""Fixtures for tests against the real Docker engine (started by `make test` via scripts/docker-up.sh)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.docker.runner_image import ensure_runner_image
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
    """This checkout's runner image, tagged by a digest of its sources (built with `make runner-image` when
    missing), so a test never runs an older `bee-runner:<version>` left by another checkout."""
    return ensure_runner_image(docker_client)
