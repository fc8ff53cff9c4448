#!/bin/sh
# Builds a Go command from its module, fetched at one version from the Go module proxy:
#   go-build.sh MODULE VERSION PACKAGE OUTPUT [LDFLAGS]
# (`go install module@version` also asks the proxy for every version of the module, which
# the proxy does not answer for all modules, and refuses modules whose go.mod replaces
# others.) The Makefile builds its tools with it, and the images their Go stages.
set -eu
module=$1 version=$2 package=$3 output=$4 ldflags=${5:-}
echo "Building $(basename "$output") $version from the Go module proxy ($module) ..."
dir=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
test -n "$dir"
mkdir -p "$(dirname "$output")"
cd "$dir"
CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags "$ldflags" -o "$output" "./$package"
