"""The API's container runs the very command the local stack runs."""

import json
import re
import sys
from pathlib import Path

from questlog_settings import Settings

from questlog.stack.components import IngestApi

DOCKERFILE = Path(__file__).parents[3] / "services" / "ingest" / "Dockerfile"


def test_dockerfile_runs_the_local_stack_command() -> None:
    (cmd,) = re.findall(r"^CMD (\[.*?\])$", DOCKERFILE.read_text().replace("\\\n", ""), re.M)
    container = json.loads(cmd)
    local = IngestApi(Settings(host="0.0.0.0", api={"port": 8000})).command()
    assert local[0] == sys.executable
    assert container == ["python", *local[1:]]
