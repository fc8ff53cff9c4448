#!/usr/bin/env bash
# questlog on Kubernetes: `make deploy`, `make helm-test`, `make port-forward`, `make undeploy`.
#   deploy        create the kind cluster if absent, load the images (`make images` builds
#                 them), install the platform charts (helm/platform) and questlog, wait
#                 until all is ready
#   helm-test     run the charts' test hooks (an event posted to the API, found in Trino)
#   loadtest      a headless Locust Job against the API (LOAD_SHAPE, LOAD_USERS, LOAD_SECONDS)
#   port-forward  the API on :8000, Trino on :8080, Prometheus on :9090, Grafana on :3000
#   undeploy      delete the kind cluster
# HELM and KIND are the pinned builds the Makefile passes; docker and kubectl must be
# installed. KIND_CLUSTER (default questlog) and NAMESPACE (default questlog) can be set.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM=${HELM:-helm}
KIND=${KIND:-kind}
CLUSTER=${KIND_CLUSTER:-questlog}
NAMESPACE=${NAMESPACE:-questlog}
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
API_IMAGE=questlog/ingest-api:$VERSION
SPARK_IMAGE=questlog/spark:$VERSION
LOADTEST_IMAGE=questlog/loadtest:$VERSION
# shellcheck source=helm/platform/versions.env
source helm/platform/versions.env

say() { printf '\n==> %s\n' "$*"; }

require() {
  for command in "$@"; do
    if ! command -v "$command" > /dev/null; then
      echo "$command is needed and was not found; see helm/README.md (Requirements)." >&2
      exit 1
    fi
  done
}

deploy() {
  require docker kubectl "$HELM" "$KIND"
  if ! docker info > /dev/null 2>&1; then
    echo "docker is installed but no Docker engine answers; start Docker first." >&2
    exit 1
  fi
  if "$KIND" get clusters | grep -qx "$CLUSTER"; then
    say "kind cluster $CLUSTER exists"
  else
    say "Creating the kind cluster $CLUSTER (k8s/kind-config.yaml)"
    "$KIND" create cluster --name "$CLUSTER" --config k8s/kind-config.yaml --wait 5m
  fi
  kubectl config use-context "kind-$CLUSTER" > /dev/null
  kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f - > /dev/null

  say "Loading the images $API_IMAGE and $SPARK_IMAGE into kind"
  "$KIND" load docker-image --name "$CLUSTER" "$API_IMAGE" "$SPARK_IMAGE"

  say "Installing the platform: Strimzi $STRIMZI_VERSION, spark-operator $SPARK_OPERATOR_VERSION, kube-prometheus-stack $PROMETHEUS_VERSION"
  "$HELM" upgrade --install strimzi "$STRIMZI_CHART" --version "$STRIMZI_VERSION" \
    --namespace "$NAMESPACE" --values helm/platform/strimzi.yaml --wait --timeout 10m
  "$HELM" upgrade --install spark-operator spark-operator --repo "$SPARK_OPERATOR_REPO" \
    --version "$SPARK_OPERATOR_VERSION" --namespace "$NAMESPACE" \
    --values helm/platform/spark-operator.yaml --wait --timeout 10m
  "$HELM" upgrade --install kube-prometheus-stack kube-prometheus-stack --repo "$PROMETHEUS_REPO" \
    --version "$PROMETHEUS_VERSION" --namespace "$NAMESPACE" \
    --values helm/platform/kube-prometheus-stack.yaml --wait --timeout 15m

  say "Installing questlog (helm/questlog with helm/questlog/ci/kind-values.yaml)"
  for chart in questlog-api questlog-metastore questlog-stream questlog; do
    "$HELM" dependency build "helm/$chart" > /dev/null
  done
  "$HELM" upgrade --install questlog helm/questlog --namespace "$NAMESPACE" \
    --values helm/questlog/ci/kind-values.yaml --wait --timeout 20m

  say "Installing Trino $TRINO_VERSION (its hive catalog reads the lake questlog created)"
  "$HELM" upgrade --install trino trino --repo "$TRINO_REPO" --version "$TRINO_VERSION" \
    --namespace "$NAMESPACE" --values helm/platform/trino.yaml --wait --timeout 10m

  say "Waiting for the streaming app's driver"
  kubectl --namespace "$NAMESPACE" wait pod -l questlog.dev/role=driver \
    --for=condition=Ready --timeout=10m
  say "questlog is deployed. Next: make helm-test, then make port-forward (README: Kubernetes)"
}

helm_test() {
  require kubectl "$HELM"
  # The umbrella release runs every chart's hooks, its subcharts' included.
  "$HELM" test questlog --namespace "$NAMESPACE" --logs --timeout 15m
}

loadtest() {
  require docker kubectl "$HELM" "$KIND"
  local run job
  run=$(date -u +%Y%m%d-%H%M%S)
  job=questlog-loadtest-$run
  say "Loading $LOADTEST_IMAGE into kind"
  "$KIND" load docker-image --name "$CLUSTER" "$LOADTEST_IMAGE"
  say "Running $job: shape ${LOAD_SHAPE:-ramp}, ${LOAD_USERS:-50} users, ${LOAD_SECONDS:-120} s"
  "$HELM" template questlog helm/questlog --namespace "$NAMESPACE" \
    --values helm/questlog/ci/kind-values.yaml --show-only templates/loadtest-job.yaml \
    --set loadtest.enabled=true --set-string "loadtest.run=$run" \
    --set "loadtest.shape=${LOAD_SHAPE:-ramp}" --set "loadtest.users=${LOAD_USERS:-50}" \
    --set "loadtest.seconds=${LOAD_SECONDS:-120}" | kubectl --namespace "$NAMESPACE" create -f -
  kubectl --namespace "$NAMESPACE" wait "job/$job" --for=condition=complete --timeout=30m &
  local complete=$!
  kubectl --namespace "$NAMESPACE" wait "job/$job" --for=condition=failed --timeout=30m &
  local failed=$!
  wait -n "$complete" "$failed" || true
  kill "$complete" "$failed" 2> /dev/null || true
  kubectl --namespace "$NAMESPACE" logs "job/$job" --tail=60
  if ! kubectl --namespace "$NAMESPACE" get "job/$job" -o jsonpath='{.status.succeeded}' | grep -q 1; then
    echo "The load test failed its thresholds (see above)." >&2
    exit 1
  fi
}

port_forward() {
  require kubectl
  say "API http://127.0.0.1:8000  Trino http://127.0.0.1:8080  Prometheus http://127.0.0.1:9090  Grafana http://127.0.0.1:3000 (Ctrl-C stops)"
  kubectl --namespace "$NAMESPACE" port-forward svc/questlog-api 8000:8000 &
  kubectl --namespace "$NAMESPACE" port-forward svc/trino 8080:8080 &
  kubectl --namespace "$NAMESPACE" port-forward svc/kube-prometheus-stack-prometheus 9090:9090 &
  kubectl --namespace "$NAMESPACE" port-forward svc/kube-prometheus-stack-grafana 3000:80 &
  trap 'kill $(jobs -p) 2> /dev/null' EXIT INT TERM
  wait
}

undeploy() {
  require "$KIND"
  say "Deleting the kind cluster $CLUSTER (all its data)"
  "$KIND" delete cluster --name "$CLUSTER"
}

case "${1:-}" in
  deploy) deploy ;;
  helm-test) helm_test ;;
  loadtest) loadtest ;;
  port-forward) port_forward ;;
  undeploy) undeploy ;;
  *) echo "usage: $0 deploy|helm-test|loadtest|port-forward|undeploy" >&2; exit 2 ;;
esac
