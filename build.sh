#!/usr/bin/env bash
# Builds, serves, tests and benchmarks SigLIP in the browser. Idempotent: installs what is
# missing (wasm target, the wasm-bindgen CLI matching Cargo.lock, test npm packages), never
# downloads from anywhere but the package registries.
#
#   ./build.sh            build the four wasm variants and their bindings (see build_variant):
#                         www/pkg (simd128), www/pkg-relaxed (+relaxed SIMD), www/pkg-threads
#                         (+relaxed SIMD, atomics, a rayon pool; pinned nightly) and
#                         www/pkg-threads-simd128 (the pool on simd128, for WebKit/Safari). The
#                         worker picks one at run time. SIGLIP_VARIANTS="simd128 relaxed" builds fewer.
#   ./build.sh serve      build, then serve www/ on http://127.0.0.1:8080/ (cross-origin
#                         isolated: COOP/COEP, so the threads variant can run)
#   ./build.sh test       all tests: lints and native (cargo test), wasm in headless Chromium, page tests,
#                         the bundler matrix, then every fuzz target on SIGLIP_FUZZ_RUNS (500)
#                         inputs, seed 1
#   ./build.sh test-native | test-wasm | test-web
#   ./build.sh examples [FILTER]  the bundler matrix (examples/run.mjs): the packed widget in
#                         fresh Vite 5/7/8, webpack, esbuild, Rollup and import-map apps
#   ./build.sh fuzz [S [N]]  libFuzzer on every target in fuzz/ for S seconds each (default
#                         60), or on N inputs each, one target at a time, seeded by
#                         fuzz/seeds.mjs (tiny checkpoints, tokenizers, images). Options:
#                         SIGLIP_FUZZ_TARGETS (a subset, e.g. "packed image"),
#                         SIGLIP_FUZZ_SANITIZER (address, the default and what CI runs; none runs
#                         2-10× as many inputs a second, for long campaigns; debug assertions
#                         stay on; built in fuzz/target-none), SIGLIP_FUZZ_MAX_LEN (65536),
#                         SIGLIP_FUZZ_SEED (0)
#   ./build.sh soak [MINUTES [MODEL]]  long use in one page: 1,000 scoring calls, 200
#                         create/remove cycles of each element, MINUTES (30) of webcam; memory
#                         sampled every 30 s must stay flat (tests/web/soak.mjs)
#   ./build.sh pack       build, then `npm pack` the widget into target/
#   ./build.sh bench      browser benchmark on the full-size random checkpoint, in headless
#                         Chromium, or in each engine of --browsers chromium,firefox,webkit (see README)
#   ./build.sh demo-model build www/models/siglip-base-q8.safetensors from models/siglip-base-patch16-224
set -euo pipefail
cd "$(dirname "$0")"

PORT="${PORT:-8080}"
TARGET=wasm32-unknown-unknown
# The threads variant needs nightly (-Z build-std, to rebuild std with atomics). Pinned exactly.
NIGHTLY="${SIGLIP_NIGHTLY:-nightly-2026-05-19}"
VARIANTS="${SIGLIP_VARIANTS:-simd128 relaxed threads threads-simd128}"
# RUSTFLAGS replaces .cargo/config.toml's rustflags, so the variants repeat the getrandom cfg.
GETRANDOM_CFG='--cfg getrandom_backend="wasm_js"'
RELAXED_FLAGS="-C target-feature=+simd128,+relaxed-simd $GETRANDOM_CFG"
# Shared memory for the threaded variants (imported, so wasm-bindgen can hand it to the pool's
# workers; its TLS symbols exported, which wasm-bindgen's thread transform needs). 4 GiB is the
# module's ceiling; the worker creates the memory with a smaller maximum where the engine
# refuses that much (siglip-worker.js, sharedMemory).
THREADS_LINK="+atomics,+bulk-memory,+mutable-globals \
 -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296 \
 -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align \
 -C link-arg=--export=__tls_base $GETRANDOM_CFG"
