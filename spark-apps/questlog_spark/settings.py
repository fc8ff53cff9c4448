"""Settings of the Spark apps, read from the environment (prefix ``QUESTLOG_``), so the same
code runs on the local stack (which sets them) and as a SparkApplication (whose spec does)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from questlog_catalog import ASSESSMENTS_TOPIC, EVENTS_DIR, EVENTS_TOPIC


class LakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUESTLOG_", frozen=True)

    kafka_bootstrap: str = "127.0.0.1:9092"
    events_topic: str = EVENTS_TOPIC
    # The topic the assessments batch job builds its tables from.
    assessments_topic: str = ASSESSMENTS_TOPIC
    # Root of the lake as a Hadoop URI: file:///… locally, s3a://bucket/… on Kubernetes.
    lake_root: str = "file:///tmp/questlog/lake"
    # Where the streaming query keeps its offsets and dedup state (durable storage).
    checkpoint_root: str = "file:///tmp/questlog/checkpoints"
    database: str = "default"
    catalog_dir: Path = EVENTS_DIR

    # Seconds between micro-batches.
    trigger_seconds: float = Field(default=10.0, gt=0)
    # A client's repeated event_id is dropped when it arrives within this window.
    dedup_window: str = "10 minutes"
    # Events that happened longer than this before they were received count as late.
    allowed_lateness: str = "1 hour"
    # Cap on Kafka records per micro-batch, which bounds a batch's memory when a backlog
    # is drained.
    max_offsets_per_trigger: int = Field(default=50_000, gt=0)
    # Minutes between the rounds of maintenance (``compact``) the streaming app runs itself,
    # where nothing else schedules it (the local stack); 0 for none.
    maintenance_minutes: float = Field(default=0, ge=0)
    # The streaming app's Prometheus endpoint.
    stream_metrics_host: str = "127.0.0.1"
    stream_metrics_port: int = 8001
    # The ingest API's HMAC key of personal data: the erasure job (forget.py) needs it
    # only where the catalog hashes user_id.
    personal_data_key: SecretStr = SecretStr("")

    def table_uri(self, table: str) -> str:
        return f"{self.lake_root.rstrip('/')}/{table}"


@lru_cache
def get_lake_settings() -> LakeSettings:
    return LakeSettings()
