#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the benchmarks, each pinned with memcached to one CPU, one after the
# other, and writes their dated reports to bench/reports/:
#   YYYY-MM-DD-python-peers.md            bench/compare_peers.py (fastmc's Python API vs the peers)
#   YYYY-MM-DD-python-peers-5-servers.md  bench/compare_peers.py --servers 5 (cluster mode and
#                                         the stopped-server scenario)
#   YYYY-MM-DD-cpp-libmemcached.md        fastmc_bench_client_vs_libmemcached (C++ API vs libmemcached)
#
#   bash bench/run_all.sh                   full runs (about 7 minutes)
#   bash bench/run_all.sh --quick           smoke runs, no report written
#   bash bench/run_all.sh --rounds 11       other options go to every benchmark
#
# Environment: CPU (default 1), PYTHON (default python3), SERVERS (default 5:
# the cluster run's server count). The Python benchmark measures the fastmc
# installed for $PYTHON (pip install .); without one it reports the peers only.
# The C++ benchmark is built with the `bench` CMake preset (build/bench). Exits
# non-zero if any benchmark failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
CPU=${CPU:-1}
PYTHON=${PYTHON:-python3}
SERVERS=${SERVERS:-5}
today=$(date +%F)
quick=0
for arg in "$@"; do [[ $arg == --quick ]] && quick=1; done

status=0

echo "=== Python: bench/compare_peers.py (CPU $CPU)"
if ! "$PYTHON" -c 'import fastmc' 2>/dev/null; then
  echo "note: fastmc is not importable by $PYTHON (pip install .); the report gives the peers only"
fi
python_report=(--report "bench/reports/$today-python-peers.md")
((quick)) && python_report=(--report -)
"$PYTHON" bench/compare_peers.py --cpu "$CPU" "${python_report[@]}" "$@" || {
  echo "!!! compare_peers.py failed (exit $?)"
  status=1
}

echo
echo "=== Python: bench/compare_peers.py --servers $SERVERS (CPU $CPU)"
cluster_report=(--report "bench/reports/$today-python-peers-$SERVERS-servers.md")
((quick)) && cluster_report=(--report -)
"$PYTHON" bench/compare_peers.py --servers "$SERVERS" --cpu "$CPU" "${cluster_report[@]}" "$@" || {
  echo "!!! compare_peers.py --servers $SERVERS failed (exit $?)"
  status=1
}

echo
echo "=== C++: fastmc_bench_client_vs_libmemcached (CPU $CPU)"
binary=build/bench/bench/fastmc_bench_client_vs_libmemcached
if cmake --preset bench --log-level=WARNING >/dev/null &&
  cmake --build --preset bench --target fastmc_bench_client_vs_libmemcached; then
  cpp_report=(--report "bench/reports/$today-cpp-libmemcached.md")
  ((quick)) && cpp_report=()
  "$binary" --cpu "$CPU" "${cpp_report[@]}" "$@" || {
    echo "!!! $binary failed (exit $?)"
    status=1
  }
else
  echo "!!! the C++ benchmark did not build (it needs the fastmc library and libmemcached-dev)"
  status=1
fi
exit "$status"
