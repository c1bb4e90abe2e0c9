#!/usr/bin/env bash
# The README's commands. On a fresh Debian 12 machine this installs what is missing (apt;
# sudo when not root), builds netkit and then
#   tools/run.sh main    trains the example CNN (data/models/fashion_cnn.json) on Fashion-MNIST
#                        and prints its test accuracy (EPOCHS=N to change the default of 2)
#   tools/run.sh large   trains the larger CNN (data/models/fashion_cnn_large.json) with its recipe
#                        (18 epochs, cosine learning rate, L2; docs/models.md), about 12 minutes
#   tools/run.sh test    runs every test
# Set NETKIT_BUILD_DIR to build elsewhere (default: build/).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake make g++ libopenblas-dev nlohmann-json3-dev catch2 zlib1g-dev)
# More packages to install the same way (CI adds the fuzzer's clang), separated by spaces.
read -r -a extra_packages <<< "${NETKIT_EXTRA_PACKAGES:-}"
packages+=("${extra_packages[@]}")

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "netkit: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
}

build() {
  local dir=${NETKIT_BUILD_DIR:-build}
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$dir" -j"$(nproc)" "$@"
}

# train_model NAME [netkit train options]: data/models/NAME.json on Fashion-MNIST, saved as
# BUILD_DIR/NAME_trained.json.
train_model() {
  local name=$1 dir=${NETKIT_BUILD_DIR:-build}
  shift
  packages+=(dataset-fashion-mnist)
  install_missing
  build --target netkit_tool
  "$dir/tools/netkit" train "data/models/$name.json" "$@" --out "$dir/${name}_trained.json"
}

case "${1:-}" in
  main)
    train_model fashion_cnn --epochs "${EPOCHS:-2}"
    ;;
  large)
    train_model fashion_cnn_large --epochs "${EPOCHS:-18}" --lr 0.05 --momentum 0.9 --l2 0.0005 --schedule cosine --seed 1
    ;;
  test)
    install_missing
    build
    ctest --test-dir "${NETKIT_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)"
    ;;
  *)
    echo "usage: tools/run.sh main | large | test" >&2
    exit 2
    ;;
esac
