"""An image's build context, as a tar archive of exactly what its Dockerfile copies.

Layout: ``Dockerfile``; ``build/`` (what only build stages read: the CA bundle, and either
the image's locked requirements and ``images/python-env.sh``, or ``images/go-build.sh``);
``src/`` (the Python packages of questlog and of the workspace members its extras
install); the repository paths the image names, as they are; and the download-cache
folders it names. Entries carry fixed owners and times, so an unchanged file hits
Docker's layer cache whatever its checkout.
"""

import io
import re
import subprocess
import tarfile
import tomllib
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

from questlog.images import Image, find
from questlog.settings import REPO_ROOT, Settings


class ContextError(RuntimeError):
    """A file the build context needs is missing; the message says which and why."""


Entry = tuple[str, Path | bytes]


def entries(image: Image, settings: Settings, ca_bundle: bytes, uv: str) -> Iterator[Entry]:
    """(path in the context, file or folder on this machine, or the bytes of a file).
    ``uv`` is the uv that exports the image's requirements from the lock."""
    yield "Dockerfile", REPO_ROOT / image.dockerfile
    yield "build/build-ca.crt", ca_bundle
    if image.stage == "python":
        yield "build/requirements.txt", requirements(uv, image.extras, inherited(image))
        yield "build/uv-version", uv_version(uv).encode()
        yield "build/python-env.sh", REPO_ROOT / "images" / "python-env.sh"
        for package in packages(uv, image.extras):
            yield f"src/{package.name}", package
    elif image.stage == "go":
        yield "build/go-build.sh", REPO_ROOT / "images" / "go-build.sh"
    for name in image.files:
        yield name, REPO_ROOT / name
    for target, cached in image.cache:
        source = settings.cache_dir / cached
        if not source.is_dir():
            raise ContextError(
                f"{image.tag} needs {source} from the download cache, which is not there; "
                "`make images` fetches it (questlog setup)"
            )
        yield target, source


def inherited(image: Image) -> tuple[str, ...]:
    """The extras whose requirements the image has from the questlog images it needs."""
    return tuple(extra for need in image.needs for extra in find(need).extras)


def requirements(uv: str, extras: tuple[str, ...], inherited: tuple[str, ...] = ()) -> bytes:
    """The locked requirements of ``extras`` (and of questlog itself), with their hashes,
    less those ``inherited`` gives; one blank-separated block each. The workspace's own
    packages are not among them (see ``packages``), and the lock's other extras and the dev
    group do not change them."""

    def blocks(names: tuple[str, ...]) -> list[str]:
        # A requirement is a line and its indented --hash lines; a member is not one.
        found = re.split(r"\n(?=\S)", export(uv, names).strip())
        return [block for block in found if not block.startswith("-e ")]

    had = set(blocks(inherited)) if inherited else set()
    return "".join(f"{block}\n" for block in blocks(extras) if block not in had).encode()


def packages(uv: str, extras: tuple[str, ...]) -> list[Path]:
    """The folders of the Python packages that questlog and ``extras`` install from the
    workspace: questlog's tooling, and each member they need (an ``-e ./member`` line of
    the export), as its pyproject's wheel target names them."""
    members = re.findall(r"^-e \./?(\S*)$", export(uv, extras), re.M)
    folders = []
    for member in sorted(members):
        project = tomllib.loads((REPO_ROOT / member / "pyproject.toml").read_text())
        wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
        folders += [REPO_ROOT / member / package for package in wheel["packages"]]
    return folders


@cache
def export(uv: str, extras: tuple[str, ...]) -> str:
    """``uv export`` of questlog with ``extras``, from the lock as it is: the requirements
    and the workspace members (``-e ./member``) they need. Read once a build for each."""
    command = [uv, "export", "--frozen", "--no-dev", "--no-header", "--no-annotate"]
    command += [option for extra in extras for option in ("--extra", extra)]
    return subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO_ROOT).stdout


@cache
def uv_version(uv: str) -> str:
    """The version of ``uv`` (the Makefile's pin), which the images install to install."""
    result = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
    return result.stdout.split()[1]


def write(context: Iterable[Entry], target: Path) -> None:
    """Write a context to ``target``."""
    with tarfile.open(target, "w") as archive:
        for name, source in context:
            if isinstance(source, bytes):
                _add_bytes(archive, name, source)
            else:
                _add_tree(archive, name, source)


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = _normalised(tarfile.TarInfo(name))
    info.size, info.mode = len(data), 0o644
    archive.addfile(info, io.BytesIO(data))


def _add_tree(archive: tarfile.TarFile, name: str, source: Path) -> None:
    if not source.exists():
        raise ContextError(f"{source} is missing from the repository")
    paths = [source] if source.is_file() else sorted(source.rglob("*"))
    for path in paths:
        relative = path.relative_to(source)
        # Caches (__pycache__, .mypy_cache, ...) and dotfiles are not sources.
        if any(part == "__pycache__" or part.startswith(".") for part in relative.parts):
            continue
        arcname = name if path == source else f"{name}/{relative}"
        archive.add(path, arcname, recursive=False, filter=_normalised)
