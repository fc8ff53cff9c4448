"""The Spark apps' transforms (questlog_spark) on a local Spark: a JVM, and no stack."""
