#!/usr/bin/env bash
# test_peers.sh - interoperability with real UPnP devices from Debian:
# `upnpcp discover --json` against minidlna (MediaServer:1) and miniupnpd
# (InternetGatewayDevice), each run inside network namespaces this script
# creates (see ../shared/PEERS.md); service control with `upnpcp scpd`,
# `invoke` and `query`: ContentDirectory Browse and ConnectionManager on
# minidlna, a WANIPConnection port mapping added, read and deleted on
# miniupnpd (its nftables chains set up inside the device's namespace);
# and eventing with `upnpcp subscribe`: WANIPConnection events from
# miniupnpd (the initial event, then the one a port mapping causes), and
# minidlna's subscription that never gets an event (UNREACHABLE). Nothing
# touches the machine's own interfaces: every link is created inside a
# namespace of ours, and on exit the processes we started are ended by PID
# and the namespaces deleted.
# Usage: test_peers.sh [UPNPCP_BINARY]
# Exit: 0 all passed, 1 a check failed, 77 skipped (not root, no network
# namespaces, or the Debian packages missing and not installable).
set -u
export LC_ALL=C
bin=${1:-$(dirname "$0")/../build/upnpcp}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
start_s=$SECONDS
passes=0 fails=0

skip() { echo "skipped: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, device daemons)"
[ -x "$bin" ] || { echo "FAIL upnpcp binary not found: $bin"; exit 1; }
for c in ip python3 timeout; do
  command -v $c >/dev/null 2>&1 || skip "$c is missing"
done

# -------------------------------------------------------------- packages
PATH=$PATH:/usr/sbin:/sbin
have_peers() { command -v minidlnad >/dev/null 2>&1 && command -v miniupnpd >/dev/null 2>&1; }
if ! have_peers; then
  echo "# installing minidlna miniupnpd miniupnpd-nftables (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -qq minidlna miniupnpd miniupnpd-nftables >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 &&
        apt-get install -y -qq minidlna miniupnpd miniupnpd-nftables >/dev/null 2>&1; }
  fi
  have_peers || skip "minidlna/miniupnpd are missing and could not be installed"
fi
# miniupnpd-nftables 2.3 adds its rules to chains that nft_init.sh creates
# with nft(8); without nft, AddPortMapping is 501 and those checks are
# skipped (the rest still runs).
if ! command -v nft >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "# installing nftables (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables >/dev/null 2>&1 || true
fi

# ------------------------------------------------------------- cleanup
tmp=$(mktemp -d /tmp/ucp-peers.XXXXXX)
chmod 755 "$tmp" # minidlna may drop privileges; keep its files readable
pids=() namespaces=()
cleanup() {
  local p ns i
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for i in $(seq 1 40); do # at most 2 s for them to go
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.05
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  # Anything still inside our namespaces (e.g. minidlna's scanner child)
  # was started by this script: end it by PID, then delete the namespace.
  for ns in "${namespaces[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  done
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

new_ns() { # name: create it (recorded before use, so cleanup always sees it)
  namespaces+=("$1")
  ip netns add "$1" 2>/dev/null
}

check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@"; then passes=$((passes + 1)); echo "ok   $name"
  else fails=$((fails + 1)); echo "FAIL $name"; fi
}

# Run the JSON checker (it prints "ok ..." / "FAIL ..." lines) and count.
json_checks() { # netns mode file rc
  local out
  out=$(ip netns exec "$1" timeout 20 python3 "$tmp/check.py" "$2" "$3" "$4" 2>&1)
  printf '%s\n' "$out"
  passes=$((passes + $(grep -c '^ok ' <<<"$out")))
  fails=$((fails + $(grep -c '^FAIL ' <<<"$out")))
  grep -qE '^(ok|FAIL) ' <<<"$out" || { fails=$((fails + 1)); echo "FAIL checker ran ($2)"; }
}

discover() { # netns outfile upnpcp-args...: runs upnpcp, prints its exit status
  local ns=$1 out=$2; shift 2
  ip netns exec "$ns" timeout 15 "$bin" discover "$@" >"$out" 2>"$out.err"
  echo $?
}

ctl() { # netns name upnpcp-args...: output in $tmp/ctl-name.{out,err}; prints the exit status
  local ns=$1 name=$2; shift 2
  ip netns exec "$ns" timeout 20 "$bin" "$@" >"$tmp/ctl-$name.out" 2>"$tmp/ctl-$name.err"
  echo $?
}

jcheck() { # name file python [args]: asserts on the JSON document d
  local name=$1 file=$2 py=$3; shift 3
  check "$name" python3 -c "import json,sys
d=json.load(open(sys.argv[1]))
$py" "$file" "$@"
}

