#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite, in the order CI runs it (.ci/run), failing at the first
# broken step. Needs what tools/install-deps.sh installs.
#
#   bash tools/run-tests.sh              every step below
#   bash tools/run-tests.sh asan python  only the named steps, in the given order
#
# Steps: format layers release tidy examples asan tsan fuzz python python-asan.
# Build dirs are build/<preset> (CMakePresets.json).
# FUZZ_SECONDS (default 20) sets each fuzzer's smoke run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
PYTHON=${PYTHON:-python3}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
all_steps=(format layers release tidy examples asan tsan fuzz python python-asan)

# Two cores: two compile jobs, two test processes.
export CMAKE_BUILD_PARALLEL_LEVEL=2 CTEST_PARALLEL_LEVEL=2
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
# ccache makes the five builds of one tree (and later runs in a fresh clone:
# paths are hashed relative to the tree) cost one. CMake reads this variable
# for every build, the pip build included.
if command -v ccache >/dev/null; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1
fi

declare -a timings=()
current=""
started=$SECONDS

on_exit() {
  local status=$?
  if ((status != 0)) && [[ -n $current ]]; then
    echo
    echo "!!! run-tests: step '$current' FAILED (exit $status) after $((SECONDS - step_started)) s"
  fi
}
trap on_exit EXIT

# Each step prints a header and its elapsed time; a failing command ends the run.
run_step() {
  current=$1
  step_started=$SECONDS
  echo
  echo "=== [$1] $2"
  "step_$1"
  local took=$((SECONDS - step_started))
  timings+=("$(printf '%-8s %4d s' "$1" "$took")")
  echo "=== [$1] ok in ${took} s"
  current=""
}

existing_dirs() {
  local dir
  for dir in "$@"; do [[ -d $dir ]] && printf '%s\n' "$dir"; done
  return 0
}

# The configure, build, and test of one preset; extra args go to ctest.
cmake_preset() {
  local preset=$1
  shift
  cmake --preset "$preset" --log-level=WARNING
  cmake --build --preset "$preset"
  ctest --preset "$preset" "$@"
}

