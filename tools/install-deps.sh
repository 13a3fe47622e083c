#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what building and testing fastmc needs on a fresh Debian 12 machine
# (run as root; only Debian's apt and PyPI are reachable). Idempotent: when
# everything is already there it asks no registry and takes about a second.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
# A root pip would otherwise warn on every run; the version check is a network call.
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
PYTHON=${PYTHON:-python3}

apt_packages=(
  memcached                        # the real server every behaviour test starts
  libmemcached-dev                 # benchmarks and C API comparison; pylibmc builds against it
  libgtest-dev libgmock-dev        # tests/cpp, found with find_package(GTest)
  libssl-dev zlib1g-dev libsasl2-dev sasl2-bin  # TLS, compression, SASL (+ saslpasswd2 for tests)
  libsasl2-modules pkg-config      # SASL's PLAIN and CRAM-MD5 plugins; CMake finds libsasl2 with it
  openssl                          # the openssl command: test certificates (fastmc.testing)
  clang libclang-rt-14-dev         # fuzzers: libFuzzer and clang's sanitizer runtimes
  llvm                             # llvm-symbolizer: readable sanitizer and fuzzer stacks
  clang-format clang-tidy          # format check (CI) and naming lint (by hand)
  valgrind                         # callgrind instruction counts, leak runs
  nutcracker                       # twemproxy, for proxy compatibility tests
  util-linux iproute2 iptables     # taskset, network namespaces, fault injection
  ninja-build ccache               # faster builds: CMake presets use Ninja, run-tests uses ccache
)

# The pip names, and the version of each that tools depend on. ruff is pinned
# exactly because `ruff format --check` output changes between releases.
pip_packages=(
  "scikit-build-core>=0.10" "nanobind>=2.4"             # build deps (pyproject.toml)
  pytest pytest-timeout hypothesis "ruff==0.17.5"        # tests and lint
  pylibmc pymemcache libmc python-memcached              # peers: compat tests and benchmarks
)

missing_apt=()
for package in "${apt_packages[@]}"; do
  # dpkg-query says "install ok installed" only for a fully installed package.
  if [[ $(dpkg-query -W -f='${Status}' "$package" 2>/dev/null) != "install ok installed" ]]; then
    missing_apt+=("$package")
  fi
done

if ((${#missing_apt[@]})); then
  echo "install-deps: apt-get install ${missing_apt[*]}"
  # Package scripts must not start memcached or nutcracker daemons on their
  # default ports: tests start their own servers. policy-rc.d exit 101 = "no".
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null
fi

# Debian's own python3 refuses pip installs (PEP 668) unless told otherwise; a
# pyenv or venv Python has no such marker.
if [[ -e "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]]; then
  export PIP_BREAK_SYSTEM_PACKAGES=1
fi

# Ask pip only for what is missing or does not satisfy its version spec:
# importlib.metadata answers locally, pip would resolve against PyPI.
mapfile -t missing_pip < <("$PYTHON" - "${pip_packages[@]}" <<'EOF'
import re
import sys
from importlib import metadata

for spec in sys.argv[1:]:
    name, op, wanted = re.match(r"([A-Za-z0-9_.-]+)\s*(==|>=)?\s*(.*)", spec).groups()
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        print(spec)
        continue
    have_t = tuple(int(p) for p in re.findall(r"\d+", have)[:3])
    wanted_t = tuple(int(p) for p in re.findall(r"\d+", wanted)[:3])
    if (op == "==" and have_t != wanted_t) or (op == ">=" and have_t < wanted_t):
        print(spec)
EOF
)

if ((${#missing_pip[@]})); then
  echo "install-deps: pip install ${missing_pip[*]}"
  "$PYTHON" -m pip install -q "${missing_pip[@]}"
fi

echo "install-deps: ok (${#missing_apt[@]} apt and ${#missing_pip[@]} pip packages installed)"
