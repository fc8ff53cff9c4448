"""questlog's Spark applications. Each module with a ``main()`` is a job run by
``spark-submit``; its configuration comes from its arguments and Spark conf, never from paths
written in code, so the same job runs on the local stack and as a SparkApplication."""
