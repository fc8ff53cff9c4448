"""`make images`: build every image (or some, with those they need) on the Docker engine,
with each step's progress, and a table of what was built: base, size, time."""

import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from questlog_settings import env_name

from questlog.images import IMAGES, Image, find, image_tag, need_arg
from questlog.images.bases import Bases
from questlog.images.context import entries
from questlog.images.engine import ImageError, build_image, client
from questlog.settings import Settings
from questlog.stack.install import Say, install
from questlog.stack.java import system_java


@dataclass(frozen=True)
class Built:
    tag: str
    bases: tuple[str, ...]
    size: int
    seconds: float
    steps: int
    cached: int  # steps Docker took from its cache


def ca_bundle(settings: Settings, say: Say) -> bytes:
    bundle = settings.images.build_ca_bundle
    path = Path(bundle) if bundle else None
    if path is None or not path.is_file():
        say("Build stages trust only their images' own CA certificates.")
        return b""
    variable = env_name("images", "build_ca_bundle")
    say(f"Build stages also trust the CA certificates of {path} ({variable}).")
    return path.read_bytes()


def find_uv(settings: Settings) -> str:
    """The uv of the Makefile's pin (QUESTLOG_UV, or where the Makefile installs it), which
    exports the images' requirements from the lock."""
    pinned = settings.cache_dir / "tools" / "bin" / "uv"
    uv = os.environ.get("QUESTLOG_UV") or (str(pinned) if pinned.exists() else shutil.which("uv"))
    if not uv:
        raise ImageError("uv was not found: run `make images`, which installs it")
    return uv


def selected(names: Iterable[str]) -> list[Image]:
    """The images named (all when none are) and those they need, in build order."""
    wanted = set(names) or {image.name for image in IMAGES}
    unknown = wanted - {image.name for image in IMAGES}
    if unknown:
        known = ", ".join(image.name for image in IMAGES)
        raise ImageError(f"no image named {', '.join(sorted(unknown))}; the images: {known}")
    pending = list(wanted)
    while pending:
        for need in find(pending.pop()).built_on:
            if need not in wanted:
                wanted.add(need)
                pending.append(need)
    return [image for image in IMAGES if image.name in wanted]


def build(
    settings: Settings, names: Iterable[str] = (), say: Say = print, fresh: bool = False
) -> list[Built]:
    """Build the images (with their stand-in bases where needed; ``fresh``: every step again,
    fetching everything); what was built."""
    images = selected(names)
    engine = client()
    say("Checking the components the images copy are in the download cache:")
    install(settings, system_java(), say, for_images=True)
    bundle = ca_bundle(settings, say)
    uv = find_uv(settings) if any(image.stage == "python" for image in images) else ""
    bases = Bases(engine, settings, say, fresh)
    built = []
    for image in images:
        say(f"Building {image.tag}: {image.summary}")
        started = time.monotonic()
        args = {arg: bases.resolve(official) for arg, official in image.base_args().items()}
        args |= {need_arg(need): image_tag(need) for need in image.built_on}
        labels = {
            "org.opencontainers.image.title": f"questlog {image.name}",
            "org.opencontainers.image.description": image.summary,
            "org.opencontainers.image.version": version("questlog"),
        }
        context = entries(image, settings, bundle, uv)
        steps, cached = build_image(engine, settings, image.tag, context, args, labels, say, fresh)
        size = engine.images.get(image.tag).attrs["Size"]
        seconds = time.monotonic() - started
        built.append(Built(image.tag, tuple(args.values()), size, seconds, steps, cached))
    return built


def summary(built: list[Built]) -> list[str]:
    width = max(len(b.tag) for b in built)
    lines = [f"{'image':<{width}}  {'size':>8}  {'built':>8}  steps  on"]
    for b in built:
        steps = "cached" if b.cached == b.steps else f"{b.steps - b.cached} run"
        lines.append(
            f"{b.tag:<{width}}  {b.size / 1e6:>5.0f} MB  {b.seconds:>6.1f} s  {steps:<6} "
            f"{', '.join(b.bases)}"
        )
    lines.append(f"{len(built)} images, {sum(b.size for b in built) / 1e9:.2f} GB in all")
    return lines
