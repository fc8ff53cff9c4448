"""questlog's ingest API: validates events against the catalog and publishes them to Kafka."""
