#!/usr/bin/env bash
# Builds, serves, tests and benchmarks SigLIP in the browser. Idempotent: installs what is
# missing (wasm target, the wasm-bindgen CLI matching Cargo.lock, test npm packages), never
# downloads from anywhere but the package registries.
#
#   ./build.sh            build the wasm and its bindings into www/pkg
#   ./build.sh serve      build, then serve www/ on http://127.0.0.1:8080/
#   ./build.sh test       all tests: native (cargo test), wasm in headless Chromium, page tests
#   ./build.sh test-native | test-wasm | test-web
#   ./build.sh pack       build, then `npm pack` the widget into target/
#   ./build.sh bench      browser benchmark on the full-size random checkpoint (see README)
#   ./build.sh demo-model build www/models/siglip-base-q8.safetensors from models/siglip-base-patch16-224
set -euo pipefail
cd "$(dirname "$0")"

PORT="${PORT:-8080}"
TARGET=wasm32-unknown-unknown
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_wasm_tools() {
  if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    log "adding the $TARGET target"
    rustup target add "$TARGET"
  fi
  local want
  want="$(wasm_bindgen_version)"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    log "installing wasm-bindgen-cli $want (matches Cargo.lock; takes a few minutes once)"
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then return; fi
  log "installing Debian's chromium and chromium-driver"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
}

ensure_node_modules() {
  if [ ! -d tests/web/node_modules/playwright-core ]; then
    log "installing page-test packages (playwright-core; no browser download)"
    (cd tests/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

build_wasm() {
  ensure_wasm_tools
  log "building the wasm (release, simd128)"
  cargo build --release --lib --target "$TARGET"
  log "generating bindings into www/pkg"
  wasm-bindgen --target web --no-typescript --out-dir www/pkg --out-name siglip \
    "target/$TARGET/release/siglip.wasm"
  ls -l www/pkg/siglip_bg.wasm | awk '{printf "    www/pkg/siglip_bg.wasm: %.1f MB\n", $5/1e6}' >&2
}

test_native() {
  log "native tests"
  cargo test --release
}

test_wasm() {
  ensure_wasm_tools
  ensure_chromium
  log "wasm tests in headless Chromium"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=600 \
    cargo test --release --target "$TARGET" --test wasm
}

test_web() {
  build_wasm
  ensure_chromium
  ensure_node_modules
  log "page tests (playwright-core driving /usr/bin/chromium)"
  node --test --test-concurrency=1 tests/web/
}

case "${1:-build}" in
  build) build_wasm ;;
  serve)
    build_wasm
    if [ ! -f www/models/siglip-base-q8.safetensors ]; then
      log "note: www/models/siglip-base-q8.safetensors is missing; see README (Get the model), or open ?model=URL"
    fi
    log "serving www/ on http://127.0.0.1:$PORT/ (Ctrl-C stops)"
    exec node scripts/serve.mjs --root www --port "$PORT"
    ;;
  pack)
    build_wasm
    mkdir -p target
    (cd www && npm pack --pack-destination ../target)
    ;;
  test) test_native; test_wasm; test_web ;;
  test-native) test_native ;;
  test-wasm) test_wasm ;;
  test-web) test_web ;;
  bench)
    # --engines siglip,transformers.js (the default): each engine's prerequisites only when selected.
    engines="siglip,transformers.js"
    for ((i = 2; i < $#; i++)); do
      if [ "${!i}" = --engines ]; then j=$((i + 1)); engines="${!j}"; fi
    done
    ensure_chromium
    ensure_node_modules
    if [[ ",$engines," == *,siglip,* ]]; then
      build_wasm
      cargo build --release --bin siglip
    fi
    if [[ ",$engines," == *,transformers.js,* ]] &&
      [ "$(node -p "require('./tests/bench/node_modules/@huggingface/transformers/package.json').version" 2>/dev/null)" != \
        "$(node -p "require('./tests/bench/package.json').dependencies['@huggingface/transformers']")" ]; then
      # No install scripts: onnxruntime-node's would download binaries, and the browser needs
      # only the packages' dist/ files (transformers.js, onnxruntime-web).
      log "installing transformers.js for the benchmark (tests/bench, pinned, install scripts off)"
      (cd tests/bench && ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    fi
    node tests/web/bench.mjs "${@:2}"
    ;;
  demo-model)
    src="${2:-models/siglip-base-patch16-224}"
    cargo build --release --bin siglip
    mkdir -p www/models
    ./target/release/siglip quantize "$src" --dtype q8 -o www/models/siglip-base-q8.safetensors
    ;;
  *) echo "usage: $0 [build|serve|pack|test|test-native|test-wasm|test-web|bench|demo-model [HF_DIR]]" >&2; exit 2 ;;
esac
