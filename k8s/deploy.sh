#!/usr/bin/env bash
# questlog on Kubernetes: the steps behind `make k8s-up`, `make deploy`, `make helm-test`,
# `make loadtest`, `make port-forward`, `make undeploy` and `make k8s-down`.
#   install       install (or upgrade) questlog into the cluster kubectl reaches, laptop
#                 profile (helm/questlog's defaults) plus VALUES files if given; wait
#                 until every pod is ready and the streaming app's driver runs
#   uninstall     uninstall questlog (its claims are kept: helm.sh/resource-policy)
#   helm-test     run the charts' test hooks (events posted to the API, found in Trino)
#   loadtest      a headless Locust Job against the API (LOAD_SHAPE, LOAD_USERS, LOAD_SECONDS)
#   forget USER   erase a user from every table (questlog forget's job, a SparkApplication)
#   port-forward  the API on :8000, Trino on :8080, Prometheus on :9090
#   platform      the production profile's platform, from remote charts: Strimzi, the
#                 spark-operator, Trino, kube-prometheus-stack (then install with
#                 VALUES=helm/questlog/ci/production-values.yaml)
#   deploy        create a kind cluster if absent, load the images into it, install
#   undeploy      delete the kind cluster
# HELM, KIND and KUBECTL are the pinned builds the Makefile passes, PYTHON its .venv's. NAMESPACE (default
# questlog), KIND_CLUSTER (default questlog) and VALUES (extra values files, space
# separated, e.g. helm/questlog/ci/production-values.yaml) can be set.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM=${HELM:-helm}
KIND=${KIND:-kind}
KUBECTL=${KUBECTL:-kubectl}
# A Python with questlog installed (the Makefile's .venv): reads the load test's summary.
PYTHON=${PYTHON:-python3}
CLUSTER=${KIND_CLUSTER:-questlog}
NAMESPACE=${NAMESPACE:-questlog}
# The streaming app's driver pod (the operator labels it with its SparkApplication's name).
STREAM_DRIVER=sparkoperator.k8s.io/app-name=questlog-stream,spark-role=driver
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
# shellcheck source=helm/platform/versions.env
source helm/platform/versions.env

say() { printf '\n==> %s\n' "$*"; }
kubectl() { "$KUBECTL" --namespace "$NAMESPACE" "$@"; }
# The names of the pods matching selector $1, read whole: piped into `grep -q`, kubectl could
# die of SIGPIPE once grep had its line, and under pipefail a wait loop would end early.
pods() { kubectl get pod -l "$1" -o name; }

require() {
  for command in "$@"; do
    if ! command -v "$command" > /dev/null; then
      echo "$command is needed and was not found; see helm/README.md (Requirements)." >&2
      exit 1
    fi
  done
}

values_args() {
  local file
  for file in ${VALUES:-}; do printf -- '--values\n%s\n' "$file"; done
}

install() {
  require "$KUBECTL" "$HELM"
  local values
  mapfile -t values < <(values_args)
  for chart in questlog-api questlog-metastore questlog-stream questlog; do
    "$HELM" dependency build "helm/$chart" > /dev/null
  done
  say "Installing questlog $VERSION into namespace $NAMESPACE (helm/questlog${VALUES:+, $VALUES})"
  # --reset-values: an upgrade takes the chart's values and these, not the last release's.
  "$HELM" upgrade --install questlog helm/questlog --namespace "$NAMESPACE" --create-namespace \
    --reset-values "${values[@]}" --wait --timeout 15m
  say "Waiting for the streaming app's driver"
  local deadline=$((SECONDS + 600))
  until [[ -n $(pods "$STREAM_DRIVER" 2> /dev/null) ]]; do
    if ((SECONDS > deadline)); then
      echo "The streaming app's driver pod did not appear; kubectl describe sparkapplication:" >&2
      kubectl describe sparkapplication >&2
      exit 1
    fi
    sleep 2
  done
  kubectl wait pod -l "$STREAM_DRIVER" --for=condition=Ready --timeout=10m
  say "questlog is installed. Next: make helm-test, then make port-forward (docs/kubernetes.md)"
}

