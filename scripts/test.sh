#!/usr/bin/env bash
# Runs the test suite from any directory: installs the toolchain when it is missing, then
# go vet and go test over every package. Extra arguments go to go test, e.g.
#
#	scripts/test.sh -run TestBuild -count=1
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "test: in $(pwd)"

echo "test: scripts/install-toolchain.sh"
scripts/install-toolchain.sh

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
	export PATH=$PATH:/usr/local/go/bin
fi
if ! command -v go >/dev/null; then
	echo "test: go not found on PATH or in /usr/local/go/bin; install Go (see go.mod for the version)" >&2
	exit 1
fi
echo "test: $(go version)"

echo "test: go vet ./..."
go vet ./...
echo "test: go test $* ./..."
go test "$@" ./...
