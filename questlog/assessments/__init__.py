"""The ed-tech course project's data: assessment attempts, one nested JSON object per attempt
at an exam. ``generate`` writes a realistic file of them; ``questlog publish FILE --topic
assessments`` publishes it to Kafka, checked against ``attempt.schema.json``; the Spark job
``spark-apps/questlog_spark/assessments.py`` builds the tables ``assessments`` and
``assessment_questions`` from the topic."""

from pathlib import Path

SCHEMA_FILE = Path(__file__).parent / "attempt.schema.json"
# An attempt's id: its Kafka key, and what a re-sent attempt repeats.
KEY_FIELD = "user_exam_id"
