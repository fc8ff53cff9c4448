"""The services' containers run the very commands the local stack runs."""

import json
import re
import sys
from pathlib import Path

import pytest

from questlog.settings import Settings
from questlog.stack.components import IngestApi, PilotRegistry, Service

SERVICES = Path(__file__).parents[3] / "services"


@pytest.mark.parametrize(
    ("service", "folder"),
    [
        (IngestApi(Settings(host="0.0.0.0")), "ingest"),
        (PilotRegistry(Settings(host="0.0.0.0")), "registry"),
    ],
    ids=["ingest", "registry"],
)
def test_dockerfile_runs_the_local_stack_command(service: Service, folder: str) -> None:
    dockerfile = (SERVICES / folder / "Dockerfile").read_text().replace("\\\n", "")
    (cmd,) = re.findall(r"^CMD (\[.*?\])$", dockerfile, re.M)
    local = service.command()
    assert local[0] == sys.executable
    assert json.loads(cmd) == ["python", *local[1:]]
