"""The base images: each official one where the engine has it or a registry serves it;
otherwise a stand-in built here from Debian's packages, which the Dockerfiles then build on
through the same build argument.

The Debian stand-in is a minimal bookworm made by debootstrap and trimmed as Debian's slim
images are; the Python and Go stand-ins are built on it from ``images/bases/``. Each is
saved in the download cache, so that another engine (or this one, emptied) loads it
without fetching anything.
"""

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException, ImageNotFound

from questlog.images import base_args
from questlog.images.engine import build_image
from questlog.settings import REPO_ROOT, Settings
from questlog.stack.install import Say

STANDIN_REPOSITORY = "questlog-standin"
SUITE = "bookworm"
# What Debian's slim images leave out of every package they install.
DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""
APT_SLIM = """\
APT::Install-Suggests "false";
APT::AutoRemove::SuggestsImportant "false";
Acquire::Languages "none";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
"""


class BaseError(RuntimeError):
    """A base image could not be had or built; the message says why and what to do."""


@dataclass(frozen=True)
class StandIn:
    """How to build a stand-in for one official repository."""

    repository: str
    # images/bases/<repository>.Dockerfile, or None for the debootstrap root file system.
    dockerfile: str | None
    # Extra context: (path in the context, folder on this machine).
    context: Callable[[], tuple[tuple[str, Path], ...]] = lambda: ()

    @property
    def tag(self) -> str:
        return f"{STANDIN_REPOSITORY}/{self.repository}:{SUITE}"


def go_root() -> tuple[tuple[str, Path], ...]:
    """This machine's Go distribution, for the Go stand-in."""
    go = shutil.which("go")
    if go is None:
        raise BaseError("the Go stand-in copies this machine's Go, and `go` is not on PATH")
    root = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True, check=True)
    return (("go", Path(root.stdout.strip())),)


STANDINS = {
    standin.repository: standin
    for standin in (
        StandIn("debian", None),
        StandIn("python", "images/bases/python.Dockerfile"),
        StandIn("golang", "images/bases/golang.Dockerfile", go_root),
    )
}


class Bases:
    """Resolves each official base to the image to build on, once per run."""

    def __init__(
        self, client: docker.DockerClient, settings: Settings, say: Say, fresh: bool = False
    ) -> None:
        self.client, self.settings, self.say = client, settings, say
        # Build the stand-ins again, from Debian's packages of today.
        self.fresh = fresh
        self.resolved: dict[str, str] = {}

    def resolve(self, official: str) -> str:
        if official not in self.resolved:
            self.resolved[official] = self._resolve(official)
        return self.resolved[official]

    def _resolve(self, official: str) -> str:
        if self._present(official):
            return official
        try:
            self.say(f"  pull {official} ...")
            self.client.images.pull(official)
            return official
        except DockerException as error:
            reason = getattr(error, "explanation", None) or str(error)
            self.say(f"       no registry serves it here: {reason.splitlines()[0][:200]}")
        repository = official.split(":")[0].rsplit("/", 1)[-1]
        standin = STANDINS.get(repository)
        if standin is None:
            raise BaseError(
                f"{official} is neither in the Docker engine nor served by a registry, and "
                f"questlog has no stand-in for {repository}: pull or load it first"
            )
        saved = self.settings.cache_dir / "images" / f"{standin.repository}-{SUITE}.tar"
        if self._present(standin.tag) and not self.fresh:
            self.say(f"  ok   stand-in {standin.tag} for {official} (built before)")
        elif saved.exists() and not self.fresh:
            self.say(f"  load stand-in {standin.tag} for {official} from {saved}")
            with saved.open("rb") as archive:
                self.client.images.load(archive)
        else:
            self.say(f"  make stand-in {standin.tag} for {official}, from Debian's packages")
            self._build(standin, official)
            # Kept, so that another engine (or this one, emptied) loads it without fetching.
            partial = saved.with_suffix(".partial")
            with partial.open("wb") as archive:
                for chunk in self.client.images.get(standin.tag).save(named=True):
                    archive.write(chunk)
            partial.rename(saved)
        return standin.tag

    def _present(self, tag: str) -> bool:
        try:
            self.client.images.get(tag)
            return True
        except ImageNotFound:
            return False

    def _build(self, standin: StandIn, official: str) -> None:
        labels = {"questlog.standin-for": official}
        if standin.dockerfile is None:
            self._import_debian(standin.tag, labels)
            return
        dockerfile = REPO_ROOT / standin.dockerfile
        args = {arg: self.resolve(default) for arg, default in base_args(dockerfile).items()}
        context = (("Dockerfile", dockerfile), *standin.context())
        build_image(
            self.client, self.settings, standin.tag, context, args, labels, self.say, self.fresh
        )

    def _import_debian(self, tag: str, labels: dict[str, str]) -> None:
        debootstrap = shutil.which("debootstrap")
        if debootstrap is None:
            raise BaseError(
                "building the Debian stand-in needs debootstrap: `make docker-engine` installs "
                "it (as root), or install the debootstrap package"
            )
        mirror = self.settings.images.debian_mirror
        work = self.settings.cache_dir / "images"
        work.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=work) as folder:
            root = Path(folder) / "rootfs"
            self.say(f"       debootstrap --variant=minbase {SUITE} from {mirror} (about a minute)")
            result = subprocess.run(
                [debootstrap, "--variant=minbase", SUITE, str(root), mirror],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
                raise BaseError(f"debootstrap failed (exit {result.returncode}):\n{tail}")
            slim(root, mirror)
            rootfs = Path(folder) / "rootfs.tar"
            subprocess.run(
                ["tar", "--numeric-owner", "-C", str(root), "-cf", str(rootfs), "."], check=True
            )
            repository, version = tag.split(":")
            changes = [f'LABEL {key}="{value}"' for key, value in labels.items()]
            self.client.api.import_image(
                src=str(rootfs),
                repository=repository,
                tag=version,
                changes=[*changes, 'CMD ["bash"]'],
            )


def slim(root: Path, mirror: str) -> None:
    """Trim a debootstrap root as Debian's slim images are, and point apt at the suite, its
    updates and its security fixes."""
    (root / "etc/dpkg/dpkg.cfg.d/questlog-slim").write_text(DPKG_EXCLUDES)
    (root / "etc/apt/apt.conf.d/questlog-slim").write_text(APT_SLIM)
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    security = mirror.rstrip("/") + "-security"
    (root / "etc/apt/sources.list.d/debian.sources").write_text(
        f"Types: deb\nURIs: {mirror}\nSuites: {SUITE} {SUITE}-updates\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        f"Types: deb\nURIs: {security}\nSuites: {SUITE}-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    keep = {"copyright", "locale.alias"}
    for folder in ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale"):
        for path in sorted((root / folder).rglob("*"), reverse=True):
            if path.is_dir() and not path.is_symlink():
                if not any(path.iterdir()):
                    path.rmdir()
            elif path.name not in keep:
                path.unlink()
    for pattern in ("var/lib/apt/lists/*", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb"):
        for path in root.glob(pattern):
            if path.is_file():
                path.unlink()
    for log in (root / "var/log").rglob("*"):
        if log.is_file():
            log.write_bytes(b"")
