#!/usr/bin/env bash
# Installs the external tools SimpLang builds with, from Debian packages: MLIR 19
# (mlir-opt, mlir-translate), clang 19, LLVM 19's opt and llc (the route without clang,
# which the tests exercise), LLVM's OpenMP runtime, and OpenBLAS (libopenblas0-pthread), which
# cmd/gemm compares its matrix products with (it runs without, saying so).
#
# Safe to run again: when the tools are present it does nothing. Installing needs root,
# or sudo.
set -euo pipefail

packages=(mlir-19-tools clang-19 libomp-19-dev llvm-19 libopenblas0-pthread)
prefix=/usr/lib/llvm-19
needed=("$prefix/bin/mlir-opt" "$prefix/bin/mlir-translate" "$prefix/bin/clang"
	"$prefix/bin/opt" "$prefix/bin/llc" "$prefix/lib/libomp.so")

missing() {
	local f
	for f in "${needed[@]}"; do
		[[ -e $f ]] || echo "$f"
	done
	compgen -G '/usr/lib/*/libopenblas.so.0' >/dev/null || echo libopenblas.so.0
}

if [[ -z $(missing) ]]; then
	echo "install-toolchain: MLIR 19, clang 19, opt/llc 19 and libomp are already in $prefix, and OpenBLAS is installed; nothing to do"
	exit 0
fi

echo "install-toolchain: missing:" $(missing)
if ! command -v apt-get >/dev/null; then
	echo "install-toolchain: apt-get not found; install MLIR 19, clang 19 and libomp yourself" \
		"and point SIMPLANG_MLIR_BIN and SIMPLANG_CLANG at them" >&2
	exit 1
fi
if [[ $(id -u) -eq 0 ]]; then
	as_root=()
elif command -v sudo >/dev/null; then
	as_root=(sudo)
else
	echo "install-toolchain: installing ${packages[*]} needs root: run this script as root, or install sudo" >&2
	exit 1
fi

apt_get() {
	echo "install-toolchain: apt-get $*"
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}
install_packages() {
	apt_get install -y --no-install-recommends "${packages[@]}"
}

# A fresh machine has no package lists; otherwise update only when installing fails.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
	apt_get update
	install_packages
elif ! install_packages; then
	apt_get update
	install_packages
fi

if [[ -n $(missing) ]]; then
	echo "install-toolchain: still missing after installing ${packages[*]}:" $(missing) >&2
	exit 1
fi
echo "install-toolchain: installed ${packages[*]}"
