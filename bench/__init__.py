"""Benchmarks that measure questlog side by side with baselines, in one run."""

import os
from pathlib import Path

from questlog.settings import REPO_ROOT

# The course projects' code the benchmarks compare against, kept outside the repository.
BASELINES = Path(os.environ.get("QUESTLOG_BASELINES", REPO_ROOT.parent / "shared" / "baselines"))
