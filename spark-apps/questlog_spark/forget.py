"""The erasure job: a user's rows deleted from every event table and the dead letters
(Iceberg row-level deletes, one commit per table), and the erasure recorded in the audit
table ``erasures``.

    spark-submit forget.py USER_ID

Where a type hashes ``user_id`` (the catalog's ``x-questlog-personal``), its table holds
the user's token, made with ``QUESTLOG__PERSONAL_DATA_KEY``. The audit table keeps when,
which table and how many rows, and the user only as the SHA-256 of the id. Snapshots
older than the deletes still hold the rows until they expire (``compact``'s
``expire_snapshots``, 24 h by default), and the events topic until its retention.
"""

import argparse
import hashlib
from datetime import UTC, datetime

from pyspark.sql import SparkSession
from pyspark.sql import types as T
from questlog_catalog import load_catalog, personal_token
from questlog_settings import SparkSettings, get_spark_settings
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_fixed

from questlog_spark.compact import lost_to_a_commit_meanwhile
from questlog_spark.schemas import DEAD_LETTER_TABLE, LONG, STRING, struct
from questlog_spark.tables import Say, ensure_iceberg_table

AUDIT_TABLE = "erasures"
AUDIT_COLUMNS = struct(
    erased_at=T.TimestampNTZType(), subject_sha256=STRING, table_name=STRING, rows_deleted=LONG
)
# A dead letter is the record as Kafka held it: the user is the JSON's user_id.
DEAD_LETTER_USER = "get_json_object(value, '$.user_id')"


def matches(user_id: str, settings: SparkSettings) -> dict[str, tuple[str, str]]:
    """Each table, with the column expression and value that pick the user's rows."""
    key = settings.personal_data_key.get_secret_value().encode()
    found = {}
    for event_type in load_catalog(settings.lake.catalog_dir).values():
        hashed = event_type.personal.get("user_id") == "hash"
        if hashed and not key:
            raise SystemExit(f"{event_type.table} holds hashed user ids: set the key")
        found[event_type.table] = ("user_id", personal_token(key, user_id) if hashed else user_id)
    found[DEAD_LETTER_TABLE] = (DEAD_LETTER_USER, user_id)
    return found


class Eraser:
    def __init__(self, spark: SparkSession, settings: SparkSettings, say: Say = print) -> None:
        self.spark, self.settings, self.say = spark, settings, say

    def _name(self, table: str) -> str:
        return f"`{self.settings.lake.database}`.`{table}`"

    @retry(
        retry=retry_if_exception(lost_to_a_commit_meanwhile),
        stop=stop_after_attempt(5),
        wait=wait_fixed(1),
        reraise=True,
    )
    def delete(self, table: str, column: str, value: str) -> int:
        """Delete the rows where ``column`` is ``value``; how many there were. Tried again
        when a stream commit since it began conflicts with it."""
        name, where, user = self._name(table), f"{column} = :user", {"user": value}
        rows = self.spark.sql(f"SELECT count(*) FROM {name} WHERE {where}", user).collect()[0][0]
        if rows:
            self.spark.sql(f"DELETE FROM {name} WHERE {where}", user)
        return int(rows)

    def forget(self, user_id: str) -> dict[str, int]:
        """Erase ``user_id`` everywhere; rows deleted by table, as recorded in the audit."""
        deleted = {
            table: self.delete(table, column, value)
            for table, (column, value) in matches(user_id, self.settings).items()
        }
        ensure_iceberg_table(
            self.spark,
            self.settings.lake.database,
            AUDIT_TABLE,
            AUDIT_COLUMNS,
            self.settings.lake.table_uri(AUDIT_TABLE),
            self.say,
        )
        subject = hashlib.sha256(user_id.encode()).hexdigest()
        erased_at = datetime.now(UTC).replace(tzinfo=None)
        audit = [(erased_at, subject, table, rows) for table, rows in deleted.items()]
        self.spark.createDataFrame(audit, AUDIT_COLUMNS).writeTo(self._name(AUDIT_TABLE)).append()
        return deleted


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user_id", help="the user whose rows are erased")
    args = parser.parse_args(argv)
    spark = SparkSession.builder.appName("questlog-forget").getOrCreate()
    deleted = Eraser(spark, get_spark_settings()).forget(args.user_id)
    spark.stop()
    tables = ", ".join(f"{table} {rows}" for table, rows in deleted.items() if rows) or "none"
    print(f"erased {sum(deleted.values())} rows of the user (by table: {tables})")
    print(f"recorded in {AUDIT_TABLE}")


if __name__ == "__main__":
    main()