THREADS_FLAGS="-C target-feature=+simd128,+relaxed-simd,$THREADS_LINK"
THREADS_SIMD128_FLAGS="-C target-feature=+simd128,$THREADS_LINK"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    log "adding the $TARGET target"
    rustup target add "$TARGET"
  fi
}

ensure_wasm_tools() {
  ensure_wasm_target
  local want
  want="$(wasm_bindgen_version)"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    log "installing wasm-bindgen-cli $want (matches Cargo.lock; takes a few minutes once)"
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

# cargo-fuzz, pinned (installed into ~/.cargo/bin once).
CARGO_FUZZ_VERSION="${SIGLIP_CARGO_FUZZ:-0.13.2}"
FUZZ_TARGETS="packed hf_checkpoint pack_stream image spiece tokenizer_json"

# A tool at an exact version, built once by cargo install unless COMMAND --version already says
# VERSION (the second word of its first line): cargo_install_pinned CRATE VERSION COMMAND...
cargo_install_pinned() {
  local crate="$1" version="$2"
  shift 2
  if [ "$("$@" --version 2>/dev/null | head -n 1 | awk '{print $2}')" = "$version" ]; then return; fi
  log "installing $crate $version (cargo install, once; a minute or a few)"
  cargo install "$crate" --version "$version" --locked >&2
}

ensure_cargo_fuzz() {
  cargo_install_pinned cargo-fuzz "$CARGO_FUZZ_VERSION" cargo fuzz
}

# Debian packages, installed when a command is missing: apt_install COMMAND... -- PACKAGE...
apt_install() {
  local missing=""
  while [ "$1" != -- ]; do
    command -v "$1" >/dev/null || missing=1
    shift
  done
  shift
  [ -z "$missing" ] && return
  log "installing Debian's $*"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

ensure_chromium() {
  apt_install /usr/bin/chromium /usr/bin/chromedriver -- chromium chromium-driver
}

# The other engines (tests/web/engines.mjs): Firefox ESR, driven over WebDriver BiDi by
# puppeteer-core, and WebKitGTK's MiniBrowser, driven by WebKitWebDriver on an Xvfb display.
ensure_engines() {
  apt_install /usr/bin/firefox-esr /usr/bin/WebKitWebDriver Xvfb -- firefox-esr webkit2gtk-driver xvfb
}

# transformers.js (tests/bench, pinned): the benchmark's peer, and the reference of
# tests/web/pipeline.test.mjs. No install scripts: onnxruntime-node's would download binaries,
# and the browser needs only the packages' dist/ files (transformers.js, onnxruntime-web).
ensure_transformers_js() {
  if [ "$(node -p "require('./tests/bench/node_modules/@huggingface/transformers/package.json').version" 2>/dev/null)" != \
    "$(node -p "require('./tests/bench/package.json').dependencies['@huggingface/transformers']")" ]; then
    log "installing transformers.js (tests/bench, pinned, install scripts off)"
    (cd tests/bench && ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  fi
}

ensure_node_modules() {
  if [ ! -d tests/web/node_modules/playwright-core ] || [ ! -d tests/web/node_modules/axe-core ] || [ ! -d tests/web/node_modules/puppeteer-core ]; then
    log "installing page-test packages (playwright-core; no browser download)"
    (cd tests/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Prints the toolchain for the threads variant and the fuzz build: exactly $NIGHTLY, installed
# when missing (never whatever `nightly` a machine happens to hold: a rustup `nightly` built on
# the pin's date is a different compiler, and building with both rebuilt std and the crate
# twice in CI). Makes sure it has rust-src (for -Z build-std).
nightly_toolchain() {
  if ! rustup toolchain list | grep -q "^$NIGHTLY-"; then
    log "installing the $NIGHTLY toolchain (for the threads variant and the fuzz build)"
    rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src >&2
  fi
  if ! rustup component list --toolchain "$NIGHTLY" --installed 2>/dev/null | grep -q '^rust-src'; then
    log "adding rust-src to $NIGHTLY (for -Z build-std)"
    rustup component add rust-src --toolchain "$NIGHTLY" >&2
  fi
  echo "$NIGHTLY"
}

# build_variant simd128|relaxed|threads|threads-simd128: cargo build into its own target dir
# (so the variants never rebuild each other), then wasm-bindgen into its www/ directory.
build_variant() {
  local variant="$1" out dir started=$SECONDS
  case "$variant" in
    simd128)
      out=www/pkg dir=target
      log "building the wasm: simd128 (release; .cargo/config.toml flags)"
      env -u RUSTFLAGS cargo build --release --lib --target "$TARGET"
      ;;
    relaxed)
      out=www/pkg-relaxed dir=target/wasm-relaxed
      log "building the wasm: relaxed (simd128 + relaxed SIMD)"
      RUSTFLAGS="$RELAXED_FLAGS" cargo build --release --lib --target "$TARGET" --target-dir "$dir"
      ;;
    threads | threads-simd128)
      out="www/pkg-$variant" dir="target/wasm-$variant"
      local tc flags="$THREADS_FLAGS" simd="relaxed SIMD"
      [ "$variant" = threads ] || flags="$THREADS_SIMD128_FLAGS" simd="simd128"
      tc="$(nightly_toolchain)"
      log "building the wasm: $variant ($simd, atomics, rayon pool; $(rustc "+$tc" --version))"
      RUSTFLAGS="$flags" cargo "+$tc" build --release --lib --target "$TARGET" --target-dir "$dir" \
        --features threads -Z build-std=panic_abort,std
      ;;
    *) echo "unknown wasm variant '$variant' (SIGLIP_VARIANTS: simd128 relaxed threads threads-simd128)" >&2; exit 2 ;;
  esac
  log "generating bindings into $out"
  rm -rf "$out"
  wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name siglip "$dir/$TARGET/release/siglip.wasm"
  if [ "$variant" != "${variant#threads}" ]; then
    # wasm-bindgen-rayon's pool worker imports its main module as '../../..', which only a
    # bundler resolves, and dynamically, which makes a bundler split it into a chunk of its own
    # (and Vite 5-7 emit workers as IIFE scripts, which cannot load one). Import the file by
    # name, statically, so that it works served as is (www/, the npm package) and in every
    # bundler. (That makes an import cycle with siglip.js, which ES modules and bundlers
    # resolve: the namespace is used only once the pool worker gets its first message.)
    #
    # And a pool worker that fails to start (an `error` event: its script did not load, as in
    # WebKitGTK under the demo's service worker) rejects initThreadPool at once, where the
    # original waits forever; the model worker then runs a single-threaded build.
    local helpers line="const pkg = await import('../../..');" ready="await waitForMsgType(worker, 'wasm_bindgen_worker_ready');"
    helpers="$(find "$out/snippets" -path '*wasm-bindgen-rayon-*' -name workerHelpers.js)"
    if [ "$(printf '%s\n' "$helpers" | grep -c .)" != 1 ] || [ "$(grep -cF "$line" "$helpers")" != 1 ] ||
      [ "$(grep -cF "$ready" "$helpers")" != 1 ]; then
      echo "build.sh: wasm-bindgen-rayon's workerHelpers.js is not as expected (${helpers:-missing})" >&2
      exit 1
    fi
    sed -i -e "s#const pkg = await import('../../..');#const pkg = siglip;#" \
      -e "s#$ready#await readyOrFailed(worker);#" \
      -e "1i import * as siglip from '../../../siglip.js';" "$helpers"
    cat >>"$helpers" <<'JS'

// Added by siglip's build.sh: ready, or an Error as soon as the worker fails to start.
function readyOrFailed(worker) {
  return new Promise((resolve, reject) => {
    waitForMsgType(worker, 'wasm_bindgen_worker_ready').then(resolve);
    worker.addEventListener('error', (e) => reject(new Error(`a worker of the thread pool did not start${e.message ? `: ${e.message}` : ''}`)), { once: true });
  });
}
JS
  fi
  ls -l "$out/siglip_bg.wasm" |
    awk -v s=$((SECONDS - started)) '{printf "    %s: %.1f MB (%d s)\n", $NF, $5/1e6, s}' >&2
}

build_wasm() {
  ensure_wasm_tools
  local v
  for v in $VARIANTS; do build_variant "$v"; done
}

test_native() {
  log "lints: rustfmt, clippy (native and wasm relaxed, warnings are errors: every unsafe block documented)"
  cargo fmt --check
  cargo clippy --release --all-targets -- -D warnings
  ensure_wasm_target
  RUSTFLAGS="$RELAXED_FLAGS" cargo clippy --release --lib --target "$TARGET" --target-dir target/wasm-relaxed -- -D warnings
  log "native tests"
  cargo test --release
  # The unit tests again in a debug build, where integer overflow panics: header arithmetic
  # on untrusted files must be checked, not wrap silently as it would in release. (The library
  # does not use the CLI's Hub client: leave it out of this build.)
  cargo test --lib --no-default-features
}

# wasm-bindgen-test (tests/wasm.rs) in each engine of SIGLIP_WASM_TEST_ENGINES (default chromium
# firefox webkit) for each variant of SIGLIP_WASM_TEST_VARIANTS (default simd128 and relaxed) the
# engine runs (WebKit has no relaxed SIMD: simd128 only). Each variant is built once, in its own
# target dir with its build's flags; each engine then only reruns wasm-bindgen-test-runner on it,
# through its WebDriver: chromedriver, geckodriver (built once by cargo install, pinned) with
# Debian's firefox-esr, and WebKitGTK's WebKitWebDriver (the runner's `safaridriver` path) on an
# Xvfb display. The threads variant runs relaxed's kernels with a rayon pool; its tests would run
# on the page's thread without a pool (rayon inline), the same code as relaxed, and its test build
# (std rebuilt with atomics) costs ~14 min of CI, so by default its pool, results and fallback are
# covered by the page tests (tests/web/variants.test.mjs) instead.
# SIGLIP_WASM_TEST_VARIANTS="simd128 relaxed threads" runs all.
WASM_TEST_VARIANTS="${SIGLIP_WASM_TEST_VARIANTS:-simd128 relaxed}"
WASM_TEST_ENGINES="${SIGLIP_WASM_TEST_ENGINES:-chromium firefox webkit}"
GECKODRIVER_VERSION=0.37.1

# geckodriver (pinned), for the wasm tests in Firefox.
ensure_geckodriver() {
  cargo_install_pinned geckodriver "$GECKODRIVER_VERSION" geckodriver
}

# Runs `cargo test ... --test wasm` (the arguments) in one engine: only that engine's driver is
# in the environment (the runner takes the first it finds).
wasm_test_in() {
  local engine="$1"
  shift
  case "$engine" in
    chromium) env -u GECKODRIVER -u SAFARIDRIVER CHROMEDRIVER=/usr/bin/chromedriver "$@" ;;
    firefox)
      env -u CHROMEDRIVER -u SAFARIDRIVER GECKODRIVER="$(command -v geckodriver)" \
        WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/tests/webdriver/firefox.json" "$@"
      ;;
    webkit) env -u CHROMEDRIVER -u GECKODRIVER SAFARIDRIVER=/usr/bin/WebKitWebDriver xvfb-run -a "$@" ;;
    *) echo "unknown engine '$engine' (SIGLIP_WASM_TEST_ENGINES: chromium firefox webkit)" >&2; exit 2 ;;
  esac
}

