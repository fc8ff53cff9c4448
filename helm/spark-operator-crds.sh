#!/bin/sh
# Generates the spark-operator's CRDs (SparkApplication, ScheduledSparkApplication,
# SparkConnect) from its Go API types with controller-gen into helm/questlog/crds/, which
# Helm installs before the umbrella's templates. The operator's controller watches all
# three kinds, so it needs all three even though questlog creates only the first two.
#   spark-operator-crds.sh [TOOLS_DIR]   (default: .cache/tools/go)
set -eu
operator=github.com/kubeflow/spark-operator/v2 operator_version=v2.5.2
tools_version=v0.23.0
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${1:-$root/.cache/tools/go}
controller_gen=$tools/controller-gen-$tools_version/controller-gen
if [ ! -x "$controller_gen" ]; then
  "$root/images/go-build.sh" sigs.k8s.io/controller-tools "$tools_version" cmd/controller-gen \
    "$controller_gen" "-X sigs.k8s.io/controller-tools/pkg/version.version=$tools_version"
fi
dir=$(go mod download -json "$operator@$operator_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
test -n "$dir"
out=$root/helm/questlog/crds
rm -f "$out"/*.yaml
# The options of the operator's own `make manifests`, CRDs only.
(cd "$dir" && GOFLAGS=-mod=readonly "$controller_gen" crd:generateEmbeddedObjectMeta=true \
  paths=./api/... output:crd:dir="$out")
echo "Wrote $(ls "$out")"
