"""questlog's packages (the uv workspace's members) import one way: the event catalog at
the bottom; the settings model on it; the ingest API, the pilot registry and the Spark apps
on those, each its own service that imports none of the others; the operator tooling
(``questlog``: the command, the local stack, the demo, report, load and images) on top. No
package imports one above it, nor one beside it."""

import ast
from pathlib import Path

import pytest

from questlog.settings import REPO_ROOT

# Each package's folder and its layer (higher may import lower).
PACKAGES = {
    "questlog_catalog": (REPO_ROOT / "catalog" / "questlog_catalog", 0),
    "questlog_settings": (REPO_ROOT / "settings" / "questlog_settings", 1),
    "questlog_registry": (REPO_ROOT / "services" / "registry" / "questlog_registry", 2),
    "questlog_spark": (REPO_ROOT / "spark-apps" / "questlog_spark", 2),
    "questlog_ingest": (REPO_ROOT / "services" / "ingest" / "questlog_ingest", 2),
    "questlog": (REPO_ROOT / "questlog", 3),
}


def imported(path: Path) -> set[str]:
    """The top-level names of the modules ``path`` imports (at any depth of the code)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def wrong_way(package: str) -> dict[str, set[str]]:
    """Each module of ``package`` that imports a package not below it: what it imports."""
    folder, layer = PACKAGES[package]
    found = {}
    for path in sorted(folder.rglob("*.py")):
        others = imported(path) & set(PACKAGES) - {package}
        if upward := {other for other in others if PACKAGES[other][1] >= layer}:
            found[str(path.relative_to(REPO_ROOT))] = upward
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_imports_one_above_or_beside_it(package: str) -> None:
    assert wrong_way(package) == {}


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("import os\n\ndef f():\n    from questlog.stack import probes\n")
    assert imported(module) == {"os", "questlog"}
