#!/bin/sh
# Builds Kubernetes' node and control-plane commands from the Go module proxy:
#   build-kubernetes.sh VERSION OUTPUT_DIR
# The proxy's k8s.io/kubernetes module has no staging/ folder (nested modules are left out of
# module zips), so each `./staging/src/k8s.io/X` replace is pointed at k8s.io/X's own
# release (v0.MINOR.PATCH), all of which the proxy serves. The pause program every pod
# sandbox runs is the module's own pause.c, linked statically.
set -eu
version=$1 output=$2
staging_version=v0.${version#v1.}
commands="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
echo "Building Kubernetes $version ($commands) from the Go module proxy; about 7 minutes cold ..."
dir=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
test -n "$dir"
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -r "$dir/." "$work"
chmod -R u+w "$work"
cd "$work"
rm -f go.work go.work.sum
for module in $(sed -n 's|^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*|\1|p' go.mod); do
  go mod edit -replace "$module=$module@$staging_version"
done
major=${version#v}; major=${major%%.*}
minor=${version#v*.}; minor=${minor%%.*}
ldflags=""
for package in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ldflags="$ldflags -X $package.gitVersion=$version -X $package.gitMajor=$major"
  ldflags="$ldflags -X $package.gitMinor=$minor -X $package.gitTreeState=clean"
  ldflags="$ldflags -X $package.gitCommit=module-proxy -X $package.buildDate=1970-01-01T00:00:00Z"
done
mkdir -p "$output.partial"
targets=""
for command in $commands; do targets="$targets ./cmd/$command"; done
# shellcheck disable=SC2086 # word splitting of the command list is meant
CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod go build -trimpath -tags=selinux,notest,grpcnotrace \
  -ldflags "-s -w $ldflags" -o "$output.partial/" $targets
gcc -static -O2 -DVERSION="$version" -o "$output.partial/pause" build/pause/linux/pause.c
rm -rf "$output"
mv "$output.partial" "$output"
echo "Kubernetes $version is in $output"
