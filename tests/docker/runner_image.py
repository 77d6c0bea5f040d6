"""The runner image of this checkout, named by a digest of what goes into it, so a test never runs stale code.

`make runner-image` builds `bee-runner:<version>` from the wheels of the working tree; an image of
that tag may come from another checkout or an older commit. `runner_image_tag()` names the image
by a digest of bee's sources and the image recipe instead, and `ensure_runner_image()` builds it
(through `make runner-image`, with that tag) when the engine does not have it yet.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.helpers import REPO

# What the image is made of: bee's package (with the templates and builder files its wheel holds),
# the wheel's build settings and the image recipe.
INPUT_DIRS = ("bee", "templates", "builder")
INPUT_FILES = ("Dockerfile", "pyproject.toml", "scripts/runner-wheels.sh")
REPOSITORY = "bee-runner"


def _inputs(repo: Path) -> Iterator[Path]:
    for name in INPUT_DIRS:
        for path in sorted((repo / name).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                yield path
    for name in INPUT_FILES:
        yield repo / name


def runner_image_tag(repo: Path = REPO) -> str:
    """`bee-runner:<version>-src-<digest>`: another source, recipe or version gives another tag."""
    import bee

    digest = hashlib.sha256()
    for path in _inputs(repo):
        digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{REPOSITORY}:{bee.__version__}-src-{digest.hexdigest()[:12]}"


def ensure_runner_image(client: Any, repo: Path = REPO) -> str:
    """The tag of this checkout's runner image, built with `make runner-image` if the engine lacks it."""
    from docker.errors import ImageNotFound

    tag = runner_image_tag(repo)
    try:
        client.images.get(tag)
    except ImageNotFound:
        subprocess.run(["make", "-s", "runner-image", f"RUNNER_IMAGE={tag}"], cwd=repo, check=True, timeout=900)
    return tag