platform() {
  require "$HELM"
  say "Installing the platform: Strimzi $STRIMZI_VERSION, spark-operator $SPARK_OPERATOR_VERSION, kube-prometheus-stack $PROMETHEUS_VERSION, Trino $TRINO_VERSION"
  "$HELM" upgrade --install strimzi "$STRIMZI_CHART" --version "$STRIMZI_VERSION" \
    --namespace "$NAMESPACE" --create-namespace --values helm/platform/strimzi.yaml --wait --timeout 10m
  "$HELM" upgrade --install spark-operator spark-operator --repo "$SPARK_OPERATOR_REPO" \
    --version "$SPARK_OPERATOR_VERSION" --namespace "$NAMESPACE" \
    --values helm/platform/spark-operator.yaml --wait --timeout 10m
  "$HELM" upgrade --install kube-prometheus-stack kube-prometheus-stack --repo "$PROMETHEUS_REPO" \
    --version "$PROMETHEUS_VERSION" --namespace "$NAMESPACE" \
    --values helm/platform/kube-prometheus-stack.yaml --wait --timeout 15m
  "$HELM" upgrade --install trino trino --repo "$TRINO_REPO" --version "$TRINO_VERSION" \
    --namespace "$NAMESPACE" --values helm/platform/trino.yaml --wait --timeout 10m
}

uninstall() {
  require "$KUBECTL" "$HELM"
  say "Uninstalling questlog from namespace $NAMESPACE (its claims are kept)"
  "$HELM" uninstall questlog --namespace "$NAMESPACE" --wait --timeout 5m --ignore-not-found
  # Helm leaves the hooks' pods and jobs (helm test's, the table job), and the stream's
  # driver and executors go after their SparkApplication: wait until no pod is left.
  kubectl delete pod,job -l app.kubernetes.io/instance=questlog --ignore-not-found --wait=false > /dev/null
  local deadline=$((SECONDS + 300))
  local left
  while true; do
    left=$(pods app.kubernetes.io/instance=questlog) # set -e: kubectl failing fails the uninstall
    [[ -n $left ]] || break
    if ((SECONDS > deadline)); then
      echo "Pods of questlog are still there after 5 minutes:" >&2
      kubectl get pod -l app.kubernetes.io/instance=questlog >&2
      exit 1
    fi
    sleep 2
  done
}

helm_test() {
  require "$HELM"
  # The umbrella release runs every chart's hooks, its subcharts' included.
  "$HELM" test questlog --namespace "$NAMESPACE" --logs --timeout 15m
}

loadtest() {
  require "$KUBECTL" "$HELM" "$PYTHON"
  local run job values
  mapfile -t values < <(values_args)
  run=$(date -u +%Y%m%d-%H%M%S)
  job=questlog-loadtest-$run
  say "Running $job: shape ${LOAD_SHAPE:-ramp}, ${LOAD_USERS:-50} users, ${LOAD_SECONDS:-120} s"
  # --validate: rendered for (and checked against) the cluster, its Kubernetes version included.
  "$HELM" template questlog helm/questlog --namespace "$NAMESPACE" "${values[@]}" --validate \
    --show-only templates/loadtest-job.yaml \
    --set loadtest.enabled=true --set-string "loadtest.run=$run" \
    --set "loadtest.shape=${LOAD_SHAPE:-ramp}" --set "loadtest.users=${LOAD_USERS:-50}" \
    --set "loadtest.seconds=${LOAD_SECONDS:-120}" | kubectl create -f -
  # kubectl itself in the background, not the function: kill must reach it.
  "$KUBECTL" --namespace "$NAMESPACE" wait "job/$job" --for=condition=complete --timeout=30m &
  local complete=$!
  "$KUBECTL" --namespace "$NAMESPACE" wait "job/$job" --for=condition=failed --timeout=30m &
  local failed=$!
  wait -n "$complete" "$failed" || true
  kill "$complete" "$failed" 2> /dev/null || true
  local log
  log=$(kubectl logs "job/$job")
  tail -n 40 <<< "$log"
  if [[ $(kubectl get "job/$job" -o jsonpath='{.status.succeeded}') != 1 ]]; then
    echo "The load test failed its thresholds (see above)." >&2
    exit 1
  fi
  local accepted
  accepted=$(grep '^{"run": ' <<< "$log" | tail -n 1 | "$PYTHON" -c \
    'import json, sys; print(sum(json.load(sys.stdin)["accepted"].values()))') || {
    echo "The load test's log has no summary of the events accepted." >&2
    exit 1
  }
  reconcile "questlog-load/$run" "$accepted"
}

