#!/bin/bash
# The Spark image's entrypoint. Spark on Kubernetes starts its pods with a role as the first
# argument and the rest in environment variables (the contract of Spark's Kubernetes
# scheduler): `driver` submits the app in client mode inside the driver pod, `executor`
# starts an executor that connects back to it. Any other command runs as given (the
# metastore, the stream in local mode, spark-submit of a job). tini reaps what Spark forks.
set -euo pipefail

case "${1:-}" in
  driver)
    shift
    exec /usr/bin/tini -s -- "$SPARK_HOME/bin/spark-submit" \
      --conf "spark.driver.bindAddress=$SPARK_DRIVER_BIND_ADDRESS" \
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$SPARK_DRIVER_BIND_ADDRESS" \
      --deploy-mode client "$@"
    ;;
  executor)
    shift
    java_options=()
    for name in "${!SPARK_JAVA_OPT_@}"; do
      java_options+=("${!name}")
    done
    exec /usr/bin/tini -s -- java "${java_options[@]}" \
      -Xms"$SPARK_EXECUTOR_MEMORY" -Xmx"$SPARK_EXECUTOR_MEMORY" \
      -cp "$SPARK_HOME/conf:$SPARK_HOME/jars/*:$PWD" \
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
      --driver-url "$SPARK_DRIVER_URL" --executor-id "$SPARK_EXECUTOR_ID" \
      --cores "$SPARK_EXECUTOR_CORES" --app-id "$SPARK_APPLICATION_ID" \
      --hostname "$SPARK_EXECUTOR_POD_IP" --resourceProfileId "$SPARK_RESOURCE_PROFILE_ID" \
      --podName "$SPARK_EXECUTOR_POD_NAME"
    ;;
  *)
    exec /usr/bin/tini -s -- "$@"
    ;;
esac
