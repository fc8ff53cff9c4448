"""Images reach the node from the local Docker engine: ``docker save`` into the cluster
containerd's ``ctr images import`` (the kubelet never pulls: no registry answers here)."""

import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

from questlog.images import IMAGES
from questlog.k8s import Node
from questlog.k8s.config import PAUSE_IMAGE
from questlog.stack.install import Say


class ImageMissing(RuntimeError):
    """An image the cluster runs is not in the local Docker engine."""


def _docker_id(tag: str) -> str | None:
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", tag], capture_output=True, text=True
    )
    return result.stdout.strip() if result.returncode == 0 else None


def build_pause(node: Node) -> None:
    """The pod sandbox image: Kubernetes' pause program alone, built with the binaries."""
    if _docker_id(PAUSE_IMAGE) is not None:
        return
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "pause.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(node.binary("pause"), arcname="pause")
        subprocess.run(
            ["docker", "import", "--change", 'ENTRYPOINT ["/pause"]', str(archive), PAUSE_IMAGE],
            check=True,
            capture_output=True,
        )


def cluster_images() -> list[str]:
    return [PAUSE_IMAGE, *(image.tag for image in IMAGES if not image.builder)]


def load_images(node: Node, say: Say) -> None:
    """Import every image the node lacks, or has in another build than Docker's."""
    build_pause(node)
    record = node.state_dir / "images.json"
    loaded: dict[str, str] = json.loads(record.read_text()) if record.exists() else {}
    wanted = {tag: _docker_id(tag) for tag in cluster_images()}
    missing = [tag for tag, image_id in wanted.items() if image_id is None]
    if missing:
        raise ImageMissing(f"not built: {', '.join(missing)}; run `make images`")
    stale = [tag for tag, image_id in wanted.items() if loaded.get(tag) != image_id]
    if not stale:
        return
    say(f"Loading {len(stale)} images into the node: {', '.join(stale)} ...")
    save = subprocess.Popen(["docker", "save", *stale], stdout=subprocess.PIPE)
    imported = subprocess.run(
        ["ctr", "--address", str(node.containerd_socket), "--namespace", "k8s.io",
         "images", "import", "-"],
        stdin=save.stdout, capture_output=True, text=True,
    )  # fmt: skip
    if save.wait() != 0 or imported.returncode != 0:
        raise ImageMissing(f"loading the images failed: {imported.stderr.strip()}")
    record.write_text(json.dumps({**loaded, **{tag: wanted[tag] for tag in stale}}, indent=2))