note() { echo "# $*"; }

jlines() { # name file python [args]: asserts on the JSON lines ev (a list)
  local name=$1 file=$2 py=$3; shift 3
  check "$name" python3 -c "import json,sys
ev=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]
st=[e for e in ev if e['kind']=='state']
no=[e for e in ev if e['kind']=='notify']
done=ev[-1] if ev else {}
$py" "$file" "$@"
}

wait_line() { # file ERE: bounded wait (5 s) for a line matching
  local i
  for i in $(seq 1 100); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

tcp_ready() { # netns host port pid: bounded wait (5 s) until it accepts
  local i
  for i in $(seq 1 50); do
    kill -0 "$4" 2>/dev/null || return 1 # the daemon is gone
    ip netns exec "$1" timeout 1 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

alive() { kill -0 "$1" 2>/dev/null; }

show() { # a daemon's output, indented, on failure
  echo "# --- $1"; sed 's/^/#   /' "$2" 2>/dev/null | tail -n 40
}

# ------------------------------------------------------ the JSON checker
cat >"$tmp/check.py" <<'PYEOF'
import json, sys, urllib.request

mode, path, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
DLNA_UUID = "uuid:4d696e69-444c-164e-9d41-b827eb0be001"
IGD_UUID = "uuid:4d696e69-5550-6e50-4400-0a4d0000beef"
DLNA_BASE = "http://127.0.0.1:8200/"
IGD_BASE = "http://10.77.0.1:5555/"

def check(name, cond):
    print(("ok   " if cond else "FAIL ") + mode + ": " + name, flush=True)
    return bool(cond)

def note(s):
    print("# " + mode + ": " + s, flush=True)

events, bad = [], 0
for line in open(path, encoding="utf-8", errors="replace"):
    if not line.strip():
        continue
    try:
        events.append(json.loads(line))
    except ValueError:
        bad += 1

check("upnpcp exits 0 (got %d)" % rc, rc == 0)
check("every output line is JSON", bad == 0 and events)
added = [e for e in events if e.get("event") == "added"]
failed = [e for e in events if e.get("event") == "failed"]
complete = [e for e in events if e.get("event") == "complete"]
check("one 'complete' event, the last line",
      len(complete) == 1 and events and events[-1].get("event") == "complete")
check("no 'failed' event %s" % [(e.get("udn"), e.get("detail")) for e in failed],
      not failed)
check("one search id in every event", len({e.get("id") for e in events}) == 1)

def walk(dev):
    yield dev
    for k in dev.get("devices") or []:
        yield from walk(k)

def service(dev, prefix):
    for s in dev.get("services") or []:
        if (s.get("serviceType") or "").startswith(prefix):
            return s
    return None

def url_ok(s, base):
    return (s is not None and not any(k.endswith("Error") for k in s)
            and all((s.get(k) or "").startswith(base)
                    for k in ("controlURL", "SCPDURL", "eventSubURL")))

def soap(url, stype, action):
    body = ('<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"'
            ' s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
            '<u:%s xmlns:u="%s"/></s:Body></s:Envelope>' % (action, stype))
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": 'text/xml; charset="utf-8"',
        "SOAPACTION": '"%s#%s"' % (stype, action)})
    try:
        with urllib.request.urlopen(req, timeout=3) as r:
            return r.status, r.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read(65536).decode("utf-8", "replace")
    except Exception as e:
        return 0, repr(e)

def one(udn):
    mine = [e for e in added if e.get("udn") == udn]
    check("one 'added' event for %s (got %d of %d)" % (udn, len(mine), len(added)),
          len(mine) == 1)
    return mine[0] if mine else {}

