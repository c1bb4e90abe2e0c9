#!/usr/bin/env bash
# Trains the example CNN for a few steps with two builds of netkit and fails unless both write the
# same model file, byte for byte: netkit promises the same bits whatever the build type,
# optimisation level or sanitizers (docs/design.md, Reproducibility). CI passes the Release build
# and the sanitized one.
#   tools/ci/build_identity.sh BUILD_DIR OTHER_BUILD_DIR
# Each directory must be configured with the tools on; `netkit` is built there if it is not yet.
# The run takes seconds: the 128 training images of data/samples/fashion-mnist, batches of 16,
# two epochs (16 steps), two threads, a fixed seed.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -ne 2 ]; then
  echo "usage: tools/ci/build_identity.sh BUILD_DIR OTHER_BUILD_DIR" >&2
  exit 2
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for dir in "$1" "$2"; do
  cmake --build "$dir" --target netkit_tool -j"$(nproc)" >/dev/null
done

train() {  # train BUILD_DIR OUT.json (a sanitizer's report fails it)
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$1/tools/netkit" train data/models/fashion_cnn.json --data data/samples/fashion-mnist --epochs 2 --batch 16 \
    --seed 7 --threads 2 --out "$2" >/dev/null
}
train "$1" "$out/first.json"
train "$2" "$out/second.json"

if ! cmp "$out/first.json" "$out/second.json"; then
  echo "build_identity: $1 and $2 trained different models from the same seed" >&2
  exit 1
fi
echo "build_identity: $1 and $2 trained byte-identical models"
