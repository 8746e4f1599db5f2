#!/bin/bash
# Packs what scripts/cuda/check.sh needs on the GPU machine into DEST/payload.tar.xz (default /work/main/.dev):
# lmzip and test_cuda built here, the shared libraries the GPU machine lacks, the plugin's sources, the scripts,
# and the zoo models named in MODELS (default: zoo-s1 zoo-s2 zoo-m2-BF16 zoo-m2-Q8_0) with the testA corpora.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DEST=${1:-/work/main/.dev}
SHARED=${SHARED:-$ROOT/../shared}
MODELS=${MODELS:-"zoo-s1 zoo-s2 zoo-m2-BF16 zoo-m2-Q8_0"}
S=$(mktemp -d)
mkdir -p "$S/bin" "$S/lib" "$S/src/cuda" "$S/src/lmzip/device" "$S/scripts/cuda" "$S/shared/zoo/models" "$S/shared/zoo/corpora"
cp "$BUILD/lmzip" "$BUILD/tests/test_cuda" "$S/bin/"
strip "$S/bin/"*
# Libraries the GPU machine's image does not have (it has openblas, ICU 74, zstd, sqlite3, xxhash, lzma, z).
for lib in $(ldd "$BUILD/lmzip" "$BUILD/tests/test_cuda" | awk '/=>/ {print $3}' | sort -u); do
  case "$(basename "$lib")" in
    libarchive*|libgumbo*|libcld2*|libutf8proc*|libicu*|libnettle*|libacl*|liblz4*|libxml2*|libbz2*|libgtest*) cp -L "$lib" "$S/lib/";;
  esac
done
cp "$ROOT/src/cuda/lmzip_cuda.cu" "$ROOT/src/cuda/CMakeLists.txt" "$S/src/cuda/"
cp "$ROOT/src/lmzip/device/cuda_abi.h" "$S/src/lmzip/device/"
cp "$ROOT/scripts/cuda/"*.py "$ROOT/scripts/cuda/check.sh" "$S/scripts/cuda/"
for m in $MODELS; do cp "$SHARED/zoo/models/$m.gguf" "$S/shared/zoo/models/"; done
cp "$SHARED/zoo/models/zoo-spm.model" "$S/shared/zoo/models/"
cp "$SHARED/zoo/corpora/"*.testA.jsonl "$S/shared/zoo/corpora/"
mkdir -p "$DEST"
tar -C "$S" -cf - . | xz -6 -T2 > "$DEST/payload.tar.xz"
cp "$ROOT/scripts/cuda/check.sh" "$DEST/check.sh"
rm -rf "$S"
ls -la "$DEST"