WASM_PACK_VERSION=0.15.1

# wasm-pack (built once by cargo install, pinned): `wasm-pack test` is one of the ways this crate
# is used, so it is run as users run it (README, Tests), once, on the simd128 build in Chromium.
# (It builds every test target for wasm32 first, the library's unit tests included.)
ensure_wasm_pack() {
  cargo_install_pinned wasm-pack "$WASM_PACK_VERSION" wasm-pack
}

test_wasm() {
  ensure_wasm_tools
  ensure_chromium
  ensure_engines
  case " $WASM_TEST_ENGINES " in *" firefox "*) ensure_geckodriver ;; esac
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner WASM_BINDGEN_TEST_TIMEOUT=600
  local v e started cmd
  for v in $WASM_TEST_VARIANTS; do
    case "$v" in
      simd128) cmd=(env -u RUSTFLAGS cargo test --release --target "$TARGET" --test wasm) ;;
      relaxed) cmd=(env RUSTFLAGS="$RELAXED_FLAGS" cargo test --release --target "$TARGET" --target-dir target/wasm-relaxed --test wasm) ;;
      threads)
        cmd=(env RUSTFLAGS="$THREADS_FLAGS" cargo "+$(nightly_toolchain)" test --release --target "$TARGET" --target-dir target/wasm-threads
          --features threads -Z build-std=panic_abort,std --test wasm)
        ;;
      *) echo "unknown wasm variant '$v'" >&2; exit 2 ;;
    esac
    for e in $WASM_TEST_ENGINES; do
      if [ "$e" = webkit ] && [ "$v" != simd128 ]; then continue; fi # no relaxed SIMD in WebKit
      started=$SECONDS
      log "wasm tests: $v in $e"
      wasm_test_in "$e" "${cmd[@]}"
      log "wasm tests ($v in $e): $((SECONDS - started)) s"
    done
  done
  if [ -z "${SIGLIP_SKIP_WASM_PACK:-}" ]; then
    ensure_wasm_pack
    started=$SECONDS
    log "wasm-pack test --release --headless --chrome (the README's command)"
    env -u RUSTFLAGS -u CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER -u GECKODRIVER -u SAFARIDRIVER CHROMEDRIVER=/usr/bin/chromedriver \
      wasm-pack test --release --headless --chrome --mode no-install -- --test wasm
    log "wasm-pack test: $((SECONDS - started)) s"
  fi
}

