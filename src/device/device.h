/* device.h - internal API of the device layer. */
#ifndef UCP_DEVICE_DEVICE_H
#define UCP_DEVICE_DEVICE_H

#include "../xml/description.h"

/* Resolve every URL of `d` against its URLBase or `location` (UDA 2.0
 * §2.3), marking URLs that name another host unusable. UCP_OK or
 * UCP_E_NOMEM. */
int ucp__desc_resolve(ucp_description *d, const char *location);
/* Parser limits from a control point's configuration. */
void ucp__desc_limits_from_cp(ucp_cp *cp, ucp__desc_limits *l);

/* One description download streamed into the parser, for an operation
 * (load, discovery). Loop thread only. `done` runs exactly once unless the
 * fetch is aborted, outside any curl callback; it receives a reference to
 * the description on success (NULL otherwise) and a detail naming the URL
 * on failure; the fetch frees itself after `done` returns. */
typedef struct ucp__desc_fetch ucp__desc_fetch;
typedef void (*ucp__desc_fetch_cb)(void *ctx, int status, int http_status,
                                   ucp_description *d, const char *detail);
typedef void (*ucp__desc_fetch_progress_cb)(void *ctx, int phase,
                                            uint64_t now, uint64_t total);
int ucp__desc_fetch_start(ucp_cp *cp, const char *url, const char *pin_ip,
                          ucp__desc_fetch_cb done,
                          ucp__desc_fetch_progress_cb progress, void *ctx,
                          ucp__desc_fetch **out);
/* Stop and free without calling `done`. NULL is a no-op. */
void ucp__desc_fetch_abort(ucp__desc_fetch *f);

#endif
