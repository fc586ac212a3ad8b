#!/usr/bin/env bash
# Make sure the real servers and tools the tests and the benchmarks start privately are installed:
# redis-server, PostgreSQL, Chromium and certutil (browser tests), nginx (the load-balancer test), wrk, taskset and
# valgrind (the benchmark lab and its smoke test).  Installs what is missing with
# apt-get when that is possible; otherwise says what is missing and fails.
set -euo pipefail

need=()
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || need+=(redis-server redis-tools)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
command -v certutil >/dev/null || need+=(libnss3-tools)  # the DBSC browser test trusts a private CA
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v taskset >/dev/null || need+=(util-linux)
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || need+=(valgrind)

if ((${#need[@]} == 0)); then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "missing: ${need[*]} (no apt-get here: install them by hand)" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "installing: ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the packaged services; the tests never use them, so leave them as the machine had them.
