"""The documentation (the README, docs/, the charts' overview): the site builds with MkDocs
in strict mode (a broken link between pages or to a heading fails it), every relative link
reaches a file of the repository, and every path of the repository, make target, questlog
command, API route and QUESTLOG_ setting a page names still exists."""

import re
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest
from questlog_ingest.app import create_app
from questlog_settings.base import legacy_variables, variables

from questlog.images import IMAGES
from questlog.settings import REPO_ROOT, Settings

DOCS = REPO_ROOT / "docs"
PAGES = [REPO_ROOT / "README.md", REPO_ROOT / "helm" / "README.md", *sorted(DOCS.rglob("*.md"))]
# Where a setting the pages name may be read, beside the settings classes' fields.
CODE = ["questlog", "services", "spark-apps", "helm", "k8s", "images", "loadtest", "bench", "tests"]
CODE_FILES = ["Makefile", ".ci/run"]
# Absolute paths the pages name that are not the API's routes: files in containers and on
# the machine, Prometheus's own routes.
NOT_ROUTES = ("/var/", "/usr/", "/etc/", "/docker-entrypoint-initdb.d", "/-/")
# A word of code that may be a path: names of letters, digits, _ . and -, joined by /. URLs,
# globs and placeholders (`<name>`) are not.
PATH_WORD = r"(?<!\S)([\w.-]+(?:/[\w.-]+)*/?)(?!\S)"
# Endings of the files a path with a / names, when it does not start at the top of the
# repository (helm/README.md's `platform/trino.yaml`, read from beside the page).
FILE_ENDING = re.compile(r"\.(py|md|ya?ml|json|sh|tpl|toml|xml|properties|txt|go|env|sql)$")


def code_spans(text: str) -> list[str]:
    """The inline code of ``text`` and the lines of its fenced blocks."""
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    inline = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.findall(r"`([^`\n]+)`", inline) + [
        line for block in fenced for line in block.splitlines()
    ]


def named(pattern: str) -> dict[str, list[str]]:
    """What ``pattern``'s group matches in the pages' code, with the pages naming it."""
    found: dict[str, list[str]] = {}
    for page in PAGES:
        for span in code_spans(page.read_text()):
            for name in re.findall(pattern, span):
                found.setdefault(name, []).append(str(page.relative_to(REPO_ROOT)))
    return found


def is_repository_path(word: str) -> bool:
    """Whether ``word`` names a path of the repository: it starts with one of its top-level
    entries, or holds a / and ends like a file. The images' names (`questlog/kafka`) are not."""
    top_level = {entry.name for entry in REPO_ROOT.iterdir()}
    images = {image.tag.split(":")[0] for image in IMAGES}
    names_a_file = "/" in word and FILE_ENDING.search(word) is not None
    return (word.split("/")[0] in top_level or names_a_file) and word not in images


def generated(path: str) -> bool:
    """Whether ``path`` is where questlog writes what it makes (the virtual environment,
    downloads, the stack's state, reports): .gitignore's patterns from the top. The pages
    name such files, which no clone has."""
    ignored = (REPO_ROOT / ".gitignore").read_text().splitlines()
    rooted = [line[1:].rstrip("/") for line in ignored if line.startswith("/")]
    return any(fnmatch(path, pattern) or fnmatch(path, f"{pattern}/*") for pattern in rooted)


def reaches(page: str, path: str) -> bool:
    """Whether ``path``, as ``page`` names it, is in the repository: from its top, or from
    the page's folder (as a relative link is read)."""
    return any((folder / path).exists() for folder in (REPO_ROOT, (REPO_ROOT / page).parent))


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "kubernetes" / "index.html").exists()


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO_ROOT)))
def test_every_relative_link_reaches_a_file(page: Path) -> None:
    links = re.findall(r"\]\(([^)\s]+)\)", page.read_text())
    relative = [link for link in links if not re.match(r"[a-z]+:|#", link)]
    missing = [link for link in relative if not (page.parent / link.split("#")[0]).exists()]
    assert missing == []


def test_the_repository_paths_named_exist() -> None:
    names = named(PATH_WORD)
    paths = {n: p for n, p in names.items() if is_repository_path(n) and not generated(n)}
    assert paths, "no path of the repository found in the pages"
    unreached = {
        path: [page for page in pages if not reaches(page, path)] for path, pages in paths.items()
    }
    assert {path: pages for path, pages in unreached.items() if pages} == {}


def test_the_make_targets_named_exist() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, flags=re.MULTILINE))
    names = named(r"\bmake ([a-z][a-z0-9-]*)")
    assert names, "no make target found in the pages"
    assert {name: pages for name, pages in names.items() if name not in targets} == {}


def test_the_questlog_commands_named_exist() -> None:
    usage = subprocess.run(
        [sys.executable, "-m", "questlog.cli", "--help"], capture_output=True, text=True
    ).stdout
    choices = re.search(r"\{([a-z0-9,-]+)\}", usage)
    assert choices, usage
    commands = set(choices.group(1).split(","))
    names = named(r"(?:^|\$ |^\s*)questlog ([a-z][a-z0-9-]*)")
    assert names, "no questlog command found in the pages"
    assert {name: pages for name, pages in names.items() if name not in commands} == {}


def test_the_api_routes_named_exist() -> None:
    app = create_app()
    # Routers included in the app are listed by their own routes, not the app's.
    routes = {getattr(route, "path", "") for route in app.routes} | set(app.openapi()["paths"])
    names = named(r"^(?:(?:GET|POST|PUT|DELETE) )?(/[^\s?]*)")
    api_routes = {n: p for n, p in names.items() if not n.startswith(NOT_ROUTES)}
    assert "/v1/events" in api_routes
    assert {name: pages for name, pages in api_routes.items() if name not in routes} == {}


def test_the_settings_named_exist() -> None:
    fields = variables(Settings) | set(legacy_variables(Settings))  # the old names are read too
    files = [path for root in CODE for path in (REPO_ROOT / root).rglob("*") if path.is_file()]
    code = "\n".join(
        path.read_text(errors="ignore") for path in [*files, *map(REPO_ROOT.joinpath, CODE_FILES)]
    )
    names = named(r"\b(QUESTLOG_[A-Z0-9_]+)\b")
    assert names, "no setting found in the pages"
    unknown = {n: p for n, p in names.items() if n not in fields and n not in code}
    assert unknown == {}
