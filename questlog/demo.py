"""``make demo``: the stack end to end. Sample game events are posted to the ingest API in
batches, which publishes them to the Kafka topic ``events``; the streaming app lands them in
one typed Parquet table per event type, registered in the Hive Metastore; once Trino sees
them all, the ed-tech project's assessment attempts are generated, loaded into Kafka and
built into their tables, and the analytics report runs on Trino."""

import random
import uuid

from questlog_catalog import ASSESSMENTS_TOPIC, EVENTS_TOPIC

from questlog import report
from questlog.assessments.generate import generate
from questlog.publish import LOADABLE, publish_file
from questlog.settings import Settings
from questlog.stack import lifecycle
from questlog.stack.install import Say
from questlog.stack.probes import trino_query
from questlog.stack.spark import spark_submit
from questlog.traffic import landed_sql, post_sample, wait_until_landed

# Seconds the demo waits for the stream to land what the API accepted.
LANDING_TIMEOUT = 180


def landed(settings: Settings, user_agent: str) -> int:
    """How many events sent with ``user_agent`` Trino sees in the event tables."""
    (row,) = trino_query(settings.host, settings.trino.port, landed_sql(user_agent))
    return int(str(row[0]))


def wait_until_all_landed(settings: Settings, user_agent: str, sent: int, say: Say) -> float:
    """Poll Trino until it sees all ``sent`` events; the seconds that took."""
    seen, seconds = wait_until_landed(
        lambda: landed(settings, user_agent),
        sent,
        LANDING_TIMEOUT,
        poll=2,
        progress=lambda seen, waited: say(
            f"  {seen}/{sent} events visible in Trino after {waited:.0f} s ..."
        ),
    )
    if seen < sent:
        raise lifecycle.StackError(
            f"only {seen} of {sent} events reached the lake within {LANDING_TIMEOUT} s; "
            "see `questlog logs stream`"
        )
    return seconds


def build_assessments(settings: Settings, say: Say) -> None:
    """The ed-tech project's flow, as `make assessments` runs it."""
    say("\nThe ed-tech project: assessment attempts, loaded into Kafka and built into tables ...")
    generated = generate(settings.state_dir / "assessment-attempts.jsonl")
    say(generated.describe())
    publish_file(settings, generated.path, ASSESSMENTS_TOPIC, LOADABLE[ASSESSMENTS_TOPIC], say)
    say("Building the tables assessments and assessment_questions with Spark ...")
    spark_submit(settings, "assessments")


def run(settings: Settings, say: Say, events: int = 2000) -> list[report.Answer]:
    lifecycle.up(settings, say)
    # This run's events are told apart from earlier runs' by their User-Agent.
    user_agent = f"questlog-demo/{uuid.uuid4().hex[:12]}"
    say(f"\nPosting {events} sample game events to the ingest API ({settings.api.url}) ...")
    accepted = post_sample(settings.api.url, events, user_agent, random.Random())
    say(f"The API accepted {accepted} events; Kafka has them in topic '{EVENTS_TOPIC}'.")
    say("Waiting for the streaming app to land them in the lake's tables ...")
    seconds = wait_until_all_landed(settings, user_agent, accepted, say)
    say(f"All {accepted} events are queryable in Trino, {seconds:.0f} s after the last 202.")
    build_assessments(settings, say)
    return report.run(settings, say)
