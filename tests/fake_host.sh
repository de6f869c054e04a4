#!/usr/bin/env bash
# fake_host.sh CMD...: runs CMD where the host looks like another machine to
# anything that reads it from files: an Intel Sapphire Rapids guest's sysfs
# cache directories (L1d 48K, L1i 32K, L2 2M, L3 105M), its /proc/cpuinfo
# model name and a longer host name, bound over this host's in a private
# user, mount and UTS namespace (no root needed where user namespaces are
# allowed). Google Benchmark's CPUInfo and SystemInfo read exactly these.
# Exit 77 (skip) when namespaces are not available here.
set -eu
unshare -r -m -u true 2>/dev/null || { echo "fake_host.sh: no user namespaces here" >&2; exit 77; }
fake=$(mktemp -d)
trap 'rm -rf "$fake"' EXIT
mkdir -p "$fake/cpu0"
cache() {  # index level type size ways sets
  local d="$fake/cpu0/cache/index$1"
  mkdir -p "$d"
  echo "$2" >"$d/level"; echo "$3" >"$d/type"; echo "$4" >"$d/size"; echo "$5" >"$d/ways_of_associativity"
  echo "$6" >"$d/number_of_sets"; echo 64 >"$d/coherency_line_size"; echo 1 >"$d/physical_line_partition"
  echo 0-1 >"$d/shared_cpu_list"; echo 3 >"$d/shared_cpu_map"
}
cache 0 1 Data 48K 12 64
cache 1 1 Instruction 32K 8 64
cache 2 2 Unified 2048K 16 2048
cache 3 3 Unified 107520K 15 114688
sed 's/^model name.*/model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz/' /proc/cpuinfo >"$fake/cpuinfo"
unshare -r -m -u bash -c '
  mount --bind "$1/cpu0" /sys/devices/system/cpu/cpu0 &&
  mount --bind "$1/cpuinfo" /proc/cpuinfo &&
  hostname a-much-longer-host-name-of-another-guest && shift && exec "$@"' fake_host "$fake" "$@"
