#!/usr/bin/env bash
# bench_invoke.sh - the invoke benchmarks (bench/bench_invoke.c), beside
# wrk's raw HTTP limit for the same POST (bench/wrk_post.lua):
#   1. against the simulator (SwitchPower:1 GetStatus), loopback only; the
#      simulator runs in a child process of ucp_bench_invoke;
#   2. against minidlna (ContentDirectory:1 GetSystemUpdateID), which runs
#      only inside a private network namespace made here (unshare --net,
#      with its own PID namespace so that every process started inside ends
#      with it). Its only interface is lo, up, without multicast: minidlna's
#      SSDP has nowhere to go, and nothing leaves the namespace.
# Usage: bench/bench_invoke.sh [--sim-only | --minidlna-only]
#                              [ucp_bench_invoke options, e.g. --rounds 5,
#                               --pin 1,0]
# Environment: UCP_BENCH_INVOKE = the binary (default build/bench/...).
# Exit: 0; 1 when a part lost or failed an invoke (or could not run);
# part 2 is skipped (with a note, not a failure) without root, unshare or
# minidlnad.
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
bin=${UCP_BENCH_INVOKE:-$here/../build/bench/ucp_bench_invoke}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
sim=1 dlna=1
case ${1:-} in
  --sim-only) dlna=0; shift ;;
  --minidlna-only) sim=0; shift ;;
esac
# --pin C,S (a ucp_bench_invoke option): minidlna starts on CPU S too.
pin_server=
prev=
for a in "$@"; do
  [ "$prev" = --pin ] && pin_server=${a#*,}
  prev=$a
done
[ -x "$bin" ] || { echo "bench_invoke.sh: $bin not found (cmake --build build)"; exit 1; }
rc=0

# ------------------------------------------------------ 1. the simulator
if [ $sim = 1 ]; then
  echo "### invoke benchmark: the simulator"
  "$bin" "$@" || rc=1
fi

# ------------------------------------------ 2. minidlna, in a namespace
if [ $dlna = 1 ]; then
  echo
  echo "### invoke benchmark: minidlna (private network namespace)"
  PATH=$PATH:/usr/sbin:/sbin
  dlnad=$(command -v minidlnad || true)
  if [ "$(id -u)" != 0 ]; then
    echo "skipped: needs root (network namespace, minidlnad)"
  elif [ -z "$dlnad" ]; then
    echo "skipped: minidlnad is missing (apt-get install minidlna)"
  elif ! unshare --net --pid --fork true 2>/dev/null; then
    echo "skipped: cannot create network/PID namespaces"
  else
    tmp=$(mktemp -d /tmp/ucp-bench-dlna.XXXXXX)
    chmod 755 "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/media" "$tmp/db" "$tmp/log"
    cat >"$tmp/minidlna.conf" <<EOF
media_dir=A,$tmp/media
port=8200
network_interface=lo
friendly_name=bench-minidlna
db_dir=$tmp/db
log_dir=$tmp/log
inotify=no
notify_interval=600
uuid=4d696e69-444c-164e-9d41-b827eb0be001
EOF
    # Inside: PID 1 of its own PID namespace, so when it exits the kernel
    # ends whatever is left in there (minidlna and its scanner child).
    unshare --net --pid --fork --kill-child bash -c '
      tmp=$1 dlnad=$2 bin=$3 ver=$4 pin=$5; shift 5
      ip link set lo up || exit 1
      ${pin:+taskset -c "$pin"} "$dlnad" -f "$tmp/minidlna.conf" -S -P "$tmp/minidlna.pid" \
        >"$tmp/minidlna.out" 2>&1 </dev/null &
      pid=$!
      up=0
      for i in $(seq 1 50); do
        kill -0 $pid 2>/dev/null || break
        if (exec 3<>/dev/tcp/127.0.0.1/8200) 2>/dev/null; then up=1; break; fi
        sleep 0.1
      done
      if [ $up = 0 ]; then
        echo "minidlnad did not come up:"; tail -n 20 "$tmp/minidlna.out"
        kill $pid 2>/dev/null; exit 1
      fi
      echo "minidlna $ver (pid $pid in the namespace) on 127.0.0.1:8200"
      "$bin" --url http://127.0.0.1:8200/ctl/ContentDir \
        --type urn:schemas-upnp-org:service:ContentDirectory:1 \
        --action GetSystemUpdateID \
        --desc http://127.0.0.1:8200/rootDesc.xml "$@"
      r=$?
      kill -TERM $pid 2>/dev/null
      for i in $(seq 1 40); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
      kill -KILL $pid 2>/dev/null
      wait $pid 2>/dev/null
      exit $r' bench_invoke_ns "$tmp" "$dlnad" "$bin" \
      "$(dpkg-query -W -f='${Version}' minidlna 2>/dev/null)" "$pin_server" \
      "$@" || rc=1
  fi
fi
exit $rc
