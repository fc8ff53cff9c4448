"""questlog installed on the test cluster: its helm test hooks, a release broken on purpose,
the original game routes called through the API's Service, counted in Trino, and a user
erased by `k8s/deploy.sh forget`."""

import json

import pytest

from questlog.images import image_tag
from tests.helpers import erasures_of, forget_events, unique
from tests.k8s.conftest import NAMESPACE, Cluster

pytestmark = pytest.mark.k8s

# The original game's routes, called as its players' browsers did: GET, one Host each.
CALL_ROUTES = """
import json, sys, urllib.request
calls = json.loads(sys.argv[1])
for host, route, times in calls:
    for _ in range(times):
        request = urllib.request.Request("http://questlog-api:8000" + route, headers={"Host": host})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200, (route, response.status)
print("called", sum(times for _, _, times in calls))
"""
# Events posted to /v1/events with the API's key, as the chart's own clients post.
POST_EVENTS = """
import json, os, sys, urllib.request
events = json.loads(sys.argv[1])
request = urllib.request.Request(
    "http://questlog-api:8000/v1/events",
    data=json.dumps({"events": events}).encode(),
    headers={"Content-Type": "application/json",
             "Authorization": "Bearer " + os.environ["QUESTLOG_WRITE_KEY"]},
)
with urllib.request.urlopen(request, timeout=30) as response:
    print(response.status)
"""


def test_helm_test_finds_the_events_posted_to_the_api_in_trino(cluster: Cluster) -> None:
    output = cluster.deploy("helm-test").stdout
    assert "OK: Trino returns all 200 events" in output, output
    assert "questlog_events_accepted_total moved by 20" in output, output
    assert "Phase:          Failed" not in output, output


def test_helm_test_of_a_release_without_trino_fails_and_names_trino(cluster: Cluster) -> None:
    cluster.kubectl("scale", "deployment/trino", "-n", NAMESPACE, "--replicas=0")
    try:
        cluster.kubectl(
            "wait", "pod", "-n", NAMESPACE, "-l", "app.kubernetes.io/component=trino",
            "--for=delete", "--timeout=120s",
        )  # fmt: skip
        result = cluster.deploy("helm-test", check=False)
    finally:
        cluster.kubectl("scale", "deployment/trino", "-n", NAMESPACE, "--replicas=1")
        cluster.kubectl("rollout", "status", "deployment/trino", "-n", NAMESPACE, "--timeout=300s")
    assert result.returncode != 0
    assert "Trino at trino:8080 could not run" in result.stdout + result.stderr, result.stdout


def test_seed_routes_through_the_api_service_give_exact_counts_in_trino(
    cluster: Cluster,
) -> None:
    run = unique("seed")
    first, second = f"player1.{run}.example", f"player2.{run}.example"
    calls = [
        (first, "/purchase_a_sword", 10),
        (first, "/join_guild", 10),
        (second, "/purchase_a_sword", 5),
        (second, "/join_guild", 5),
    ]
    output = cluster.run_pod(
        "seed-routes", image_tag("ingest-api"), ["python", "-c", CALL_ROUTES, json.dumps(calls)]
    )
    assert output.strip() == "called 30", output
    for table in ("sword_purchases", "guild_joins"):
        cluster.eventually(
            f"SELECT host, count(*) FROM hive.default.{table} "
            f"WHERE host LIKE '%.{run}.example' GROUP BY host ORDER BY host",
            [[first, 10], [second, 5]],
        )


def test_forget_erases_a_users_rows_from_the_lake_and_records_it(cluster: Cluster) -> None:
    user, other = unique("forgotten"), unique("remembered")
    events = forget_events(user, other)
    command = ["python", "-c", POST_EVENTS, json.dumps(events)]
    output = cluster.run_pod("post-forget", image_tag("ingest-api"), command)
    assert output.strip() == "202", output
    counts = (
        "SELECT user_id, count(*) FROM ("
        " SELECT user_id FROM iceberg.default.guild_joins UNION ALL"
        " SELECT user_id FROM iceberg.default.sword_purchases"
        f") WHERE user_id IN ('{user}', '{other}') GROUP BY user_id ORDER BY user_id"
    )
    cluster.eventually(counts, [[user, 2], [other, 1]])

    done = cluster.deploy("forget", user).stdout
    assert "erased 2 rows of the user" in done, done
    assert cluster.trino(counts) == [[other, 1]]
    assert cluster.trino(erasures_of(user)) == [["guild_joins", 1], ["sword_purchases", 1]]
    left = cluster.kubectl("get", "sparkapplication", "-n", NAMESPACE, "-o", "name")
    assert "forget" not in left, left