# Waits until Trino returns as many events sent with a User-Agent starting with $1 as the
# API accepted ($2), asking the release's Trino in its pod with the runner's client.
reconcile() {
  local agent=$1 accepted=$2 sql landed deadline=$((SECONDS + 600))
  sql=$("$PYTHON" -c 'import sys; from questlog.traffic import landed_sql
print(landed_sql(sys.argv[1], prefix=True))' "$agent")
  say "The API accepted $accepted events; reconciling in Trino ..."
  while true; do
    landed=$(kubectl exec deploy/trino -- python -c 'import sys
from questlog.stack.probes import trino_query
print(trino_query("127.0.0.1", 8080, sys.argv[1])[0][0])' "$sql")
    if [ "$landed" = "$accepted" ]; then
      echo "Reconciled: all $accepted accepted events are in Trino."
      return
    fi
    if ((landed > accepted)); then
      echo "Trino has $landed events of the run, more than the $accepted the API accepted." >&2
      exit 1
    fi
    if ((SECONDS > deadline)); then
      echo "Only $landed of $accepted accepted events are in Trino after 10 minutes." >&2
      exit 1
    fi
    echo "  $landed/$accepted in Trino ..."
    sleep 10
  done
}

# questlog forget on the cluster: the stream chart's one-off SparkApplication (its
# templates/forget.yaml) for user $1, rendered with the release's chart and VALUES; waits
# for it to end, prints what it erased, and removes it.
forget() {
  require "$KUBECTL" "$HELM" "$PYTHON"
  local user=${1:-} run app values state log deadline=$((SECONDS + 1800))
  if [[ -z $user ]]; then
    echo "usage: k8s/deploy.sh forget USER_ID (make k8s-forget USER_ID=...)" >&2
    exit 2
  fi
  mapfile -t values < <(values_args)
  run=$(date -u +%Y%m%d-%H%M%S)
  app=questlog-stream-forget-$run
  say "Erasing a user from every table: SparkApplication $app"
  # The user's id as JSON (valid YAML) values, so any character is taken as it is.
  "$HELM" template questlog helm/questlog --namespace "$NAMESPACE" "${values[@]}" --validate \
    --show-only charts/stream/templates/forget.yaml \
    --values <("$PYTHON" -c 'import json, sys
print(json.dumps({"stream": {"forget": {"userId": sys.argv[1], "run": sys.argv[2]}}}))' \
      "$user" "$run") | kubectl create -f -
  while true; do
    state=$(kubectl get sparkapplication "$app" -o jsonpath='{.status.applicationState.state}')
    case $state in COMPLETED | FAILED | SUBMISSION_FAILED) break ;; esac
    if ((SECONDS > deadline)); then
      echo "The erasure $app has not ended after 30 minutes (state: ${state:-none})." >&2
      exit 1
    fi
    sleep 5
  done
  log=$(kubectl logs "$app-driver" 2>&1 || true)
  kubectl delete sparkapplication "$app" --wait=false > /dev/null
  if [[ $state != COMPLETED ]]; then
    tail -n 40 <<< "$log"
    echo "The erasure $app ended $state (its driver's log above)." >&2
    exit 1
  fi
  grep -E '^(erased|recorded) ' <<< "$log"
}

port_forward() {
  require "$KUBECTL"
  say "API http://127.0.0.1:8000  Trino http://127.0.0.1:8080  Prometheus http://127.0.0.1:9090 (Ctrl-C stops)"
  kubectl port-forward svc/questlog-api 8000:8000 &
  kubectl port-forward svc/trino 8080:8080 &
  kubectl port-forward svc/questlog-prometheus 9090:9090 &
  trap 'kill $(jobs -p) 2> /dev/null' EXIT INT TERM
  wait
}

deploy() {
  require docker "$KUBECTL" "$HELM" "$KIND"
  if grep -qx "$CLUSTER" <<< "$("$KIND" get clusters)"; then
    say "kind cluster $CLUSTER exists"
  else
    say "Creating the kind cluster $CLUSTER (k8s/kind-config.yaml)"
    "$KIND" create cluster --name "$CLUSTER" --config k8s/kind-config.yaml --wait 5m
  fi
  "$KUBECTL" config use-context "kind-$CLUSTER" > /dev/null
  local images
  mapfile -t images < <(docker images --format '{{.Repository}}:{{.Tag}}' | grep "^questlog/.*:$VERSION$")
  say "Loading ${#images[@]} images into kind"
  "$KIND" load docker-image --name "$CLUSTER" "${images[@]}"
  install
}

undeploy() {
  require "$KIND"
  say "Deleting the kind cluster $CLUSTER (all its data)"
  "$KIND" delete cluster --name "$CLUSTER"
}

case "${1:-}" in
  install) install ;;
  uninstall) uninstall ;;
  platform) platform ;;
  helm-test) helm_test ;;
  loadtest) loadtest ;;
  forget) forget "${2:-}" ;;
  port-forward) port_forward ;;
  deploy) deploy ;;
  undeploy) undeploy ;;
  *) echo "usage: $0 install|uninstall|platform|helm-test|loadtest|forget USER_ID|port-forward|deploy|undeploy" >&2; exit 2 ;;
esac