if mode == "dlna":
    e = one(DLNA_UUID)
    root = e.get("root") or {}
    check("location %s" % e.get("location"),
          e.get("location") == DLNA_BASE + "rootDesc.xml")
    check("address %s" % e.get("address"), e.get("address") == "127.0.0.1")
    check("SERVER names MiniDLNA", "MiniDLNA" in (e.get("server") or ""))
    check("root.deviceType MediaServer:1 (%s)" % root.get("deviceType"),
          root.get("deviceType") == "urn:schemas-upnp-org:device:MediaServer:1")
    check("root.friendlyName test-minidlna (%s)" % root.get("friendlyName"),
          root.get("friendlyName") == "test-minidlna")
    check("root.UDN is the udn", root.get("UDN") == DLNA_UUID)
    cd = service(root, "urn:schemas-upnp-org:service:ContentDirectory:1")
    cm = service(root, "urn:schemas-upnp-org:service:ConnectionManager:1")
    check("ContentDirectory:1 with URLs under %s (%s)" % (DLNA_BASE, cd and cd.get("controlURL")),
          url_ok(cd, DLNA_BASE))
    check("ConnectionManager:1 with URLs under %s (%s)" % (DLNA_BASE, cm and cm.get("controlURL")),
          url_ok(cm, DLNA_BASE))
    if cd:
        st, body = soap(cd["controlURL"], cd["serviceType"], "GetSystemUpdateID")
        check("ContentDirectory controlURL answers GetSystemUpdateID (HTTP %d)" % st,
              st == 200 and "GetSystemUpdateIDResponse" in body)
    if cm:
        st, body = soap(cm["controlURL"], cm["serviceType"], "GetProtocolInfo")
        check("ConnectionManager controlURL answers GetProtocolInfo (HTTP %d)" % st,
              st == 200 and "GetProtocolInfoResponse" in body)
    others = [x.get("udn") for x in added if x.get("udn") != DLNA_UUID]
    check("nothing else found %s" % others, not others)

elif mode == "dlna-unicast":
    # minidlna 1.3.0 binds its SSDP socket to 239.255.255.250:1900 (Linux),
    # so a unicast M-SEARCH to 127.0.0.1:1900 never reaches it: only check
    # that the unicast-only search runs and ends cleanly.
    note("%d device(s) answered the unicast M-SEARCH %s"
         % (len(added), [x.get("udn") for x in added]))
    if added:
        check("what answered is the minidlna", all(x.get("udn") == DLNA_UUID for x in added))

elif mode in ("igd", "igd-unicast"):
    e = one(IGD_UUID)
    root = e.get("root") or {}
    check("address %s" % e.get("address"), e.get("address") == "10.77.0.1")
    check("location %s" % e.get("location"), e.get("location") == IGD_BASE + "rootDesc.xml")
    check("SERVER names MiniUPnPd", "MiniUPnPd" in (e.get("server") or ""))
    check("root.deviceType InternetGatewayDevice:1/2 (%s)" % root.get("deviceType"),
          root.get("deviceType") in ("urn:schemas-upnp-org:device:InternetGatewayDevice:1",
                                     "urn:schemas-upnp-org:device:InternetGatewayDevice:2"))
    check("root.UDN is the udn", root.get("UDN") == IGD_UUID)
    if mode == "igd":
        def kind(d, t):
            return (d.get("deviceType") or "").startswith("urn:schemas-upnp-org:device:" + t + ":")
        wan = [d for d in root.get("devices") or [] if kind(d, "WANDevice")]
        check("embedded WANDevice", len(wan) == 1)
        wcd = [d for d in (wan[0].get("devices") or []) if kind(d, "WANConnectionDevice")] if wan else []
        check("embedded WANDevice/WANConnectionDevice", len(wcd) == 1)
        ipc = service(wcd[0], "urn:schemas-upnp-org:service:WANIPConnection:") if wcd else None
        check("WANIPConnection with URLs under %s (%s)" % (IGD_BASE, ipc and ipc.get("controlURL")),
              url_ok(ipc, IGD_BASE))
        if ipc:
            st, body = soap(ipc["controlURL"], ipc["serviceType"], "GetExternalIPAddress")
            check("WANIPConnection controlURL answers GetExternalIPAddress (HTTP %d)" % st,
                  st == 200 and "GetExternalIPAddressResponse" in body)
        udns = [d.get("UDN") for d in walk(root)]
        check("every UDN in the tree is distinct %s" % udns, len(set(udns)) == len(udns))
    others = [x.get("udn") for x in added if x.get("udn") != IGD_UUID]
    check("nothing else found %s" % others, not others)

elif mode == "igd-all":
    roots = {(x.get("root") or {}).get("UDN") for x in added}
    note("ssdp:all reported %s" % [x.get("udn") for x in added])
    check("exactly one device: one root UDN, the configured one (%s)" % sorted(map(str, roots)),
          roots == {IGD_UUID})
    udns = [x.get("udn") for x in added]
    check("each UDN reported once", len(udns) == len(set(udns)))
    check("the root device itself is reported", IGD_UUID in udns)
    tree = {d.get("UDN") for x in added[:1] for d in walk(x.get("root") or {})}
    check("every UDN reported is a device of that tree", set(udns) <= tree)
    check("all from 10.77.0.1, one LOCATION",
          {(x.get("address"), x.get("location")) for x in added}
          == {("10.77.0.1", IGD_BASE + "rootDesc.xml")})

elif mode == "igd-rootdevice":
    e = one(IGD_UUID)
    check("exactly one root device", len(added) == 1)
else:
    check("known mode", False)
