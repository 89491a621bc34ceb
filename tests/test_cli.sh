#!/usr/bin/env bash
# test_cli.sh - the upnpcp command line, end to end against `upnpcp sim`
# (loopback only): describe as text and JSON, errors and exit codes,
# Ctrl-C cancelling through ucp_cancel, escaping of network strings; and
# service control: scpd, invoke and query (text, JSON, --raw, faults, exit
# codes), with DEVICE as a URL, a UDN or a friendly name found by unicast
# M-SEARCH only (--unicast: nothing multicast, no namespace needed); and
# eventing: subscribe (text, JSON, Ctrl-C, escaping, LastChange, a device
# that never sends events, no SCPD, a refused SUBSCRIBE, a lost one).
# Usage: test_cli.sh UPNPCP_BINARY TEST_DATA_DIR
set -u
bin=$1 data=$2
tmp=$(mktemp -d)
fails=0 passes=0
sim_pid= sim2_pid= sim3_pid= sim4_pid= hang_pid=
cleanup() {
  for p in $sim_pid $sim2_pid $sim3_pid $sim4_pid $hang_pid; do kill "$p" 2>/dev/null; done
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


# ------------------------------------------------------ service control
# scpd: the SwitchPower table, the Dimming model as JSON.
"$bin" scpd "$url" SwitchPower >"$tmp/s.out" 2>"$tmp/s.err"; rc=$?
check "scpd exits 0" test $rc -eq 0
check "scpd lists the actions" grep -qE '^  (SetTarget|GetTarget|GetStatus)$' "$tmp/s.out"
check "scpd shows an argument: direction, name, variable, type" \
  grep -qE '^    in +newTargetValue +Target +boolean$' "$tmp/s.out"
check "scpd shows an out-argument" grep -qE '^    out +ResultStatus +Status +boolean$' "$tmp/s.out"
check "scpd shows state variables: type, events, default" \
  grep -qE '^  Status +boolean +yes +0$' "$tmp/s.out"
check "no progress line when not a terminal (scpd)" test ! -s "$tmp/s.err"
"$bin" scpd "$url" urn:schemas-upnp-org:service:Dimming:1 --json >"$tmp/s.json" 2>/dev/null; rc=$?
check "scpd --json exits 0" test $rc -eq 0
check "scpd --json is the SCPD model" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["id"] > 0 and d["status"] == "UCP_OK" and d["httpStatus"] == 200, d
assert d["serviceId"] == "urn:upnp-org:serviceId:Dimming" and d["fromCache"] is False
assert d["specVersion"] == {"major": 1, "minor": 0}
a = {x["name"]: x for x in d["actions"]}
assert len(a) >= 20 and a["StepUp"]["arguments"] == []
g = a["SetLoadLevelTarget"]["arguments"]
assert g == [{"name": "newLoadlevelTarget", "direction": "in", "relatedStateVariable":
              "LoadLevelTarget", "type": "ui1", "retval": False}], g
v = {x["name"]: x for x in d["stateVariables"]}
assert v["LoadLevelTarget"]["range"] == {"min": "0", "max": "100", "step": None}
assert v["LoadLevelTarget"]["sendEvents"] is False and v["LoadLevelStatus"]["sendEvents"] is True
assert v["OnEffect"]["allowedValues"] == ["OnEffectLevel", "LastSetting", "Default"]
assert v["OnEffect"]["range"] is None and v["OnEffect"]["default"] == "Default"' "$tmp/s.json"
"$bin" scpd "$url" Dimming | grep -qE '^  OnEffect +string +no +Default +values: OnEffectLevel, LastSetting, Default$'
check "scpd shows allowed values" test $? -eq 0
"$bin" scpd "$url" Dimming | grep -qE '^  LoadLevelTarget +ui1 +no +0 +range: 0\.\.100$'
check "scpd shows a range" test $? -eq 0

# SERVICE: serviceId, its last part, serviceType, "Name:V", any case.
for s in urn:upnp-org:serviceId:SwitchPower SwitchPower \
         urn:schemas-upnp-org:service:SwitchPower:1 SwitchPower:1 switchpower; do
  "$bin" scpd "$url" "$s" 2>/dev/null | grep -q 'serviceType *urn:schemas-upnp-org:service:SwitchPower:1'
  check "SERVICE '$s' names SwitchPower" test $? -eq 0
done
"$bin" scpd "$url" SwitchPower:2 >/dev/null 2>&1
check "SERVICE 'SwitchPower:2' does not name a SwitchPower:1" test $? -eq 1
"$bin" scpd "$url" Nope >/dev/null 2>"$tmp/ns.err"; rc=$?
check "an unknown service exits 1" test $rc -eq 1
check "... and lists the services there are" \
  grep -q 'urn:upnp-org:serviceId:Dimming *urn:schemas-upnp-org:service:Dimming:1' "$tmp/ns.err"

# invoke: SetTarget then read back, text and JSON.
"$bin" invoke "$url" SwitchPower SetTarget newTargetValue=1 >"$tmp/i.out" 2>"$tmp/i.err"; rc=$?
check "invoke SetTarget exits 0, prints nothing (no out-arguments)" \
  test $rc -eq 0 -a ! -s "$tmp/i.out" -a ! -s "$tmp/i.err"
check "invoke GetStatus prints 'ResultStatus = 1'" \
  test "$("$bin" invoke "$url" SwitchPower GetStatus)" = "ResultStatus = 1"
"$bin" invoke "$url" SwitchPower SetTarget newTargetValue=false >/dev/null 2>&1
check "invoke GetTarget after SetTarget(false) prints 'RetTargetValue = 0'" \
  test "$("$bin" invoke "$url" SwitchPower GetTarget)" = "RetTargetValue = 0"
"$bin" invoke "$url" SwitchPower GetStatus --json >"$tmp/i.json" 2>/dev/null; rc=$?
check "invoke --json exits 0" test $rc -eq 0
check "invoke --json: id, status, out-arguments with types" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["id"] > 0 and d["status"] == "UCP_OK" and d["httpStatus"] == 200, d
assert d["action"] == "GetStatus" and d["raw"] is False and d["upnpError"] is None
assert d["UDN"] == "uuid:2f402f80-da50-11e1-9b23-001788010001", d
assert d["controlURL"].endswith("/ctl/SwitchPower")
assert d["out"] == [{"name": "ResultStatus", "value": "0", "type": "boolean"}], d["out"]
assert d["warnings"] == []' "$tmp/i.json"

# Refused before sending (exit 2), the detail names the argument and rule.
"$bin" invoke "$url" SwitchPower SetTarget newTargetValue=maybe >"$tmp/r.out" 2>"$tmp/r.err"; rc=$?
check "a value the SCPD refuses exits 2" test $rc -eq 2
check "... naming the error and the argument" \
  grep -q "UCP_E_INVALIDARG.*newTargetValue.*not a boolean" "$tmp/r.err"
"$bin" invoke "$url" SwitchPower NoSuchAction >/dev/null 2>"$tmp/r2.err"; rc=$?
check "an action not in the SCPD exits 2 (UCP_E_NOT_FOUND)" \
  bash -c "test $rc -eq 2 && grep -q UCP_E_NOT_FOUND '$tmp/r2.err'"
"$bin" invoke "$url" Dimming SetLoadLevelTarget newLoadlevelTarget=101 >/dev/null 2>&1
check "a value out of the SCPD's range exits 2" test $? -eq 2
"$bin" invoke "$url" SwitchPower SetTarget newTargetValue >/dev/null 2>&1
check "an argument without '=' is a usage error (2)" test $? -eq 2

# --raw: sent as given; the device's UPnPError, exit 1.
"$bin" invoke "$url" SwitchPower SetTarget newTargetValue=maybe --raw >"$tmp/f.out" 2>"$tmp/f.err"; rc=$?
check "--raw: the device's fault exits 1" test $rc -eq 1
check "--raw: 'UPnPError 600: Argument Value Invalid'" \
  grep -q "UPnPError 600: Argument Value Invalid" "$tmp/f.err"
"$bin" invoke "$url" Dimming SetLoadLevelTarget newLoadlevelTarget=101 --raw >/dev/null 2>"$tmp/f2.err"
check "--raw: out of range is UPnPError 601" grep -q "UPnPError 601" "$tmp/f2.err"
"$bin" invoke "$url" SwitchPower NoSuchAction --raw >/dev/null 2>"$tmp/f3.err"
check "--raw: no such action is UPnPError 401" grep -q "UPnPError 401" "$tmp/f3.err"
"$bin" invoke "$url" SwitchPower SetTarget newTargetValue=maybe --raw --json >"$tmp/f.json" 2>/dev/null; rc=$?
check "--raw --json: the fault as JSON, exit 1" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert int(sys.argv[2]) == 1
assert d["status"] == "UCP_E_FAULT" and d["httpStatus"] == 500 and d["raw"] is True, d
assert d["upnpError"] == {"code": 600, "description": "Argument Value Invalid"}, d
assert "600" in d["detail"] and d["out"] == []' "$tmp/f.json" $rc
"$bin" invoke "$url" SwitchPower GetStatus --raw --json >"$tmp/raw.json" 2>/dev/null
check "--raw: out-arguments are untyped strings" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["status"] == "UCP_OK" and d["out"] == [{"name": "ResultStatus", "value": "0", "type": None}], d' "$tmp/raw.json"

# query: QueryStateVariable, typed with the SCPD, untyped with --raw.
"$bin" invoke "$url" SwitchPower SetTarget newTargetValue=1 >/dev/null 2>&1
check "query Status prints 'Status = 1'" test "$("$bin" query "$url" SwitchPower Status)" = "Status = 1"
"$bin" query "$url" Dimming LoadLevelStatus --json >"$tmp/q.json" 2>/dev/null
check "query --json: the value, typed" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["status"] == "UCP_OK" and d["variable"] == "LoadLevelStatus", d
assert d["out"] == [{"name": "LoadLevelStatus", "value": "0", "type": "ui1"}], d' "$tmp/q.json"
"$bin" query "$url" SwitchPower Nope >/dev/null 2>"$tmp/q.err"; rc=$?
check "query of a variable not in the SCPD exits 2" \
  bash -c "test $rc -eq 2 && grep -q UCP_E_NOT_FOUND '$tmp/q.err'"
"$bin" query "$url" SwitchPower Nope --raw >/dev/null 2>"$tmp/q2.err"; rc=$?
check "query --raw of an unknown variable: UPnPError 404, exit 1" \
  bash -c "test $rc -eq 1 && grep -q 'UPnPError 404' '$tmp/q2.err'"

# Errors on the way: no device there, a bad option.
"$bin" invoke "http://127.0.0.1:1/desc.xml" SwitchPower GetStatus >/dev/null 2>"$tmp/c1.err"; rc=$?
check "an unreachable device exits 1 (UCP_E_CONNECT)" \
  bash -c "test $rc -eq 1 && grep -q UCP_E_CONNECT '$tmp/c1.err'"
"$bin" invoke "$url" SwitchPower GetStatus --timeout x >/dev/null 2>&1
check "a bad --timeout is a usage error (2)" test $? -eq 2
"$bin" invoke --help >"$tmp/h.out" 2>&1
check "invoke --help exits 0 and explains DEVICE" grep -q "friendly name" "$tmp/h.out"

# Option values are checked where they are given, naming the bad one
# (nothing is searched or sent: every one is refused before).
"$bin" describe "$url" --timeout 500x >/dev/null 2>"$tmp/o1.err"; rc=$?
check "describe --timeout 500x: usage error naming it" \
  bash -c "test $rc -eq 2 && grep -q \"bad value for --timeout: '500x'\" '$tmp/o1.err'"
"$bin" discover --port 99999 >/dev/null 2>"$tmp/o2.err"; rc=$?
check "discover --port 99999: usage error" \
  bash -c "test $rc -eq 2 && grep -q 'bad value for --port' '$tmp/o2.err'"
"$bin" scpd "no such name" SwitchPower --unicast 127.0.0.1:99999 >/dev/null 2>"$tmp/o3.err"; rc=$?
check "--unicast 127.0.0.1:99999: usage error saying why" \
  bash -c "test $rc -eq 2 && grep -q 'port 1-65535' '$tmp/o3.err'"
"$bin" scpd "no such name" SwitchPower --iface nosuchif0 >/dev/null 2>"$tmp/o4.err"; rc=$?
check "--iface nosuchif0: usage error naming it" \
  bash -c "test $rc -eq 2 && grep -q \"no network interface named 'nosuchif0'\" '$tmp/o4.err'"
"$bin" scpd ftp://127.0.0.1/desc.xml SwitchPower >/dev/null 2>"$tmp/o5.err"; rc=$?
check "a non-http URL is refused (2) saying why" \
  bash -c "test $rc -eq 2 && grep -q 'only http:// URLs are allowed' '$tmp/o5.err'"

# Standard descriptors closed (cron, nohup): no abort in libuv.
"$bin" invoke "$url" SwitchPower GetStatus <&- 2>"$tmp/fd.err"; rc=$?
check "stdin closed: invoke still works" test $rc -eq 0
"$bin" invoke "$url" SwitchPower GetStatus >&- 2>"$tmp/fd.err"; rc=$?
check "stdout closed: no crash, exit 1, said" \
  bash -c "test $rc -eq 1 && grep -q 'standard output is closed' '$tmp/fd.err'"
# Output that cannot be written is a failure.
if [ -w /dev/full ]; then
  "$bin" invoke "$url" SwitchPower GetStatus >/dev/full 2>"$tmp/full.err"; rc=$?
  check "stdout on a full disk: exit 1, said" \
    bash -c "test $rc -eq 1 && grep -q 'cannot write the output' '$tmp/full.err'"
fi
# --json: a failure before any result is one document too.
"$bin" invoke "$url" NoSuchService GetStatus --json >"$tmp/jf.json" 2>/dev/null; rc=$?
check "--json, no such service: exit 1 and a JSON document" \
  bash -c "test $rc -eq 1 && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[\"status\"]==\"UCP_E_NOT_FOUND\" and \"NoSuchService\" in d[\"detail\"], d' '$tmp/jf.json'"
"$bin" invoke "$url" SwitchPower SetTarget "$(printf 'newTargetValue=\377')" --json >"$tmp/jr.json" 2>/dev/null; rc=$?
check "--json, a refused argument that is not UTF-8: valid JSON" \
  bash -c "test $rc -eq 2 && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[\"status\"]==\"UCP_E_INVALIDARG\", d' '$tmp/jr.json'"
"$bin" demo --bogus >/dev/null 2>&1
check "demo with an argument: usage error (2)" test $? -eq 2
# An address without http:// is not taken for a friendly name (which
# would start a search): refused, with the hint.
"$bin" scpd "127.0.0.1:${base##*:}/desc.xml" SwitchPower >/dev/null 2>"$tmp/nh.err"; rc=$?
check "DEVICE without http://: refused (2) with a hint, no search" \
  bash -c "test $rc -eq 2 && grep -q 'starts with http://' '$tmp/nh.err'"
"$bin" scpd "" SwitchPower >/dev/null 2>"$tmp/ne.err"; rc=$?
check "an empty DEVICE: refused (2)" \
  bash -c "test $rc -eq 2 && grep -q 'is empty' '$tmp/ne.err'"

# A device whose control URL answers slowly (the sim's ?fault=slow), served
# as a file by a unicast-only simulator that also has its own UDN and name.
mkdir -p "$tmp/www"
"$bin" sim --port 0 --ssdp-unicast --serve-dir "$tmp/www" --devices 3 \
  --uuid 11111111-2222-3333-4444-555555555555 --name "cli light" \
  --duration 100 >"$tmp/sim3.out" 2>&1 &
sim3_pid=$!
for _ in $(seq 1 100); do grep -q "device 2 " "$tmp/sim3.out" && break; sleep 0.05; done
sport3=$(sed -n 's/.*SSDP port \([0-9]*\).*/\1/p' "$tmp/sim3.out")
url3=$(sed -n 's/.*device 0 .* at \(http:[^ ]*\).*/\1/p' "$tmp/sim3.out")
check "the unicast-only simulator runs (3 devices)" test -n "$sport3" -a -n "$url3"
python3 - "$url3" "$tmp/www/slow.xml" <<'PYEOF'
import sys, urllib.request
doc = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
doc = doc.replace("<controlURL>/ctl/SwitchPower</controlURL>",
                  "<controlURL>/ctl/SwitchPower?fault=slow&amp;ms=20000</controlURL>")
open(sys.argv[2], "w").write(doc)
PYEOF
slow=${url3%/desc.xml}/files/slow.xml
"$bin" invoke "$slow" SwitchPower GetStatus --timeout 300 >/dev/null 2>"$tmp/t.err"; rc=$?
check "invoke --timeout 300 on a slow action: UCP_E_TIMEOUT, exit 1" \
  bash -c "test $rc -eq 1 && grep -q UCP_E_TIMEOUT '$tmp/t.err'"
# Ctrl-C to a command in the background after 0.5 s; its exit status.
ctrl_c_after_half_second() {
  sleep 0.5
  kill -INT "$1"
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  wait "$1"
}
"$bin" invoke "$slow" SwitchPower GetStatus >/dev/null 2>"$tmp/ic.err" &
ctrl_c_after_half_second $!; rc=$?
check "Ctrl-C cancels an invoke (130)" \
  bash -c "test $rc -eq 130 && grep -q cancelled '$tmp/ic.err'"
"$bin" invoke "$slow" SwitchPower GetStatus --json >"$tmp/icj.json" 2>/dev/null &
ctrl_c_after_half_second $!; rc=$?
check "Ctrl-C with --json: 130 and one document saying so" \
  bash -c "test $rc -eq 130 && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[\"status\"]==\"cancelled\" and d[\"exit\"]==130, d' '$tmp/icj.json'"

# DEVICE as a UDN or a friendly name: a unicast M-SEARCH to the simulator.
uni="--unicast 127.0.0.1:$sport3 --search-ms 2000"
"$bin" invoke uuid:11111111-2222-3333-4444-555555555557 SwitchPower GetStatus $uni --json \
  >"$tmp/u.json" 2>"$tmp/u.err"; rc=$?
check "DEVICE as a UDN: exit 0" test $rc -eq 0
check "DEVICE as a UDN: that device, not another" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["UDN"] == "uuid:11111111-2222-3333-4444-555555555557" and d["friendlyName"] == "cli light #2", d
assert d["out"][0]["name"] == "ResultStatus"' "$tmp/u.json"
"$bin" invoke "cli light #1" SwitchPower SetTarget newTargetValue=1 $uni >/dev/null 2>&1; rc=$?
check "DEVICE as a friendly name: exit 0" test $rc -eq 0
check "... it acted on that device: query by its UDN says Status = 1" \
  test "$("$bin" query uuid:11111111-2222-3333-4444-555555555556 SwitchPower Status $uni 2>&1)" = "Status = 1"
check "... and not on another: device #0 still has Status = 0" \
  test "$("$bin" query "cli light #0" SwitchPower Status $uni 2>&1)" = "Status = 0"
"$bin" scpd "CLI LIGHT #2" SwitchPower:1 $uni --json >"$tmp/ci.json" 2>/dev/null; rc=$?
check "a friendly name matches in any case" python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert int(sys.argv[2]) == 0 and d["friendlyName"] == "cli light #2", d' "$tmp/ci.json" $rc
"$bin" invoke "no such light" SwitchPower GetStatus --unicast 127.0.0.1:$sport3 --search-ms 800 \
  >/dev/null 2>"$tmp/nf.err"; rc=$?
check "an unknown friendly name exits 1" test $rc -eq 1
check "... and lists the devices that answered" grep -q "uuid:11111111-2222-3333-4444-555555555556  cli light #1" "$tmp/nf.err"
"$bin" invoke uuid:00000000-0000-0000-0000-000000000000 SwitchPower GetStatus \
  --unicast 127.0.0.1:$sport3 --search-ms 800 >/dev/null 2>"$tmp/nu.err"; rc=$?
check "an unknown UDN exits 1" bash -c "test $rc -eq 1 && grep -q 'no device with UDN' '$tmp/nu.err'"

# On a terminal, scpd and invoke show progress on stderr, then clear it.
script -qec "$bin scpd '$url' SwitchPower" /dev/null >"$tmp/tty2.out" 2>&1
check "scpd: a progress line on a terminal" grep -q "SCPD: .*bytes" "$tmp/tty2.out"
check "scpd: the table after the progress" grep -q "newTargetValue" "$tmp/tty2.out"

# demo: the control steps (it sends nothing multicast).
"$bin" demo >"$tmp/demo.out" 2>&1; rc=$?
check "demo exits 0 and finishes" bash -c "test $rc -eq 0 && grep -q 'demo finished' '$tmp/demo.out'"
check "demo: SetTarget then GetStatus reads 1" grep -q "ResultStatus = 1 (boolean)" "$tmp/demo.out"
check "demo: QueryStateVariable reads 1" grep -q "Status = 1 (boolean)" "$tmp/demo.out"
check "demo: the fault of a raw bad value" grep -q "UPnPError 600: Argument Value Invalid" "$tmp/demo.out"
check "demo: the local refusal and its detail" grep -q "ucp_last_error_detail(): .*newTargetValue" "$tmp/demo.out"
check "demo: a slow action cancelled, no callback" \
  bash -c "grep -q 'ucp_cancel after 300 ms -> UCP_OK' '$tmp/demo.out' && grep -q 'callbacks in the next 200 ms: 0' '$tmp/demo.out'"

check "demo: subscribed, ACTIVE and the initial event" \
  bash -c "grep -qE '^  state ACTIVE  uuid:[-0-9a-f]+ \(1800 s\)  events to http://127\.0\.0\.1:' '$tmp/demo.out' &&
           grep -qx '  event SEQ 0  Status = 1 (boolean)' '$tmp/demo.out'"
check "demo: switching the light off and on: events SEQ 1 and 2" \
  bash -c "grep -A1 'SetTarget(newTargetValue=0) -> UCP_OK' '$tmp/demo.out' | grep -qx '  event SEQ 1  Status = 0 (boolean)' &&
           grep -A1 'SetTarget(newTargetValue=1) -> UCP_OK' '$tmp/demo.out' | grep -qx '  event SEQ 2  Status = 1 (boolean)'"
check "demo: unsubscribed, the completion UCP_OK" \
  bash -c "grep -q 'ucp_unsubscribe([0-9]*) -> UCP_OK' '$tmp/demo.out' && grep -q 'completion: UCP_OK, HTTP 200' '$tmp/demo.out'"

# ------------------------------------------------------------- eventing
wait_for() { # file ERE: bounded wait (5 s) for a line matching
  local i
  for i in $(seq 1 100); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
stamp='[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}'

# subscribe, as text and as JSON at once: ACTIVE, the initial event, the
# event of a change another invoke makes meanwhile, then UNSUBSCRIBE when
# --duration runs out.
"$bin" invoke "$url" SwitchPower SetTarget newTargetValue=0 >/dev/null 2>&1
"$bin" subscribe "$url" SwitchPower --duration 2 >"$tmp/sub.out" 2>"$tmp/sub.err" &
pid=$!
"$bin" subscribe "$url" SwitchPower --duration 2 --json >"$tmp/sub.json" 2>"$tmp/subj.err" &
pidj=$!
wait_for "$tmp/sub.out" 'event SEQ 0'
wait_for "$tmp/sub.json" '"seq":0'
"$bin" invoke "$url" SwitchPower SetTarget newTargetValue=1 >/dev/null 2>&1
wait $pid; rc=$?
wait $pidj; rcj=$?
check "subscribe --duration 2 exits 0" test $rc -eq 0
check "subscribe: state ACTIVE, the SID, the grant, the callback URL" \
  grep -qE "^$stamp state ACTIVE  uuid:[-0-9a-f]+ \(1800 s\)  events to http://127\.0\.0\.1:[0-9]+/" "$tmp/sub.out"
check "subscribe: the initial event, typed by the SCPD" \
  grep -qE "^$stamp event SEQ 0  Status = 0 \(boolean\)\$" "$tmp/sub.out"
check "subscribe: the change made meanwhile, SEQ 1" \
  grep -qE "^$stamp event SEQ 1  Status = 1 \(boolean\)\$" "$tmp/sub.out"
check "subscribe: the last line says it unsubscribed at the end" \
  bash -c "tail -n 1 '$tmp/sub.out' | grep -qE '^$stamp done UCP_OK \(HTTP 200\)  unsubscribed: --duration ran out; 2 events\$'"
check "subscribe: four lines, nothing on stderr" \
  test "$(wc -l <"$tmp/sub.out")" -eq 4 -a ! -s "$tmp/sub.err"

check "subscribe --json: JSON lines, ACTIVE, SEQ 0, the change, done" python3 -c '
import json,sys
assert int(sys.argv[2]) == 0, sys.argv[2]
ev = [json.loads(l) for l in open(sys.argv[1])]
keys = {"id", "time", "kind", "state", "sid", "seq", "timeout", "detail", "vars", "changes", "warnings"}
st = [e for e in ev if e["kind"] == "state"]
no = [e for e in ev if e["kind"] == "notify"]
assert len(st) + len(no) + 1 == len(ev), ev
assert all(set(e) == keys for e in st + no), ev
a = st[0]
assert a["state"] == "ACTIVE" and a["sid"].startswith("uuid:") and a["timeout"] == 1800, a
assert "events to http://127.0.0.1:" in a["detail"] and a["seq"] is None, a
assert len(st) == 1, st
assert no[0]["seq"] == 0 and no[0]["vars"] == [{"name": "Status", "value": "0", "type": "boolean"}], no
assert any(e["seq"] >= 1 and e["vars"] == [{"name": "Status", "value": "1", "type": "boolean"}]
           for e in no[1:]), no
assert all(e["id"] == a["id"] and e["sid"] == a["sid"] and e["timeout"] is None for e in no)
assert all(e["changes"] == [] and e["warnings"] == [] for e in no)
d = ev[-1]
assert d["kind"] == "done" and d["id"] == a["id"] and d["status"] == "UCP_OK", d
assert d["httpStatus"] == 200 and d["ended"] == "duration" and d["events"] == len(no), d
assert open(sys.argv[3]).read() == "", "stderr"' "$tmp/sub.json" $rcj "$tmp/subj.err"

# Ctrl-C: UNSUBSCRIBE, then exit 130.
"$bin" subscribe "$url" Dimming >"$tmp/subc.out" 2>"$tmp/subc.err" &
pid=$!
wait_for "$tmp/subc.out" 'event SEQ 0'
kill -INT $pid
for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
wait $pid; rc=$?
check "subscribe: Ctrl-C exits 130" test $rc -eq 130
check "subscribe: ... after unsubscribing" \
  grep -qE "^$stamp done UCP_OK \(HTTP 200\)  unsubscribed: interrupted; 1 event\$" "$tmp/subc.out"
check "subscribe: every evented Dimming variable on one line, typed" \
  grep -qE "event SEQ 0  LoadLevelStatus = [0-9]+ \(ui1\)  StepDelta = [0-9]+ \(ui1\)  RampRate = [0-9]+ \(ui1\)  IsRamping = 0 \(boolean\)  RampPaused = [01] \(boolean\)\$" "$tmp/subc.out"

# Events handed to the callback URL by hand: values are data (escaped),
# a LastChange is read into its changes, one per line.
"$bin" subscribe "$url" SwitchPower --duration 2 >"$tmp/sube.out" 2>&1 &
pid=$!
"$bin" subscribe "$url" SwitchPower --duration 2 --json >"$tmp/sube.json" 2>&1 &
pidj=$!
wait_for "$tmp/sube.out" 'event SEQ 0'
wait_for "$tmp/sube.json" '"seq":0'
python3 - "$tmp/sube.out" "$tmp/sube.json" <<'PYEOF'
import http.client, json, re, sys
head = '<?xml version="1.0"?><e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0">'
evil = head + ('<e:property><FriendlyName>line1&#10;line2&#x9B;2J&#x202E;gpj.exe'
               '</FriendlyName></e:property></e:propertyset>')
lc = head + ('<e:property><LastChange>&lt;Event xmlns=&quot;urn:schemas-upnp-org:'
             'metadata-1-0/RCS/&quot;&gt;&lt;InstanceID val=&quot;0&quot;&gt;&lt;Mute '
             'channel=&quot;Master&quot; val=&quot;0&quot;/&gt;&lt;Volume channel=&quot;'
             'Master&quot; val=&quot;20&quot;/&gt;&lt;/InstanceID&gt;&lt;/Event&gt;'
             '</LastChange></e:property></e:propertyset>')
def target(path):
    text = open(path).read()
    m = re.search(r'events to (http://[^\s"]+)', text)
    sid = re.search(r'(uuid:[-0-9a-f]+)', text).group(1)
    return m.group(1), sid
for path in sys.argv[1:]:
    url, sid = target(path)
    hostport, p = url[len("http://"):].split("/", 1)
    host, port = hostport.split(":")
    for seq, body in ((1, evil), (2, lc)):
        c = http.client.HTTPConnection(host, int(port), timeout=5)
        c.request("NOTIFY", "/" + p, body.encode(), {
            "NT": "upnp:event", "NTS": "upnp:propchange", "SID": sid,
            "SEQ": str(seq), "Content-Type": 'text/xml; charset="utf-8"'})
        r = c.getresponse()
        assert r.status == 200, (path, seq, r.status)
        c.close()
PYEOF
check "NOTIFYs sent to the callback URL by hand were accepted" test $? -eq 0
wait $pid; rc=$?
wait $pidj; rcj=$?
check "subscribe: a newline in a value is escaped" \
  grep -qF 'event SEQ 1  FriendlyName = line1\x0Aline2\u009B2J\u202Egpj.exe (untyped)' "$tmp/sube.out"
check "subscribe: no raw control or bidi byte reaches the terminal" \
  bash -c "! grep -q \$'\\xc2\\x9b\\|\\xe2\\x80\\xae' '$tmp/sube.out'"
check "subscribe: LastChange is read into changes, one per line" \
  bash -c "grep -qE '^$stamp event SEQ 2  LastChange = \(2 changes\) \(untyped\)\$' '$tmp/sube.out' &&
           grep -A2 'event SEQ 2' '$tmp/sube.out' | tail -n 2 | tr '\n' '|' | grep -qx '  \[0\] Mute(Master) = 0|  \[0\] Volume(Master) = 20|'"
check "subscribe --json: the same, as data" python3 -c '
import json,sys
assert sys.argv[2:] == ["0", "0"], sys.argv
ev = [json.loads(l) for l in open(sys.argv[1])]
no = {e["seq"]: e for e in ev if e["kind"] == "notify"}
assert no[1]["vars"] == [{"name": "FriendlyName", "value": "line1\nline2\u009b2J\u202egpj.exe",
                          "type": None}], no[1]
assert no[2]["changes"] == [
    {"instance": "0", "variable": "Mute", "value": "0", "channel": "Master"},
    {"instance": "0", "variable": "Volume", "value": "20", "channel": "Master"}], no[2]
assert ev[-1]["kind"] == "done" and ev[-1]["events"] == 3, ev[-1]' "$tmp/sube.json" $rc $rcj

# Devices that differ: descriptions written into the directory sim3 serves.
python3 - "$url3" "$tmp/www" <<'PYEOF'
import sys, urllib.request
doc = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
evt = "<eventSubURL>/evt/SwitchPower</eventSubURL>"
scpd = "<SCPDURL>/SwitchPower.xml</SCPDURL>"
assert evt in doc and scpd in doc
out = {
  # minidlna 1.3.0: SUBSCRIBE accepted, never a NOTIFY
  "noevents.xml": doc.replace(evt, "<eventSubURL>/evt/SwitchPower?fault=no_events</eventSubURL>"),
  # the SCPD is missing: subscribe without it
  "noscpd.xml": doc.replace(scpd, "<SCPDURL>/fault/status?code=404</SCPDURL>"),
  # an eventSubURL that refuses SUBSCRIBE (405)
  "badevt.xml": doc.replace(evt, "<eventSubURL>/ctl/SwitchPower</eventSubURL>"),
}
for name, text in out.items():
    open("%s/%s" % (sys.argv[2], name), "w").write(text)
PYEOF
files3=${url3%/desc.xml}/files
"$bin" subscribe "$files3/noevents.xml" SwitchPower --duration 2 --check-ms 500 --json \
  >"$tmp/subu.json" 2>/dev/null &
pidj=$!
"$bin" subscribe "$files3/noevents.xml" SwitchPower --duration 2 --check-ms 500 \
  >"$tmp/subu.out" 2>"$tmp/subu.err"; rc=$?
wait $pidj; rcj=$?
check "no events at all: exit 0 at the end of --duration" test $rc -eq 0
check "no events at all: state UNREACHABLE after --check-ms 500, naming the callback URL" \
  grep -qE "^$stamp state UNREACHABLE  uuid:[-0-9a-f]+ \(1800 s\)  no initial event within 500 ms of the SUBSCRIBE: the device did not reach http://127\.0\.0\.1:[0-9]+/" "$tmp/subu.out"
check "no events at all: ACTIVE, UNREACHABLE, done; no event" \
  test "$(grep -oE '^[0-9:.]+ [a-z]+ [A-Z_]+' "$tmp/subu.out" | cut -d' ' -f2- | tr '\n' '|')" = \
       "state ACTIVE|state UNREACHABLE|done UCP_OK|"
check "no events at all, --json: a line with state UNREACHABLE" python3 -c '
import json,sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert int(sys.argv[2]) == 0
assert [e.get("state") for e in ev] == ["ACTIVE", "UNREACHABLE", None], ev
u = ev[1]
assert u["kind"] == "state" and u["sid"] == ev[0]["sid"] and "no initial event within 500 ms" in u["detail"], u
assert ev[2]["kind"] == "done" and ev[2]["status"] == "UCP_OK" and ev[2]["events"] == 0' "$tmp/subu.json" $rcj

"$bin" subscribe "$files3/noscpd.xml" SwitchPower --duration 1 --json >"$tmp/subn.json" 2>"$tmp/subn.err"; rc=$?
check "no SCPD: exit 0, it says so on stderr" \
  bash -c "test $rc -eq 0 && grep -q 'downloading the SCPD failed: UCP_E_HTTP, HTTP 404' '$tmp/subn.err' &&
           grep -q 'warning: subscribing without the SCPD: event values are not typed' '$tmp/subn.err'"
check "no SCPD: the initial event comes, untyped" python3 -c '
import json,sys
ev = [json.loads(l) for l in open(sys.argv[1])]
no = [e for e in ev if e["kind"] == "notify"]
assert no[0]["seq"] == 0 and no[0]["vars"] == [{"name": "Status", "value": "0", "type": None}], ev' "$tmp/subn.json"

"$bin" subscribe "$files3/badevt.xml" SwitchPower --duration 2 >"$tmp/subf.out" 2>"$tmp/subf.err"; rc=$?
check "SUBSCRIBE refused by the device (HTTP 405): exit 1 with the reason" \
  bash -c "test $rc -eq 1 && grep -q 'SUBSCRIBE failed: UCP_E_HTTP, HTTP 405' '$tmp/subf.err' &&
           grep -qE '^$stamp done UCP_E_HTTP \(HTTP 405\)  SUBSCRIBE failed; 0 events' '$tmp/subf.out'"
# A device that accepts the connection and never answers the SUBSCRIBE.
python3 - "$tmp/hang.port" <<'PYEOF' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
s.settimeout(0.5)
held, end = [], time.time() + 20
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass
PYEOF
hang_pid=$!
wait_for "$tmp/hang.port" '[0-9]'
python3 - "$url3" "$tmp/www/hang.xml" "$(cat "$tmp/hang.port")" <<'PYEOF'
import sys, urllib.request
doc = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
open(sys.argv[2], "w").write(doc.replace("<eventSubURL>/evt/SwitchPower</eventSubURL>",
    "<eventSubURL>http://127.0.0.1:%s/evt</eventSubURL>" % sys.argv[3]))
PYEOF
"$bin" subscribe "$files3/hang.xml" SwitchPower --timeout-request 1 --json \
  >"$tmp/subh.json" 2>"$tmp/subh.err"; rc=$?
check "no answer to SUBSCRIBE: --timeout-request 1 ends it, UCP_E_TIMEOUT, exit 1" python3 -c '
import json,sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert int(sys.argv[2]) == 1, sys.argv[2]
assert len(ev) == 1 and ev[0]["kind"] == "done" and ev[0]["status"] == "UCP_E_TIMEOUT", ev
assert ev[0]["ended"] == "failed" and "1000 ms" in ev[0]["detail"], ev' "$tmp/subh.json" $rc
"$bin" subscribe "$files3/hang.xml" SwitchPower --duration 500ms >"$tmp/subh.out" 2>"$tmp/subh2.err"; rc=$?
check "no answer to SUBSCRIBE within --duration: exit 1, it says so" \
  bash -c "test $rc -eq 1 && grep -q 'did not answer the SUBSCRIBE within --duration' '$tmp/subh2.err' &&
           grep -qE '^$stamp done UCP_OK  stopped: no answer to the SUBSCRIBE within --duration; 0 events\$' '$tmp/subh.out'"
kill $hang_pid 2>/dev/null; wait $hang_pid 2>/dev/null

# DEVICE as a UDN, found by a unicast M-SEARCH, as for invoke.
"$bin" subscribe uuid:11111111-2222-3333-4444-555555555557 SwitchPower:1 $uni \
  --duration 500ms --json >"$tmp/subd.json" 2>"$tmp/subd.err"; rc=$?
check "subscribe: DEVICE as a UDN (unicast search), SERVICE as Name:V" python3 -c '
import json,sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert int(sys.argv[2]) == 0, sys.argv[2]
assert ev[0]["state"] == "ACTIVE" and ev[1]["seq"] == 0 and ev[-1]["status"] == "UCP_OK", ev' \
  "$tmp/subd.json" $rc

"$bin" subscribe "$url" SwitchPower --duration 0 >/dev/null 2>&1
check "subscribe --duration 0 is a usage error (2)" test $? -eq 2
"$bin" subscribe "$url" SwitchPower --timeout 2 >/dev/null 2>"$tmp/subt.err"; rc=$?
check "subscribe --timeout: usage error (2) naming --duration and --timeout-request" \
  bash -c "test $rc -eq 2 && grep -q -- '--duration S (how long to listen) and --timeout-request S' '$tmp/subt.err'"
"$bin" subscribe http://127.0.0.1:1/desc.xml SwitchPower --duration 1 >/dev/null 2>"$tmp/subx.err"; rc=$?
check "subscribe to an unreachable device exits 1 (UCP_E_CONNECT)" \
  bash -c "test $rc -eq 1 && grep -q UCP_E_CONNECT '$tmp/subx.err'"

# Lost: the device goes away while the grant is 2 s; the renewal fails.
mkdir -p "$tmp/www4"
"$bin" sim --port 0 --serve-dir "$tmp/www4" --duration 60 >"$tmp/sim4.out" 2>&1 &
sim4_pid=$!
wait_for "$tmp/sim4.out" serving
url4=$(sed -n 's/.*serving \(http:[^ ]*\).*/\1/p' "$tmp/sim4.out")
python3 - "$url4" "$tmp/www4/short.xml" <<'PYEOF'
import sys, urllib.request
doc = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
open(sys.argv[2], "w").write(doc.replace("<eventSubURL>/evt/SwitchPower</eventSubURL>",
    "<eventSubURL>/evt/SwitchPower?timeout_cap=2</eventSubURL>"))
PYEOF
"$bin" subscribe "${url4%/desc.xml}/files/short.xml" SwitchPower --duration 20 --json \
  >"$tmp/subl.json" 2>"$tmp/subl.err" &
pid=$!
wait_for "$tmp/subl.json" '"seq":0'
kill $sim4_pid; wait $sim4_pid 2>/dev/null
for _ in $(seq 1 200); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
wait $pid; rc=$?
check "lost: exit 1 with the reason, long before --duration" \
  bash -c "test $rc -eq 1 && grep -q 'the subscription (lost) failed: UCP_E_CONNECT' '$tmp/subl.err'"
check "lost: state LOST, then the completion with the error" python3 -c '
import json,sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0]["state"] == "ACTIVE" and ev[0]["timeout"] == 2, ev[0]
assert ev[-2]["state"] == "LOST" and "connect" in ev[-2]["detail"].lower(), ev[-2]
d = ev[-1]
assert d["kind"] == "done" and d["status"] == "UCP_E_CONNECT" and d["ended"] == "lost", d' "$tmp/subl.json"

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
