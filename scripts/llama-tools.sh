#!/usr/bin/env bash
# Build llama.cpp's own `llama-server` and `llama-bench` for crit's tests and
# benchmarks, and cache them outside the clone:
#   ${CRIT_CACHE:-~/.cache/crit}/tools/llama.cpp-<version>/bin/{llama-server,llama-bench}
#
# llama-cpp-sys-2 strips llama.cpp's tools/, but the llama-cpp-python source
# distribution on PyPI carries the whole tree (vendor/llama.cpp), so the
# source comes through pip, pinned by version and SHA-256.
#
# A second run with the cache present only prints the paths. The build runs
# in a temporary directory and is renamed into place at the end, so an
# interrupted run leaves nothing half-built behind; a lock keeps two runs
# from building at once.
#
# Usage: scripts/llama-tools.sh [--print-dir]
#   prints "llama-server <path>" and "llama-bench <path>" (or only the
#   directory holding them with --print-dir).
set -euo pipefail

VERSION="0.3.36"
SDIST="llama_cpp_python-${VERSION}.tar.gz"
SDIST_SHA256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
TARGETS=(llama-server llama-bench)

cache="${CRIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crit}"
tools="$cache/tools"
dest="$tools/llama.cpp-$VERSION"

report() {
  if [ "${1:-}" = "--print-dir" ]; then
    echo "$dest/bin"
  else
    for t in "${TARGETS[@]}"; do echo "$t $dest/bin/$t"; done
  fi
}

complete() {
  for t in "${TARGETS[@]}"; do [ -x "$dest/bin/$t" ] || return 1; done
}

if complete; then
  report "$@"
  exit 0
fi

for tool in cmake python3 flock; do
  command -v "$tool" >/dev/null 2>&1 || { echo "llama-tools: $tool is missing (make deps installs it)" >&2; exit 1; }
done

mkdir -p "$tools"
exec 9>"$tools/.lock-$VERSION"
flock 9
if complete; then # another run finished while we waited
  report "$@"
  exit 0
fi

work="$(mktemp -d "$tools/.build-$VERSION-XXXXXX")"
trap 'rm -rf "$work"' EXIT
started=$SECONDS

echo "llama-tools: fetching llama-cpp-python $VERSION (source) from PyPI" >&2
# --no-binary names only this package: with ':all:' pip would also build the
# build backend's own requirements (cmake, ninja) from source just to read
# metadata, which takes many minutes.
python3 -m pip download --quiet --no-deps --no-binary llama-cpp-python \
  "llama-cpp-python==$VERSION" -d "$work/dl" >&2
echo "$SDIST_SHA256  $work/dl/$SDIST" | sha256sum --check --quiet - >&2 || {
  echo "llama-tools: $SDIST does not match the pinned SHA-256; not building it" >&2
  exit 1
}
tar -xzf "$work/dl/$SDIST" -C "$work" "llama_cpp_python-$VERSION/vendor/llama.cpp"
src="$work/llama_cpp_python-$VERSION/vendor/llama.cpp"

jobs="$(nproc 2>/dev/null || echo 2)"
echo "llama-tools: building ${TARGETS[*]} with $jobs jobs (several minutes the first time)" >&2
# Static libraries so the binaries still run after the rename; OpenMP off
# as in crit's own engine build (ggml's thread pool is faster here); no web
# UI, no downloads, no TLS (the tests talk to loopback).
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF -DGGML_OPENMP=OFF \
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
  >"$work/cmake.log" 2>&1 || { tail -n 30 "$work/cmake.log" >&2; exit 1; }
cmake --build "$work/build" --config Release -j "$jobs" --target "${TARGETS[@]}" \
  >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; exit 1; }

mkdir -p "$work/out/bin"
for t in "${TARGETS[@]}"; do cp "$work/build/bin/$t" "$work/out/bin/$t"; done
cp "$src/LICENSE" "$work/out/LICENSE"
echo "llama-cpp-python $VERSION ($SDIST_SHA256), vendor/llama.cpp" >"$work/out/SOURCE"
rm -rf "$dest" # never complete here (checked above under the lock)
mv "$work/out" "$dest"
echo "llama-tools: built in $((SECONDS - started)) s" >&2
report "$@"
