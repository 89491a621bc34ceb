#!/usr/bin/env bash
# test_cli.sh - the upnpcp command line, end to end against `upnpcp sim`
# (loopback only): describe as text and JSON, errors and exit codes,
# Ctrl-C cancelling through ucp_cancel, escaping of network strings.
# Usage: test_cli.sh UPNPCP_BINARY TEST_DATA_DIR
set -u
bin=$1 data=$2
tmp=$(mktemp -d)
fails=0 passes=0
sim_pid= sim2_pid=
cleanup() {
  for p in $sim_pid $sim2_pid; do kill "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@"; then passes=$((passes + 1)); echo "ok   $name"
  else fails=$((fails + 1)); echo "FAIL $name"; fi
}

"$bin" sim --port 0 --serve-dir "$data" --duration 120 >"$tmp/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do grep -q serving "$tmp/sim.out" && break; sleep 0.05; done
url=$(sed -n 's/.*serving \(http:[^ ]*\).*/\1/p' "$tmp/sim.out")
base=${url%/desc.xml}
check "simulator printed its URL" test -n "$url"

"$bin" describe "$url" >"$tmp/d.out" 2>"$tmp/d.err"; rc=$?
check "describe exits 0" test $rc -eq 0
check "describe prints the device type" grep -q 'deviceType *urn:schemas-upnp-org:device:BinaryLight:1' "$tmp/d.out"
check "describe prints resolved service URLs" grep -q "controlURL *$base/ctl/SwitchPower" "$tmp/d.out"

"$bin" describe "$url" --json >"$tmp/j.out" 2>/dev/null; rc=$?
check "describe --json exits 0" test $rc -eq 0
check "describe --json is JSON with the tree" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["id"] > 0 and d["status"] == "UCP_OK" and d["httpStatus"] == 200
assert d["root"]["deviceType"] == "urn:schemas-upnp-org:device:BinaryLight:1"
assert len(d["root"]["services"]) == 2' "$tmp/j.out"

"$bin" describe "$base/fault/status?code=404" >/dev/null 2>"$tmp/e.err"; rc=$?
check "an HTTP error exits 1" test $rc -eq 1
check "the error names the code and the URL" grep -q "UCP_E_HTTP.*fault/status" "$tmp/e.err"

"$bin" describe "ftp://127.0.0.1/x" >/dev/null 2>"$tmp/u.err"; rc=$?
check "a bad URL is refused at start" grep -q UCP_E_URL "$tmp/u.err"
"$bin" describe >/dev/null 2>&1; rc=$?
check "usage error exits 2" test $rc -eq 2

# Ctrl-C while the device stalls: cancelled through ucp_cancel, status 130.
"$bin" describe "$base/fault/stall?ms=20000" >/dev/null 2>"$tmp/c.err" &
pid=$!
sleep 0.5
kill -INT $pid
for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
wait $pid; rc=$?
check "Ctrl-C exits 130" test $rc -eq 130
check "Ctrl-C cancels the request" grep -q "cancelled" "$tmp/c.err"

"$bin" describe "$base/files/cli/evil.xml" >"$tmp/x.out" 2>&1
check "a newline in a name is escaped" grep -qF 'evil\x0Aline' "$tmp/x.out"
check "a C1 control (CSI) is escaped" grep -qF '\u009B2J' "$tmp/x.out"
check "bidi overrides are escaped" grep -qF '\u202E' "$tmp/x.out"
check "no raw CSI or bidi byte reaches the terminal" bash -c "! grep -q \$'\\xc2\\x9b\\|\\xe2\\x80\\xae' '$tmp/x.out'"

# discover by unicast M-SEARCH against a unicast-only simulator (nothing
# multicast: no namespace needed).
"$bin" sim --port 0 --ssdp-unicast --duration 60 >"$tmp/sim2.out" 2>&1 &
sim2_pid=$!
for _ in $(seq 1 100); do grep -q "SSDP port" "$tmp/sim2.out" && break; sleep 0.05; done
sport=$(sed -n 's/.*SSDP port \([0-9]*\).*/\1/p' "$tmp/sim2.out")
"$bin" discover --unicast "127.0.0.1:$sport" --timeout 2 --mx 1 >"$tmp/disc.out" 2>"$tmp/disc.err"; rc=$?
check "discover --unicast exits 0" test $rc -eq 0
check "discover lists the device" grep -q "upnpcp simulated light.*BinaryLight:1.*127.0.0.1.*uuid:" "$tmp/disc.out"
"$bin" discover --unicast "127.0.0.1:$sport" --timeout 2 --mx 1 --json >"$tmp/disc.json" 2>/dev/null
check "discover --json: one added event with the id, then complete" python3 -c '
import json,sys
ev=[json.loads(l) for l in open(sys.argv[1])]
added=[e for e in ev if e["event"]=="added"]
assert len(added)==1 and added[0]["id"]>0 and added[0]["deviceType"].endswith("BinaryLight:1")
assert ev[-1]["event"]=="complete"' "$tmp/disc.json"
"$bin" discover --unicast "127.0.0.1:$sport" --timeout 30 >/dev/null 2>"$tmp/dc.err" &
dpid=$!
sleep 0.7
kill -INT $dpid
for _ in $(seq 1 100); do kill -0 $dpid 2>/dev/null || break; sleep 0.05; done
wait $dpid; rc=$?
check "Ctrl-C cancels a discover (130)" test $rc -eq 130
kill $sim2_pid 2>/dev/null; wait $sim2_pid 2>/dev/null

# On a terminal, describe shows a progress line on stderr (script(1) gives
# it a pseudo-terminal); piped, it shows none.
script -qec "$bin describe '$base/fault/drip?bytes=300&interval_ms=3'" /dev/null \
  >"$tmp/tty.out" 2>&1
check "a progress line on a terminal" grep -q "of 300 bytes" "$tmp/tty.out"
check "no progress line when not a terminal" bash -c "! grep -q 'bytes' '$tmp/d.err'"

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
