/* server.h - the GENA callback server (UDA 2.0 §4.3, SECURITY.md
 * "Callback server"): libmicrohttpd driven by the control point's own loop
 * (no thread of its own: its epoll fd under a uv_poll), one daemon per
 * local address that routes to a device, one random 128-bit path per
 * subscription. Each NOTIFY is validated (method, path, Host, NT, NTS,
 * SID, SEQ, body cap), parsed and handed to the subscription that owns the
 * path, all on the loop thread: a loop busy with callbacks reads no more
 * NOTIFYs, so devices are slowed by TCP, never answered with a loss. It
 * also keeps the UNSUBSCRIBEs still to send, so that destroying the
 * control point sends them too. */
#ifndef UCP_GENA_SERVER_H
#define UCP_GENA_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "../http/http.h"
#include "gena.h"
#include "upnpcp.h"

/* What a subscription gets for each NOTIFY on its path (loop thread). */
typedef struct ucp__notify {
  char sid[128];
  uint32_t seq;
  ucp__propset *props; /* owned by the receiver from here */
} ucp__notify;

typedef struct ucp__evt_sink {
  void (*on_notify)(void *sub, ucp__notify *n);
} ucp__evt_sink;

enum { UCP__EVT_PATH_LEN = 48 }; /* "/ucp/evt/" + 32 hex + NUL: 42 */

/* Loop thread. Make sure a daemon listens on the local address that
 * routes to `device_ip` (port `port`, 0 = any), register a fresh random
 * path for `sub`, and write the CALLBACK URL ("http://ip:port/path") and
 * the path. UCP_OK, or a negative code with *why set (static text). */
int ucp__evt_register(ucp_cp *cp, const char *device_ip, unsigned port,
                      const ucp__evt_sink *sink, void *sub, char *url,
                      size_t url_cap, char *path, const char **why);
/* Loop thread. The SID the path accepts from now on ("" = any: before the
 * SUBSCRIBE response came). */
void ucp__evt_set_sid(ucp_cp *cp, const char *path, const char *sid);
/* Loop thread. No NOTIFY reaches `sub` after this. */
void ucp__evt_unregister(ucp_cp *cp, const char *path);
/* The record an UNSUBSCRIBE needs, made in advance (a subscription keeps
 * one, so that ending it needs no allocation: out of memory then cannot
 * leave it on the device). NULL when out of memory. */
typedef struct ucp__evt_unsub ucp__evt_unsub;
ucp__evt_unsub *ucp__evt_reserve(ucp_cp *cp, const char *url,
                                 const char *pin_ip);
void ucp__evt_reserve_free(ucp__evt_unsub *u);
/* Loop thread. Send UNSUBSCRIBE for `sid` at `url` in the background,
 * bounded in time; sent before the control point is gone even when it is
 * being destroyed. `reserved` (may be NULL) is used and owned from here. */
void ucp__evt_unsubscribe_later(ucp_cp *cp, const char *url,
                                const char *pin_ip, const char *sid,
                                ucp__evt_unsub *reserved);

/* Loop thread. Take over a SUBSCRIBE still in flight whose subscription
 * is going away: if the device accepts it, UNSUBSCRIBE the SID it gives
 * (the device must not keep a subscription nobody wants). */
void ucp__evt_adopt_subscribe(ucp_cp *cp, ucp__http_req *req,
                              const char *url, const char *pin_ip,
                              ucp__evt_unsub *reserved);

/* The local IPv4 address the kernel would use to reach `ip` (a UDP
 * connect, nothing sent). UCP_OK or UCP_E_NETWORK. */
int ucp__local_addr_for(const char *ip, char *out, size_t cap);

#endif
