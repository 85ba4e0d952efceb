#!/usr/bin/env bash
# Reproduces the LLaMA 2 benchmark table of the SimpLang report with this toolchain: installs
# the tools when they are missing, compiles kernels/llama2.sl with simpc, runs the benchmark
# (go run ./bench) and writes results/table.md, results/results.json and
# results/throughput.png, then prints the table.
#
#	scripts/reproduce.sh                        the report's models, 1 thread and all cores
#	scripts/reproduce.sh --backend llvm         through the LLVM IR backend
#	scripts/reproduce.sh -models 125M -threads 2   any other bench flags
#
# The results folder is $RESULTS (default: results/ in the repository).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

backend=auto
bench_args=()
while (($#)); do
	case $1 in
	--backend | -backend)
		backend=${2:?--backend needs mlir, llvm or auto}
		shift 2
		;;
	--backend=* | -backend=*)
		backend=${1#*=}
		shift
		;;
	*)
		bench_args+=("$1")
		shift
		;;
	esac
done
results=${RESULTS:-results}

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
	export PATH=$PATH:/usr/local/go/bin
fi
if ! command -v go >/dev/null; then
	echo "reproduce: go not found; install Go (see go.mod for the version)" >&2
	exit 1
fi

echo "reproduce: scripts/install-toolchain.sh"
if ! scripts/install-toolchain.sh; then
	echo "reproduce: the toolchain could not be installed; continuing with the tools this machine has" >&2
fi

mkdir -p "$results"
echo "reproduce: building simpc"
go build -o "$results/simpc" ./cmd/simpc
echo "reproduce: $results/simpc kernels/llama2.sl --backend $backend -o $results/llama2.so"
"$results/simpc" kernels/llama2.sl --backend "$backend" -o "$results/llama2.so"
"$results/simpc" kernels/llama2.sl --emit-mlir -o "$results/llama2.mlir"
"$results/simpc" kernels/llama2.sl --emit-llvm -o "$results/llama2.ll"
echo "reproduce: the code each backend generates is in $results/llama2.mlir and $results/llama2.ll"

echo "reproduce: go run ./bench -backend $backend -out $results ${bench_args[*]}"
go run ./bench -backend "$backend" -out "$results" "${bench_args[@]}" >/dev/null
echo
cat "$results/table.md"
