"""bee's declared requirements are the third-party packages its code imports: no more, no fewer.

Imports are read from the source (every `import`/`from` statement, function-local ones too, but
not those under `if TYPE_CHECKING:`, which only the type checker reads, from its own stubs) and
mapped to the installed distributions that provide them; the declarations are bee's installed
metadata (its `pyproject.toml`). The base and the `build`/`tui` extras must together be exactly
what `bee/` imports; the tests, benchmarks and fuzz targets may import those and the `test` extra's packages.
"""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from collections import defaultdict

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers import REPO

#: Packages of the test extra that are run as tools, not imported.
TOOLS = {"ruff", "mypy", "import-linter", "types-pyyaml"}


def _type_checking_only(tree: ast.AST) -> set[ast.AST]:
    """The statements of `tree` under `if TYPE_CHECKING:` (typing's, or a module constant of that name)."""
    nodes: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            nodes.update(inner for statement in node.body for inner in ast.walk(statement))
    return nodes


def _imported(*roots: str) -> dict[str, set[str]]:
    """Canonical distribution name → the files under `roots` that import one of its modules."""
    providers = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = defaultdict(set)
    for root in roots:
        for path in sorted((REPO / root).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            skipped = _type_checking_only(tree)
            for node in ast.walk(tree):
                if node in skipped:
                    continue
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.partition(".")[0]
                    if top in sys.stdlib_module_names or top in ("bee", "tests", "bench", "fuzz"):
                        continue
                    if top not in providers:
                        assert top.startswith("_"), f"{path.relative_to(REPO)} imports {top}, which nothing installs"
                        continue  # the interpreter's private modules (bee.sha256's _sha2)
                    for dist in providers[top]:
                        found[canonicalize_name(dist)].add(str(path.relative_to(REPO)))
    return found


def _declared() -> dict[str, set[str]]:
    """Extra ("" for the base) → the canonical names of the distributions it declares (bee itself left out)."""
    declared: dict[str, set[str]] = defaultdict(set)
    for line in importlib.metadata.requires("bee") or []:
        requirement = Requirement(line)
        extras = [e for e in ("build", "tui", "sign", "web", "all", "test")
                  if requirement.marker is not None and requirement.marker.evaluate({"extra": e})]
        for extra in extras or [""]:
            declared[extra].add(canonicalize_name(requirement.name))
    return declared


def test_bee_declares_exactly_what_it_imports() -> None:
    declared = _declared()
    runtime = declared[""] | declared["build"] | declared["tui"] | declared["sign"] | declared["web"]
    imported = _imported("bee")
    assert {d: sorted(files) for d, files in imported.items() if d not in runtime} == {}, "imported, not declared"
    assert sorted(runtime - set(imported)) == [], "declared, never imported by bee/"
    assert declared["all"] == declared["build"] | declared["tui"] | declared["sign"] | declared["web"]


def test_tests_import_only_what_is_declared() -> None:
    declared = _declared()
    assert declared["test"] >= declared["all"], "the test extra must bring every extra"
    imported = _imported("tests", "bench", "fuzz")
    assert {d: sorted(files) for d, files in imported.items() if d not in declared[""] | declared["test"]} == {}
    assert sorted(declared["test"] - declared["all"] - declared[""] - set(imported) - TOOLS) == [], \
        "in the test extra, never imported by the tests"
