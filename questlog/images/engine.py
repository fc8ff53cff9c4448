"""The Docker engine: a client checked to answer, and one image built from a build context
with each step said as it starts."""

import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import docker
from docker.errors import DockerException

from questlog.images.context import Entry, write
from questlog.settings import Settings
from questlog.stack.install import Say

# A step of the legacy builder's output: "Step 3/12 : RUN ...".
STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
TRIGGERS = re.compile(r"^# Executing (\d+) build triggers?$")


class ImageError(RuntimeError):
    """An image could not be built; the message says which, where and why."""


def client() -> docker.DockerClient:
    """The Docker engine of DOCKER_HOST (or the local socket), checked to answer."""
    try:
        engine = docker.from_env(timeout=3600)
        engine.ping()
    except DockerException as error:
        raise ImageError(
            f"No Docker engine answers ({error}). `make docker-engine` installs and starts "
            "one (as root on Debian), or start dockerd yourself."
        ) from error
    return engine


def build_image(
    engine: docker.DockerClient,
    settings: Settings,
    tag: str,
    context: Iterable[Entry],
    args: dict[str, str],
    labels: dict[str, str],
    say: Say,
    fresh: bool = False,
) -> tuple[int, int]:
    """Build ``tag`` from ``context`` (``fresh``: every step again, none from Docker's cache);
    the number of steps, and of those Docker had cached. Each step is said as it starts;
    the full output goes to a log in the cache."""
    log_path = settings.cache_dir / "logs" / f"image-{tag.replace('/', '-')}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    work = settings.cache_dir / "images"
    work.mkdir(parents=True, exist_ok=True)
    name = tag.split("/", 1)[-1].split(":")[0]
    steps = cached = 0
    with (
        tempfile.NamedTemporaryFile(dir=work, suffix=".tar") as archive,
        log_path.open("w") as log,
    ):
        write(context, Path(archive.name))
        archive.seek(0)
        output = engine.api.build(
            fileobj=archive,
            custom_context=True,
            tag=tag,
            buildargs=args,
            labels=labels,
            rm=True,
            forcerm=True,
            pull=False,
            nocache=fresh,
            decode=True,
        )
        step, staged = "", False
        for chunk in output:
            if "error" in chunk:
                log.write(chunk["error"] + "\n")
                log.flush()
                tail = "\n".join(log_path.read_text().splitlines()[-25:])
                raise ImageError(
                    f"Building {tag} failed at {step or 'the start'}:\n{tail}\nFull log: {log_path}"
                )
            text = chunk.get("stream", "")
            log.write(text)
            for line in text.splitlines():
                if match := STEP.match(line):
                    step = line
                    instruction = match.group(3)
                    staged = staged or instruction.startswith("FROM ")
                    # FROM, and the ARGs before the first, are never cached steps.
                    if staged and not instruction.startswith("FROM "):
                        steps += 1
                        say(f"  {name:<14} {match.group(1)}/{match.group(2)} {instruction[:90]}")
                elif triggers := TRIGGERS.match(line):
                    # The ONBUILD steps of the image a stage starts from.
                    steps += int(triggers.group(1))
                elif line.strip() == "---> Using cache":
                    cached += 1
    return steps, cached
