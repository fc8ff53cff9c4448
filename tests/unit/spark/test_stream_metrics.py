import json
from types import SimpleNamespace

from prometheus_client import REGISTRY
from questlog_spark.stream_metrics import ProgressMetrics, offsets_read, timings


def report(sources: list[dict[str, object]]) -> SimpleNamespace:
    return SimpleNamespace(progress=SimpleNamespace(json=json.dumps({"sources": sources})))


def test_offsets_read_sums_every_partition_of_every_source() -> None:
    progress = {
        "sources": [
            {"endOffset": {"events": {"0": 10, "1": 32, "2": 0}}},
            {"endOffset": json.dumps({"other": {"0": 5}})},  # as JSON text
        ]
    }
    assert offsets_read(progress) == 47


def test_the_gauge_follows_each_report_and_ignores_reports_without_sources() -> None:
    listener = ProgressMetrics()
    listener.onQueryProgress(report([{"endOffset": {"events": {"0": 7, "1": 8}}}]))
    assert REGISTRY.get_sample_value("questlog_stream_kafka_offsets_read") == 15
    listener.onQueryProgress(report([]))
    assert REGISTRY.get_sample_value("questlog_stream_kafka_offsets_read") == 15
    listener.onQueryProgress(report([{"endOffset": {"events": {"0": 9, "1": 8}}}]))
    assert REGISTRY.get_sample_value("questlog_stream_kafka_offsets_read") == 17


def test_a_batchs_timings_name_spark_steps_and_the_dedup_states() -> None:
    progress = {
        "durationMs": {"addBatch": 5400, "walCommit": 12},
        "stateOperators": [{"allUpdatesTimeMs": 310, "commitTimeMs": 95}],
    }
    assert timings(progress) == "addBatch 5400, walCommit 12, stateUpdates 310, stateCommit 95"