test_web() {
  build_wasm
  ensure_chromium
  ensure_engines
  ensure_node_modules
  ensure_transformers_js
  log "page tests (Chromium; engines.test.mjs also in Firefox and WebKit)"
  node --test --test-concurrency=1 tests/web/
}

# `step NAME CMD...`: runs one step of `test` and notes its time; `step_times` prints them all.
STEPS=()
step() {
  local name="$1" started=$SECONDS
  shift
  "$@"
  STEPS+=("$(printf '%-16s %5d s' "$name" $((SECONDS - started)))")
}
step_times() {
  log "time per step"
  printf '    %s\n' "${STEPS[@]}" >&2
}

test_examples() {
  build_wasm
  ensure_chromium
  ensure_node_modules
  log "bundler matrix (examples/run.mjs; pinned bundlers from the npm registry)"
  node examples/run.mjs "$@"
}

# libFuzzer on every target in fuzz/ for SECONDS each (ASan, debug assertions), seeded by
# fuzz/seeds.mjs; fails on the first crash (the input is saved under fuzz/artifacts/). With RUNS,
# each target runs exactly that many inputs instead (what `test` does: a short, bounded run;
# SIGLIP_FUZZ_SEED fixes libFuzzer's seed, though randomly keyed hash maps still vary coverage).
# Seeds are at most ~55 KB, so inputs are capped at SIGLIP_FUZZ_MAX_LEN (64 KiB) bytes.
fuzz() {
  local seconds="${1:-60}" runs="${2:-}" tc t execs rate total=0
  local limit="-max_total_time=$seconds" what="for $seconds s"
  local san="${SIGLIP_FUZZ_SANITIZER:-address}" targets="${SIGLIP_FUZZ_TARGETS:-$FUZZ_TARGETS}"
  local opts=(-s "$san")
  # Each sanitizer keeps its own build (switching would rebuild everything).
  if [ "$san" != address ]; then opts+=(--target-dir "target-$san"); fi
  if [ -n "$runs" ]; then limit="-runs=$runs" what="for $runs inputs"; fi
  tc="$(nightly_toolchain)"
  ensure_cargo_fuzz
  cargo build --release --bin siglip
  node fuzz/seeds.mjs ./target/release/siglip
  log "building the fuzz targets ($tc, sanitizer $san)"
  (cd fuzz && cargo +"$tc" fuzz build "${opts[@]}")
  for t in $targets; do
    log "fuzzing $t $what"
    if ! (cd fuzz && RAYON_NUM_THREADS=1 cargo +"$tc" fuzz run "${opts[@]}" "$t" -- "$limit" \
      -seed="${SIGLIP_FUZZ_SEED:-0}" -timeout=30 -rss_limit_mb=4096 -max_len="${SIGLIP_FUZZ_MAX_LEN:-65536}" \
      -print_final_stats=1) >"target/fuzz-$t.log" 2>&1; then
      tail -n 60 "target/fuzz-$t.log"
      log "fuzz target $t failed: see target/fuzz-$t.log and fuzz/artifacts/$t/"
      return 1
    fi
    execs="$(awk '/stat::number_of_executed_units/ {print $2}' "target/fuzz-$t.log" | tail -n 1)"
    rate="$(awk '/stat::average_exec_per_sec/ {print $2}' "target/fuzz-$t.log" | tail -n 1)"
    total=$((total + ${execs:-0}))
    printf '    %-16s %12s executions (%s/s), no crash\n' "$t" "${execs:-?}" "${rate:-?}"
  done
  log "fuzzing: $total executions in total, no crash"
}

