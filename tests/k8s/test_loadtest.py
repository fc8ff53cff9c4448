"""`make loadtest` on the test cluster: the Locust Job runs 2 minutes, passes its thresholds,
and every event the API accepted is found in Trino."""

import pytest

from tests.k8s.conftest import Cluster

pytestmark = pytest.mark.k8s


def test_the_load_test_job_passes_its_thresholds_and_reconciles_in_trino(
    cluster: Cluster,
) -> None:
    result = cluster.deploy("loadtest", check=False, LOAD_SECONDS="120")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "THRESHOLD FAILED" not in output
    assert "Reconciled: all" in output, output