step_format() {
  local dirs files format_log=build/clang-format.log
  mkdir -p build
  mapfile -t dirs < <(existing_dirs src include tests/cpp python/ext fuzz bench/cpp examples/cpp)
  files=()
  if ((${#dirs[@]})); then
    mapfile -d '' files < <(find "${dirs[@]}" -type f \( -name '*.hpp' -o -name '*.cpp' \) -print0 | sort -z)
  fi
  echo "clang-format $(clang-format --version | grep -o '[0-9][0-9.]*' | head -1): ${#files[@]} files"
  if ((${#files[@]})) && ! clang-format --dry-run --Werror "${files[@]}" 2>"$format_log"; then
    # One line per offending file, then the first offences: the full list can
    # run to thousands of lines.
    echo "clang-format: these files need formatting:"
    grep -o '^[^:]*:[0-9]*:[0-9]*: error' "$format_log" | cut -d: -f1 | uniq -c
    head -n 60 "$format_log"
    echo "fix with: clang-format -i <file>... (clang-format 14, as on Debian 12)"
    return 1
  fi
  mapfile -t dirs < <(existing_dirs python tests bench tools)
  echo "ruff $("$PYTHON" -m ruff --version | cut -d' ' -f2): ${dirs[*]}"
  "$PYTHON" -m ruff check --no-cache "${dirs[@]}"
  "$PYTHON" -m ruff format --no-cache --check "${dirs[@]}"
}

step_layers() {
  "$PYTHON" tools/check_layers.py
}

step_release() {
  cmake_preset release -DFASTMC_BUILD_TESTS=ON -DFASTMC_BUILD_EXAMPLES=ON
}

step_examples() {
  # The C++ examples run against a real memcached, in-tree and as a separate
  # project using the installed package through find_package(fastmc). A
  # subshell scopes the cleanup trap to this step.
  (
    scratch=$(mktemp -d)
    trap 'kill -KILL "$(cat "$scratch/memcached.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$scratch"' EXIT
    user=()
    ((EUID == 0)) && user=(-u root)
    memcached "${user[@]}" -U 0 -s "$scratch/memcached.sock" -P "$scratch/memcached.pid" -d
    for _ in $(seq 100); do [[ -S $scratch/memcached.sock ]] && break; sleep 0.05; done
    build/release/examples/cpp/quick_start "unix:$scratch/memcached.sock"
    cmake --install build/release --prefix "$scratch/prefix" >/dev/null
    cmake -S examples/cpp/installed -B "$scratch/consumer" -G Ninja \
      -DCMAKE_PREFIX_PATH="$scratch/prefix" --log-level=WARNING
    cmake --build "$scratch/consumer"
    "$scratch/consumer/quick_start" "unix:$scratch/memcached.sock"
  )
}

step_asan() {
  cmake_preset asan-ubsan
}

step_tsan() {
  cmake --preset tsan --log-level=WARNING
  cmake --build --preset tsan
  # Tests labelled `concurrency` (tests/cpp/CMakeLists.txt) are the ones that
  # share a Client across threads; until some are labelled, run them all.
  local filter=() listing
  listing=$(ctest --preset tsan -N -L concurrency)
  if [[ $listing =~ Total\ Tests:\ [1-9] ]]; then
    filter=(-L concurrency)
    echo "running the tests labelled concurrency"
  fi
  # TSan maps its shadow at fixed addresses; with ASLR off no mapping can
  # collide with it on kernels that randomise more bits than it expects.
  local launcher=()
  if command -v setarch >/dev/null; then launcher=(setarch "$(uname -m)" -R); fi
  "${launcher[@]}" ctest --preset tsan "${filter[@]}"
}

step_fuzz() {
  if [[ ! -f fuzz/CMakeLists.txt ]]; then
    echo "SKIPPED: fuzz/CMakeLists.txt does not exist yet, so there is no fuzzer to run"
    return 0
  fi
  cmake --preset fuzz --log-level=WARNING
  cmake --build --preset fuzz
  local fuzzers=() candidate
  while IFS= read -r -d '' candidate; do
    # A libFuzzer binary carries its entry point's name.
    grep -q LLVMFuzzerTestOneInput "$candidate" && fuzzers+=("$candidate")
  done < <(find build/fuzz -path '*/CMakeFiles' -prune -o -type f -perm -u+x -print0 | sort -z)
  if ((${#fuzzers[@]} == 0)); then
    echo "fuzz/CMakeLists.txt exists but built no libFuzzer binary under build/fuzz" >&2
    return 1
  fi
  local out=build/fuzz-runs
  rm -rf "$out"
  mkdir -p "$out"
  echo "${#fuzzers[@]} fuzzer(s), ${FUZZ_SECONDS} s each, two at a time; crashes go to $out/"
  # Two at a time on two cores: fuzzer i starts once fuzzer i-2 has ended.
  # New inputs go to a scratch dir (the first corpus argument), so
  # fuzz/corpus/ in the tree is only read.
  local pids=() names=() statuses=() i binary name seeds
  for binary in "${fuzzers[@]}"; do
    name=$(basename "$binary")
    seeds=()
    for candidate in "fuzz/corpus/$name" "fuzz/corpus/${name%_fuzzer}"; do
      if [[ -d $candidate ]]; then
        seeds=("$candidate")
        break
      fi
    done
    ((${#seeds[@]})) || echo "warning: $name has no seed corpus under fuzz/corpus/$name/"
    i=${#pids[@]}
    if ((i >= 2)); then
      statuses[i - 2]=0
      wait "${pids[i - 2]}" || statuses[i - 2]=$?
    fi
    mkdir -p "$out/$name.corpus"
    "$binary" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$out/$name-" \
      "$out/$name.corpus" "${seeds[@]}" >"$out/$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
  done
  local failed=0
  for i in "${!pids[@]}"; do
    if [[ -z ${statuses[i]:-} ]]; then
      statuses[i]=0
      wait "${pids[i]}" || statuses[i]=$?
    fi
    if ((statuses[i] == 0)); then
      printf '  %-40s %s\n' "${names[i]}" \
        "$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$out/${names[i]}.log" | tail -1)"
    else
      echo "  ${names[i]} FAILED (exit ${statuses[i]}); the end of $out/${names[i]}.log:"
      tail -n 60 "$out/${names[i]}.log"
      failed=1
    fi
  done
  return "$failed"
}

step_python() {
  # A fresh build dir every time: an incremental scikit-build-core build must
  # never hand pytest a module built from older sources (ccache keeps it fast).
  rm -rf build/python
  local isolation=()
  if "$PYTHON" -c 'import nanobind, scikit_build_core' 2>/dev/null; then
    isolation=(--no-build-isolation) # the build deps are installed: skip a venv per build
  fi
  "$PYTHON" -m pip install "${isolation[@]}" --config-settings=build-dir=build/python .
  # pytest exits 5 when it collected nothing: for CI that is a failure, not a pass.
  local status=0
  "$PYTHON" -m pytest || status=$?
  if ((status == 5)); then
    echo "pytest collected no tests: failing" >&2
    return 1
  fi
  return "$status"
}

step_python-asan() {
  # The extension built with ASan+UBSan (Debug), installed into a scratch
  # target dir that shadows the regular install, and the Python tests run
  # against it with the sanitizer runtimes preloaded (CPython itself is not
  # instrumented). Leak detection is off here: the interpreter keeps objects
  # until exit by design; leaks are LeakSanitizer's job in the asan step.
  local target=build/python-asan-package
  rm -rf build/python-asan "$target"
  "$PYTHON" -m pip install -q --no-build-isolation --no-deps --target "$target" \
    --config-settings=build-dir=build/python-asan \
    --config-settings=cmake.define.FASTMC_SANITIZE=address,undefined \
    --config-settings=cmake.build-type=Debug .
  local preload
  preload="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
  PYTHONPATH="$root/$target" LD_PRELOAD="$preload" FASTMC_SANITIZED=1 \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$PYTHON" -m pytest -p no:cacheprovider tests/python tests/faults
}

step_tidy() {
  # clang-tidy (.clang-tidy) over the code, not the tests; a warning fails
  # the step (WarningsAsErrors). The library's files are checked with the release build's
  # compile_commands.json (the release step configures it), the binding's
  # with a configure-only build of python/ext (pip builds it elsewhere).
  [[ -f build/release/compile_commands.json ]] || cmake --preset release --log-level=WARNING
  cmake -S . -B build/tidy-python -DCMAKE_BUILD_TYPE=Release -DFASTMC_BUILD_PYTHON=ON \
    -DFASTMC_BUILD_TESTS=OFF -DFASTMC_BUILD_EXAMPLES=OFF --log-level=ERROR >/dev/null
  # g++'s warning set names options clang does not know (-Wno-restrict).
  local options=(-j 2 -quiet -extra-arg=-Wno-unknown-warning-option)
  run-clang-tidy -p build/release "${options[@]}" "^$root/src/"
  run-clang-tidy -p build/tidy-python "${options[@]}" "^$root/python/ext/"
}

if (($#)); then steps=("$@"); else steps=("${all_steps[@]}"); fi
declare -A titles=(
  [format]="format: clang-format --dry-run --Werror, ruff check, ruff format --check"
  [layers]="layers: tools/check_layers.py"
  [release]="release: Release build (-Werror) of the library, tests and examples; ctest"
  [examples]="examples: run examples/cpp, and build it against the installed package"
  [asan]="asan: AddressSanitizer + UBSan build (Debug -O1); ctest"
  [tsan]="tsan: ThreadSanitizer build; ctest"
  [fuzz]="fuzz: libFuzzer smoke run over fuzz/corpus"
  [python]="python: pip install . ; pytest (tests/python, tests/faults)"
  [python-asan]="python-asan: the extension under ASan+UBSan (Debug); pytest"
  [tidy]="tidy: clang-tidy over src/ and python/ext"
)
for step in "${steps[@]}"; do
  if [[ -z ${titles[$step]:-} ]]; then
    echo "run-tests: unknown step '$step' (steps: ${all_steps[*]})" >&2
    exit 2
  fi
done

echo "run-tests: ${steps[*]}"
echo "tools: $(cmake --version | head -1); $(g++ --version | head -1); $("$PYTHON" --version)"
for step in "${steps[@]}"; do
  run_step "$step" "${titles[$step]}"
done

echo
echo "=== run-tests: all ${#steps[@]} step(s) passed in $((SECONDS - started)) s"
printf '    %s\n' "${timings[@]}"
