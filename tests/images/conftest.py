"""The images, built by `make images` and started with Docker: containers on a network the
test session creates, reached from this machine only through ports published on 127.0.0.1.
The session builds the images first (a no-op when `make images` just did)."""

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import docker
import pytest
from docker.models.containers import Container

from questlog.images import image_tag
from questlog.images.build import Built, build
from questlog.images.engine import client
from questlog.settings import get_settings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/images/" in str(item.path):
            item.add_marker(pytest.mark.images)


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    return client()


@dataclass
class BuildRun:
    built: list[Built]
    said: list[str]


@pytest.fixture(scope="session")
def images(engine: docker.DockerClient) -> BuildRun:
    """Every image, built (`make images` before the tests makes this a no-op)."""
    said: list[str] = []
    return BuildRun(build(get_settings(), say=said.append), said)


@dataclass
class Containers:
    """Containers of questlog's images on one Docker network, removed with it at the end."""

    engine: docker.DockerClient
    network: str
    started: list[Container] = field(default_factory=list)

    def run(
        self,
        image: str,
        alias: str,
        command: list[str] | None = None,
        environment: dict[str, str] | None = None,
        publish: tuple[int, ...] = (),
        healthcheck: list[str] | None = None,
    ) -> Container:
        """Start ``questlog/<image>`` as ``alias`` on the network, its ``publish`` ports on
        127.0.0.1 (at ports Docker picks)."""
        container = self.engine.containers.run(
            image_tag(image),
            command,
            name=f"{self.network}-{alias}",
            hostname=alias,
            environment=environment or {},
            ports={f"{port}/tcp": ("127.0.0.1", None) for port in publish},
            healthcheck={"test": ["CMD", *healthcheck], "interval": 5 * 10**9}
            if healthcheck
            else None,
            network=self.network,
            networking_config={
                self.network: self.engine.api.create_endpoint_config(aliases=[alias])
            },
            detach=True,
        )
        self.started.append(container)
        return container

    def wait_healthy(self, container: Container, timeout: float = 240) -> None:
        """Until the image's health check passes; fails with the container's log when it
        exits or does not pass in time."""
        deadline = time.monotonic() + timeout
        while True:
            container.reload()
            state: dict[str, Any] = container.attrs["State"]
            if state["Status"] == "exited":
                pytest.fail(f"{container.name} exited ({state['ExitCode']}):\n{log(container)}")
            if state.get("Health", {}).get("Status") == "healthy":
                return
            if time.monotonic() > deadline:
                checks = state.get("Health", {}).get("Log", [])[-1:]
                pytest.fail(
                    f"{container.name} not healthy in {timeout:.0f} s (last check: {checks}):\n"
                    f"{log(container)}"
                )
            time.sleep(1)

    def run_to_end(
        self,
        image: str,
        command: list[str] | None,
        environment: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> tuple[int, str]:
        """Run a one-off container of ``image`` on the network to its end: exit code, output."""
        container = self.run(image, f"run-{uuid.uuid4().hex[:6]}", command, environment)
        result = container.wait(timeout=timeout)
        return int(result["StatusCode"]), log(container, lines=400)


def log(container: Container, lines: int = 60) -> str:
    text: bytes = container.logs(tail=lines)
    return text.decode(errors="replace")


def published(container: Container, port: int) -> int:
    """The port on 127.0.0.1 where ``container``'s ``port`` is published."""
    container.reload()
    (binding,) = container.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"]
    assert binding["HostIp"] == "127.0.0.1"
    return int(binding["HostPort"])


@pytest.fixture(scope="module")
def containers(engine: docker.DockerClient, images: BuildRun) -> Iterator[Containers]:
    network = f"questlog-test-{uuid.uuid4().hex[:8]}"
    engine.networks.create(network, driver="bridge")
    running = Containers(engine, network)
    try:
        yield running
    finally:
        for container in running.started:
            container.remove(force=True, v=True)
        engine.networks.get(network).remove()
