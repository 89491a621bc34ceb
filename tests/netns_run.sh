#!/usr/bin/env bash
# netns_run.sh CMD... - run CMD inside a new, private network namespace
# whose loopback carries multicast (239.0.0.0/8 and IPv6 ff00::/8): the
# only place where tests may send SSDP multicast. Nothing leaves it.
# Exits 77 (skipped) when namespaces are not available (not root).
if ! unshare -n true 2>/dev/null; then
  echo "skipped: cannot create a network namespace (needs root)"
  exit 77
fi
exec unshare -n bash -c '
  ip link set lo up && ip link set lo multicast on &&
  ip route add 239.0.0.0/8 dev lo &&
  { ip -6 route add local ff02::c dev lo table local 2>/dev/null || true; } &&
  exec "$@"' netns_run "$@"