PYEOF

# =========================================== 1. minidlna (MediaServer:1)
echo "# minidlna: MediaServer:1 on the loopback of its own namespace"
dns=ucp-dlna-$$
if ! new_ns "$dns"; then
  skip "cannot create a network namespace (ip netns add)"
fi
ip -n "$dns" link set lo up &&
  ip -n "$dns" link set lo multicast on &&
  ip -n "$dns" route add 239.0.0.0/8 dev lo
check "minidlna namespace: lo up, multicast routed" test $? -eq 0

d=$tmp/dlna
mkdir -p "$d/media" "$d/db" "$d/log"
python3 - "$d/media" <<'PYEOF'
import sys, wave
for i in (1, 2):  # two tiny valid WAV files (0.1 s of silence)
    w = wave.open("%s/tone%d.wav" % (sys.argv[1], i), "wb")
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    w.writeframes(b"\0\0" * 800); w.close()
PYEOF
cat >"$d/minidlna.conf" <<EOF
media_dir=A,$d/media
port=8200
network_interface=lo
friendly_name=test-minidlna
db_dir=$d/db
log_dir=$d/log
inotify=no
notify_interval=60
uuid=4d696e69-444c-164e-9d41-b827eb0be001
EOF
ip netns exec "$dns" minidlnad -f "$d/minidlna.conf" -S -P "$d/minidlna.pid" \
  >"$d/minidlna.out" 2>&1 </dev/null &
dlna_pid=$!
pids+=("$dlna_pid")
tcp_ready "$dns" 127.0.0.1 8200 "$dlna_pid" && alive "$dlna_pid"
rc=$?
check "minidlnad is up, port 8200 answers" test $rc -eq 0
if [ $rc -ne 0 ]; then
  show "minidlnad output" "$d/minidlna.out"
  show "minidlna.log" "$d/log/minidlna.log"
else
  rc=$(discover "$dns" "$tmp/dlna.json" --json --timeout 4 --mx 1 --iface lo \
         --st urn:schemas-upnp-org:device:MediaServer:1)
  json_checks "$dns" dlna "$tmp/dlna.json" "$rc"
  rc=$(discover "$dns" "$tmp/dlna-u.json" --json --timeout 3 --mx 1 \
         --unicast 127.0.0.1:1900 --st urn:schemas-upnp-org:device:MediaServer:1)
  json_checks "$dns" dlna-unicast "$tmp/dlna-u.json" "$rc"
  check "minidlnad still running" alive "$dlna_pid"

  # ------------------------------------------------- control: minidlna
  du=http://127.0.0.1:8200/rootDesc.xml
  rc=$(ctl "$dns" cd-scpd scpd "$du" ContentDirectory --json)
  jcheck "minidlna: scpd ContentDirectory lists Browse and its arguments (rc $rc)" \
    "$tmp/ctl-cd-scpd.out" '
a = {x["name"]: x for x in d["actions"]}
assert d["status"] == "UCP_OK" and "Browse" in a and "GetSystemUpdateID" in a, list(a)
g = [(x["direction"], x["name"]) for x in a["Browse"]["arguments"]]
assert g[:6] == [("in", "ObjectID"), ("in", "BrowseFlag"), ("in", "Filter"),
                 ("in", "StartingIndex"), ("in", "RequestedCount"), ("in", "SortCriteria")], g
assert ("out", "Result") in g and ("out", "NumberReturned") in g and ("out", "TotalMatches") in g'
  rc=$(ctl "$dns" browse invoke "$du" ContentDirectory Browse ObjectID=0 \
         BrowseFlag=BrowseDirectChildren 'Filter=*' StartingIndex=0 RequestedCount=10 \
         SortCriteria= --json)
  check "minidlna: invoke Browse exits 0 (rc $rc)" test "$rc" -eq 0
  jcheck "minidlna: Browse: Result is DIDL-Lite, NumberReturned/TotalMatches integers" \
    "$tmp/ctl-browse.out" '
o = {x["name"]: x for x in d["out"]}
assert d["status"] == "UCP_OK" and d["httpStatus"] == 200, d
assert "<DIDL-Lite" in o["Result"]["value"], o["Result"]
n, t = o["NumberReturned"], o["TotalMatches"]
assert n["type"] == t["type"] == "ui4" and n["value"].isdigit() and t["value"].isdigit(), (n, t)
assert int(n["value"]) >= 1 and o["Result"]["value"].count("<container ") == int(n["value"]), n
print("# minidlna: Browse(0): NumberReturned %s, TotalMatches %s" % (n["value"], t["value"]))'
  rc=$(ctl "$dns" sysupd invoke "$du" ContentDirectory GetSystemUpdateID)
  check "minidlna: GetSystemUpdateID prints an integer Id (rc $rc: $(head -c 80 "$tmp/ctl-sysupd.out"))" \
    grep -qxE 'Id = [0-9]+' "$tmp/ctl-sysupd.out"
  rc=$(ctl "$dns" protoinfo invoke "$du" ConnectionManager GetProtocolInfo --json)
  jcheck "minidlna: GetProtocolInfo: Source has http-get (rc $rc)" "$tmp/ctl-protoinfo.out" '
