"""Bring the local stack up, report on it, bring it down."""

import shutil
import time
from dataclasses import dataclass

from questlog.settings import Settings
from questlog.stack import supervisor
from questlog.stack.components import Component, all_components
from questlog.stack.install import Say, install
from questlog.stack.java import system_java
from questlog.stack.probes import NotReady


class StackError(RuntimeError):
    """The stack could not be brought up; the message says why and what to do."""


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    endpoint: str
    pid: int | None
    rss_bytes: int
    answer: str  # the probe's answer, or why it failed
    ready: bool
    log: str


def up(settings: Settings, say: Say = print) -> None:
    """Start every component that is not running and wait until each answers."""
    settings.check_ports()
    components = all_components(settings)
    to_start = [c for c in components if supervisor.find(settings, c.name) is None]
    if not to_start:
        say("The stack is already running.")
    _check_ports_free(settings, to_start)
    if to_start:
        say("Checking the components are installed:")
        install(settings, system_java(), say)
    for component in to_start:
        component.prepare()
        process = supervisor.start(
            settings,
            component.name,
            component.command(),
            cwd=component.data_dir,
            env=component.environment(),
        )
        say(f"Started {component.name} (pid {process.pid}); waiting until it answers ...")
    for component in components:
        wait_ready(settings, component, say, settle=component in to_start)
        if done := component.after_ready():
            say(f"  {component.name}: {done}")
    for line in format_status(status(settings)):
        say(line)


def _check_ports_free(settings: Settings, components: list[Component]) -> None:
    busy = []
    for component in components:
        for variable, port in component.ports.items():
            owner = supervisor.port_owner(settings.host, port)
            if owner is not None:
                busy.append(
                    f"port {port} ({component.name}) on {settings.host} is already in use by "
                    f"{owner}; stop it or choose another port with {variable}"
                )
    if busy:
        raise StackError("Cannot start the stack:\n  " + "\n  ".join(busy))


def wait_ready(settings: Settings, component: Component, say: Say, settle: bool = True) -> None:
    """Poll the component's probe until it answers; then, if it was just started, give it
    its settle time."""
    deadline = time.monotonic() + settings.start_timeout
    log = supervisor.log_file(settings, component.name)
    while True:
        if supervisor.find(settings, component.name) is None:
            raise StackError(
                f"{component.name} exited while starting; from {log}:\n"
                + supervisor.failure_summary(log)
            )
        try:
            answer = component.probe()
            if settle:
                time.sleep(component.settle_seconds)
            say(f"  {component.name} is ready at {component.endpoint} ({answer})")
            return
        except NotReady as error:
            if time.monotonic() > deadline:
                raise StackError(
                    f"{component.name} did not become ready within {settings.start_timeout:.0f}"
                    f" s: {error}\nFrom {log}:\n{supervisor.failure_summary(log)}"
                ) from error
        time.sleep(1)


def status(settings: Settings) -> list[ComponentStatus]:
    result = []
    for component in all_components(settings):
        process = supervisor.find(settings, component.name)
        ready, answer = False, "not running"
        if process is not None:
            try:
                answer, ready = component.probe(), True
            except NotReady as error:
                answer = f"running, not answering: {error}"
        result.append(
            ComponentStatus(
                name=component.name,
                endpoint=component.endpoint,
                pid=process.pid if process else None,
                rss_bytes=supervisor.tree_rss(process) if process else 0,
                answer=answer,
                ready=ready,
                log=str(supervisor.log_file(settings, component.name)),
            )
        )
    return result


def format_status(statuses: list[ComponentStatus]) -> list[str]:
    lines = [f"{'component':<10} {'state':<6} {'endpoint':<28} {'pid':>7} {'RSS':>9}  log"]
    for s in statuses:
        state = "up" if s.ready else ("starting" if s.pid else "down")
        pid = str(s.pid) if s.pid else "-"
        rss = f"{s.rss_bytes / 2**20:.0f} MiB" if s.pid else "-"
        lines.append(f"{s.name:<10} {state:<6} {s.endpoint:<28} {pid:>7} {rss:>9}  {s.log}")
        if s.pid and not s.ready:
            lines.append(f"           {s.answer}")
    total = sum(s.rss_bytes for s in statuses)
    lines.append(f"total RSS of running components: {total / 2**30:.2f} GiB")
    return lines


def down(settings: Settings, say: Say = print) -> None:
    for component in reversed(all_components(settings)):
        if supervisor.stop(settings, component.name):
            say(f"Stopped {component.name}.")
        else:
            say(f"{component.name} was not running.")


def clean(settings: Settings, say: Say = print) -> None:
    """Stop the stack and delete its state: topics, metastore, lake, logs."""
    down(settings, say)
    if settings.state_dir.exists():
        shutil.rmtree(settings.state_dir)
        say(f"Removed {settings.state_dir}.")