case "${1:-build}" in
  build) build_wasm ;;
  serve)
    build_wasm
    log "serving www/ on http://127.0.0.1:$PORT/ (Ctrl-C stops); the page loads hf:google/siglip-base-patch16-224 (?model= for another)"
    exec node scripts/serve.mjs --root www --port "$PORT" --coi
    ;;
  pack)
    build_wasm
    mkdir -p target
    (cd www && npm pack --pack-destination ../target)
    ;;
  test)
    export SIGLIP_FUZZ_SEED="${SIGLIP_FUZZ_SEED:-1}"
    step "lints + native" test_native
    step "wasm builds" build_wasm
    step "wasm tests" test_wasm
    step "page tests" test_web
    step "bundlers" test_examples
    step "fuzz" fuzz 0 "${SIGLIP_FUZZ_RUNS:-500}"
    step_times
    ;;
  test-native) test_native ;;
  test-wasm) test_wasm ;;
  test-web) test_web ;;
  examples) test_examples "${@:2}" ;;
  fuzz) fuzz "${2:-60}" "${3:-}" ;;
  soak)
    # Long use in one page (tests/web/soak.mjs): memory sampled every 30 s, flat after warm-up.
    build_wasm
    ensure_chromium
    ensure_node_modules
    node tests/web/soak.mjs --minutes "${2:-30}" "${@:3}"
    ;;
  bench)
    # --engines siglip,transformers.js (the default) and --browsers chromium (the default; also
    # firefox, webkit): each one's prerequisites only when selected.
    engines="siglip,transformers.js" browsers=chromium
    for ((i = 2; i < $#; i++)); do
      j=$((i + 1))
      case "${!i}" in
        --engines) engines="${!j}" ;;
        --browsers) browsers="${!j}" ;;
      esac
    done
    if [[ ",$browsers," == *,chromium,* ]]; then ensure_chromium; fi
    if [[ ",$browsers," == *,firefox,* || ",$browsers," == *,webkit,* ]]; then ensure_engines; fi
    ensure_node_modules
    if [[ ",$engines," == *,siglip,* ]]; then
      build_wasm
      cargo build --release --bin siglip
    fi
    if [[ ",$engines," == *,transformers.js,* ]]; then ensure_transformers_js; fi
    node tests/web/bench.mjs "${@:2}"
    ;;
  demo-model)
    src="${2:-models/siglip-base-patch16-224}"
    cargo build --release --bin siglip
    mkdir -p www/models
    ./target/release/siglip quantize "$src" --dtype q8 -o www/models/siglip-base-q8.safetensors
    ;;
  *) echo "usage: $0 [build|serve|pack|test|test-native|test-wasm|test-web|examples [FILTER]|fuzz [SECONDS [RUNS]]|soak [MINUTES [MODEL]]|bench|demo-model [HF_DIR]]" >&2; exit 2 ;;
esac