o = {x["name"]: x["value"] for x in d["out"]}
assert d["status"] == "UCP_OK" and "http-get:" in o["Source"] and "Sink" in o, o'
  # DEVICE as a friendly name: an SSDP search (multicast on this namespace's lo).
  rc=$(ctl "$dns" byname invoke test-minidlna ContentDirectory GetSystemUpdateID --iface lo --json)
  jcheck "minidlna: found by its friendly name test-minidlna (rc $rc)" "$tmp/ctl-byname.out" '
assert d["status"] == "UCP_OK" and d["UDN"] == "uuid:4d696e69-444c-164e-9d41-b827eb0be001", d'
  # QueryStateVariable (UDA 1.0, deprecated): whatever minidlna answers must
  # come out as a clean protocol answer, a value or a UPnPError.
  rc=$(ctl "$dns" dlna-query query "$du" ContentDirectory SystemUpdateID)
  note "minidlna: query SystemUpdateID -> exit $rc: $(cat "$tmp/ctl-dlna-query.out" "$tmp/ctl-dlna-query.err" | head -n 1)"
  check "minidlna: query answers a value or a UPnPError" \
    bash -c "grep -qE '^SystemUpdateID = [0-9]+\$' '$tmp/ctl-dlna-query.out' ||
             { test $rc -eq 1 && grep -q 'UPnPError [0-9]' '$tmp/ctl-dlna-query.err'; }"
  check "minidlnad still running after control" alive "$dlna_pid"

  # ------------------------------------------------- events: minidlna
  # minidlna 1.3.0 accepts SUBSCRIBE (200 + SID) but never sends a NOTIFY
  # (PEERS.md): the control point must say so (UNREACHABLE), not wait
  # silently.
  rc=$(ctl "$dns" sub-dlna subscribe "$du" ContentDirectory --duration 3 --check-ms 1000 --json)
  jlines "minidlna: subscribe ContentDirectory: ACTIVE, then UNREACHABLE after 1000 ms (rc $rc)" \
    "$tmp/ctl-sub-dlna.out" '
assert int(sys.argv[2]) == 0, sys.argv[2]
assert st and st[0]["state"] == "ACTIVE" and st[0]["sid"].startswith("uuid:"), ev
u = [e for e in st if e["state"] == "UNREACHABLE"]
assert len(u) == 1 and u[0]["sid"] == st[0]["sid"], st
assert "no initial event within 1000 ms" in u[0]["detail"], u[0]
assert "http://127.0.0.1:" in u[0]["detail"], u[0]
print("# minidlna: granted %s s; %s" % (st[0]["timeout"], u[0]["detail"][:100]))' "$rc"
  jlines "minidlna: ... no event came, and the UNSUBSCRIBE at the end was accepted" \
    "$tmp/ctl-sub-dlna.out" '
assert not no, no
assert done.get("kind") == "done" and done["status"] == "UCP_OK" and done["ended"] == "duration", done
assert done["httpStatus"] == 200 and done["events"] == 0, done'
  check "minidlnad still running after eventing" alive "$dlna_pid"
fi

# ========================== 2. miniupnpd (InternetGatewayDevice), 2 namespaces
# The WAN side: miniupnpd 2.3.1 will not use a reserved or private external
# address (203.0.113.5 of PEERS.md is TEST-NET-3): GetExternalIPAddress then
# answers "" and AddPortMapping 501, and ext_ip= refuses it at start. So
# the WAN address is a public one, which is harmless here: wan0/wan1 are a
# veth pair inside the device's namespace, connected to nothing else.
wan_ip=192.0.3.5
echo "# miniupnpd: InternetGatewayDevice on lan0 10.77.0.1 (WAN $wan_ip), control point on lan1 10.77.0.2"
gns=ucp-igd-$$ cns=ucp-cp-$$
new_ns "$gns" && new_ns "$cns"
check "IGD and control-point namespaces created" test $? -eq 0
# Both veth pairs are created inside the device namespace (lan1 is then
# moved to the control point's): none ever exists in the initial namespace.
igd_links() {
  ip -n "$gns" link add lan0 type veth peer name lan1 netns "$cns" &&
    ip -n "$gns" link add wan0 type veth peer name wan1 &&
    ip -n "$gns" addr add 10.77.0.1/24 dev lan0 &&
    ip -n "$gns" addr add $wan_ip/24 dev wan0 &&
    ip -n "$cns" addr add 10.77.0.2/24 dev lan1 &&
    ip -n "$gns" link set lan0 multicast on &&
    ip -n "$cns" link set lan1 multicast on || return 1
  local l
  for l in lo lan0 wan0 wan1; do ip -n "$gns" link set "$l" up || return 1; done
  for l in lo lan1; do ip -n "$cns" link set "$l" up || return 1; done
  ip -n "$gns" route add 239.0.0.0/8 dev lan0 &&
    ip -n "$cns" route add 239.0.0.0/8 dev lan1
}
igd_links
check "veth pairs lan0/lan1 and wan0/wan1 up, multicast routed" test $? -eq 0

g=$tmp/igd
mkdir -p "$g"
cat >"$g/miniupnpd.conf" <<EOF
ext_ifname=wan0
listening_ip=lan0
port=5555
enable_natpmp=no
enable_upnp=yes
secure_mode=no
system_uptime=yes
uuid=4d696e69-5550-6e50-4400-0a4d0000beef
allow 1024-65535 0.0.0.0/0 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
# The chains miniupnpd-nftables adds its rules to, as its nft_init.sh makes
# them (default names), in the device's namespace only.
have_nft=0
if command -v nft >/dev/null 2>&1; then
  cat >"$g/nft.rules" <<'NFTEOF'
table inet filter {
  chain forward { type filter hook forward priority 0; policy drop; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
NFTEOF
  ip netns exec "$gns" nft -f "$g/nft.rules" && have_nft=1
  check "nftables chains for miniupnpd, in the device namespace" test $have_nft = 1
else
  note "nft is missing: the port-mapping checks are skipped"
fi
ip netns exec "$gns" miniupnpd -f "$g/miniupnpd.conf" -d -P "$g/miniupnpd.pid" \
  >"$g/miniupnpd.out" 2>&1 </dev/null &
igd_pid=$!
pids+=("$igd_pid")
tcp_ready "$cns" 10.77.0.1 5555 "$igd_pid" && alive "$igd_pid"
rc=$?
check "miniupnpd is up, 10.77.0.1:5555 answers from the control point" test $rc -eq 0
if [ $rc -ne 0 ]; then
  show "miniupnpd output" "$g/miniupnpd.out"
else
  rc=$(discover "$cns" "$tmp/igd.json" --json --timeout 4 --mx 1 --iface lan1 \
         --st urn:schemas-upnp-org:device:InternetGatewayDevice:1)
  json_checks "$cns" igd "$tmp/igd.json" "$rc"
  rc=$(discover "$cns" "$tmp/igd-all.json" --json --timeout 4 --mx 1 --iface lan1 \
         --st ssdp:all)
  json_checks "$cns" igd-all "$tmp/igd-all.json" "$rc"
  rc=$(discover "$cns" "$tmp/igd-root.json" --json --timeout 3 --mx 1 --iface lan1 \
         --st upnp:rootdevice)
  json_checks "$cns" igd-rootdevice "$tmp/igd-root.json" "$rc"
  rc=$(discover "$cns" "$tmp/igd-u.json" --json --timeout 3 --mx 1 \
         --unicast 10.77.0.1:1900 --st urn:schemas-upnp-org:device:InternetGatewayDevice:1)
  json_checks "$cns" igd-unicast "$tmp/igd-u.json" "$rc"
  check "miniupnpd still running" alive "$igd_pid"

  # ------------------------------------------------ control: miniupnpd
  gu=http://10.77.0.1:5555/rootDesc.xml
  rc=$(ctl "$cns" ipc-scpd scpd "$gu" WANIPConnection:1) # :2 does what :1 did
  check "miniupnpd: scpd WANIPConnection:1 lists AddPortMapping (rc $rc)" \
    grep -qx '  AddPortMapping' "$tmp/ctl-ipc-scpd.out"
  rc=$(ctl "$cns" extip invoke "$gu" WANIPConnection GetExternalIPAddress)
  check "miniupnpd: GetExternalIPAddress is $wan_ip (rc $rc: $(head -c 80 "$tmp/ctl-extip.out"))" \
    test "$(cat "$tmp/ctl-extip.out")" = "NewExternalIPAddress = $wan_ip"
  rc=$(ctl "$cns" connst query "$gu" WANIPConnection ConnectionStatus)
  check "miniupnpd: query ConnectionStatus = Connected (rc $rc)" \
    test "$(cat "$tmp/ctl-connst.out")" = "ConnectionStatus = Connected"
  rc=$(ctl "$cns" q-extip query "$gu" WANIPConnection ExternalIPAddress)
  note "miniupnpd: query ExternalIPAddress -> exit $rc: $(cat "$tmp/ctl-q-extip.out" "$tmp/ctl-q-extip.err" | head -n 1)"
  check "miniupnpd: query of another variable answers a value or a UPnPError" \
    bash -c "grep -q '^ExternalIPAddress = ' '$tmp/ctl-q-extip.out' ||
             { test $rc -eq 1 && grep -q 'UPnPError [0-9]' '$tmp/ctl-q-extip.err'; }"
  map=(NewRemoteHost= NewExternalPort=40000 NewProtocol=TCP)
  if [ $have_nft = 1 ]; then
    rc=$(ctl "$cns" add invoke "$gu" WANIPConnection AddPortMapping "${map[@]}" \
           NewInternalPort=40000 NewInternalClient=10.77.0.2 NewEnabled=1 \
           NewPortMappingDescription=upnpcp-test NewLeaseDuration=0)
    check "miniupnpd: AddPortMapping 40000/TCP -> 10.77.0.2:40000 exits 0 (rc $rc)" test "$rc" -eq 0
    rc=$(ctl "$cns" get invoke "$gu" WANIPConnection GetSpecificPortMappingEntry "${map[@]}" --json)
    jcheck "miniupnpd: GetSpecificPortMappingEntry: NewInternalClient 10.77.0.2 (rc $rc)" \
      "$tmp/ctl-get.out" '
o = {x["name"]: x for x in d["out"]}
assert d["status"] == "UCP_OK", d
assert o["NewInternalClient"]["value"] == "10.77.0.2", o
assert o["NewInternalPort"] == {"name": "NewInternalPort", "value": "40000", "type": "ui2"}, o
assert o["NewEnabled"]["value"] == "1" and o["NewEnabled"]["type"] == "boolean", o
assert o["NewPortMappingDescription"]["value"] == "upnpcp-test", o
print("# miniupnpd: NewLeaseDuration 0 asked, %s granted" % o["NewLeaseDuration"]["value"])'
    rc=$(ctl "$cns" count query "$gu" WANIPConnection PortMappingNumberOfEntries)
    check "miniupnpd: query PortMappingNumberOfEntries = 1 with one mapping (rc $rc)" \
      test "$(cat "$tmp/ctl-count.out")" = "PortMappingNumberOfEntries = 1"
    rc=$(ctl "$cns" del invoke "$gu" WANIPConnection DeletePortMapping "${map[@]}")
    check "miniupnpd: DeletePortMapping exits 0 (rc $rc)" test "$rc" -eq 0
    rc=$(ctl "$cns" get2 invoke "$gu" WANIPConnection GetSpecificPortMappingEntry "${map[@]}")
    check "miniupnpd: GetSpecificPortMappingEntry after the delete exits 1 (rc $rc)" test "$rc" -eq 1
    check "miniupnpd: ... UPnPError 714: NoSuchEntryInArray" \
      grep -q "UPnPError 714: NoSuchEntryInArray" "$tmp/ctl-get2.err"
  fi
  # DEVICE as the UDN of the embedded WANConnectionDevice (SSDP on lan1).
  ip netns exec "$cns" timeout 15 "$bin" describe "$gu" --json >"$tmp/igd-desc.json" 2>/dev/null
  wcd=$(python3 -c '
import json,sys
def walk(d):
    yield d
    for k in d.get("devices") or []: yield from walk(k)
for d in walk(json.load(open(sys.argv[1]))["root"]):
    if ":WANConnectionDevice:" in (d.get("deviceType") or ""): print(d["UDN"])' \
    "$tmp/igd-desc.json" 2>/dev/null)
  check "miniupnpd: the WANConnectionDevice's UDN ($wcd)" test -n "$wcd"
  rc=$(ctl "$cns" byudn invoke "$wcd" WANIPConnection GetExternalIPAddress --iface lan1 --json)
  jcheck "miniupnpd: found by the embedded device's UDN (rc $rc)" "$tmp/ctl-byudn.out" '
assert d["status"] == "UCP_OK" and d["UDN"] == sys.argv[2], d
assert d["out"][0]["value"] == sys.argv[3], d' "$wcd" "$wan_ip"
  check "miniupnpd still running after control" alive "$igd_pid"

  # ------------------------------------------------ events: miniupnpd
  # The control point is in its own namespace (10.77.0.2 on lan1): its
  # callback URL names the address the SUBSCRIBE comes from, which is the
  # only one miniupnpd accepts (CallStranger). An AddPortMapping from the
  # same namespace while subscribed changes PortMappingNumberOfEntries.
  ip netns exec "$cns" timeout 20 "$bin" subscribe "$gu" WANIPConnection --duration 3 --json \
    >"$tmp/sub-igd.json" 2>"$tmp/sub-igd.err" &
  sub_pid=$!
  wait_line "$tmp/sub-igd.json" '"seq":0'
  check "miniupnpd: subscribe WANIPConnection: the initial event came" test $? -eq 0
  map2=(NewRemoteHost= NewExternalPort=40001 NewProtocol=TCP)
  if [ $have_nft = 1 ]; then
    rc=$(ctl "$cns" add2 invoke "$gu" WANIPConnection AddPortMapping "${map2[@]}" \
           NewInternalPort=40001 NewInternalClient=10.77.0.2 NewEnabled=1 \
           NewPortMappingDescription=upnpcp-events NewLeaseDuration=0)
    check "miniupnpd: AddPortMapping 40001/TCP while subscribed exits 0 (rc $rc)" test "$rc" -eq 0
  fi
  wait $sub_pid; rc=$?
  jlines "miniupnpd: subscribe: ACTIVE, the callback on 10.77.0.2 (rc $rc)" "$tmp/sub-igd.json" '
assert int(sys.argv[2]) == 0, sys.argv[2]
a = st[0]
assert a["state"] == "ACTIVE" and a["sid"].startswith("uuid:") and a["timeout"] > 0, a
assert "events to http://10.77.0.2:" in a["detail"], a
assert [e["state"] for e in st] == ["ACTIVE"], st
print("# miniupnpd: %s granted %s s" % (a["sid"], a["timeout"]))' "$rc"
  jlines "miniupnpd: the initial event (SEQ 0): ExternalIPAddress $wan_ip, ConnectionStatus Connected, typed" \
    "$tmp/sub-igd.json" '
e = no[0]
v = {x["name"]: x for x in e["vars"]}
assert e["seq"] == 0 and e["sid"] == st[0]["sid"], e
assert v["ExternalIPAddress"] == {"name": "ExternalIPAddress", "value": sys.argv[2], "type": "string"}, v
assert v["ConnectionStatus"]["value"] == "Connected", v
assert v["PortMappingNumberOfEntries"]["type"] == "ui2" and v["PortMappingNumberOfEntries"]["value"].isdigit(), v
print("# miniupnpd: initial event: %s" % ", ".join("%s=%s" % (x["name"], x["value"]) for x in e["vars"]))' \
    "$wan_ip"
  if [ $have_nft = 1 ]; then
    jlines "miniupnpd: a later event (SEQ >= 1) with PortMappingNumberOfEntries one more" \
      "$tmp/sub-igd.json" '
n0 = int({x["name"]: x["value"] for x in no[0]["vars"]}["PortMappingNumberOfEntries"])
later = [e for e in no[1:] if {x["name"]: x["value"] for x in e["vars"]}.get("PortMappingNumberOfEntries") == str(n0 + 1)]
assert later and later[0]["seq"] >= 1, no
assert [e["seq"] for e in no] == list(range(len(no))), no'
    rc=$(ctl "$cns" del2 invoke "$gu" WANIPConnection DeletePortMapping "${map2[@]}")
    check "miniupnpd: DeletePortMapping 40001/TCP exits 0 (rc $rc)" test "$rc" -eq 0
  fi
  jlines "miniupnpd: unsubscribed at the end of --duration (UCP_OK, HTTP 200)" "$tmp/sub-igd.json" '
assert done.get("kind") == "done" and done["status"] == "UCP_OK" and done["ended"] == "duration", done
assert done["httpStatus"] == 200 and done["events"] == len(no), done'
  check "miniupnpd still running after eventing" alive "$igd_pid"
  alive "$igd_pid" || show "miniupnpd output" "$g/miniupnpd.out"
fi

if [ $fails -ne 0 ]; then
  for f in "$tmp"/*.json; do
    [ -s "$f.err" ] && show "stderr of upnpcp ($(basename "$f"))" "$f.err"
  done
  for f in "$tmp"/sub-*.json "$tmp"/ctl-sub-*.out; do
    [ -s "$f" ] && show "output of upnpcp subscribe ($(basename "$f"))" "$f"
  done
  for f in "$tmp"/ctl-*.err; do
    [ -s "$f" ] && show "stderr of upnpcp ($(basename "$f" .err))" "$f"
  done
fi
echo "# $((SECONDS - start_s)) s"
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
