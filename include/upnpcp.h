/*
 * upnpcp.h - the public API of libupnpcp, an asynchronous UPnP control point.
 *
 * Every operation is started by a call that returns at once with a 64-bit
 * request id, reports progress while it runs, can be cancelled by that id at
 * any time, and ends with exactly one outcome (see "The contract" below and
 * docs/contract.md).
 *
 * The contract, in short:
 *  - A start call never blocks on the network. It returns UCP_OK and writes a
 *    non-zero request id, or returns a negative code, issues no id and calls
 *    no callback. Ids are never reused during the life of a control point.
 *  - For every id issued exactly one of these happens: its completion
 *    callback runs exactly once, or ucp_cancel() returns UCP_OK for it.
 *  - Callbacks are never called from inside the start call, even for an
 *    immediate failure: they are delivered on a later turn of the loop.
 *  - Callbacks of one control point run one at a time on its loop thread.
 *  - Results handed to callbacks are const and borrowed for the duration of
 *    the callback; take a reference (ucp_description_ref) to keep one.
 *  - User data is always the last callback parameter.
 */
#ifndef UPNPCP_H
#define UPNPCP_H

#include <stddef.h>
#include <stdint.h>

#include "upnpcp_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(UCP_STATIC_DEFINE)
#define UCP_EXTERN
#elif defined(UCP_BUILDING_LIBRARY)
#define UCP_EXTERN __attribute__((visibility("default")))
#else
#define UCP_EXTERN
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * One table, generating the enum, ucp_strerror() and ucp_err_name().
 * Remote errors (HTTP status, UPnPError code and text) are never status
 * codes: they live in the result (ucp_result_http_status() and friends).
 */
#define UCP_ERRNO_MAP(X)                                                     \
  X(OK, 0, "success")                                                        \
  X(E_FAIL, -1, "too late to cancel: the completion is already under way")   \
  X(E_INVALIDARG, -2, "invalid argument, or unknown or finished request id") \
  X(E_NOMEM, -3, "out of memory")                                            \
  X(E_LIMIT, -4, "a configured limit was reached")                           \
  X(E_TIMEOUT, -5, "the operation's deadline expired")                       \
  X(E_SHUTDOWN, -6, "the control point is shutting down")                    \
  X(E_URL, -7, "malformed or unsupported URL")                               \
  X(E_POLICY, -8, "refused by the URL/address security policy")              \
  X(E_CONNECT, -9, "could not connect to the device")                        \
  X(E_NETWORK, -10, "network error during the exchange")                     \
  X(E_HTTP, -11, "the device answered with an HTTP error status")            \
  X(E_TOO_LARGE, -12, "a document or header exceeded its size cap")          \
  X(E_XML, -13, "malformed XML")                                             \
  X(E_DOCTYPE, -14, "XML with a DOCTYPE (refused: entity attacks)")          \
  X(E_PROTOCOL, -15, "the document violates the UPnP protocol")              \
  X(E_THREAD, -16, "called from a thread or context where it is not allowed") \
  X(E_INTERNAL, -17, "internal error (a bug in libupnpcp)")                \
  X(E_FAULT, -18, "the device answered with a SOAP fault (UPnPError)")       \
  X(E_NOT_FOUND, -19, "no such action, argument, state variable or service")

typedef enum ucp_error {
#define UCP__ERR_ENUM(name, code, text) UCP_##name = (code),
  UCP_ERRNO_MAP(UCP__ERR_ENUM)
#undef UCP__ERR_ENUM
  UCP__ERR_MIN = -19
} ucp_error;

/** Human-readable text for any code; "unknown error" for codes not in the
 *  table. Never NULL; the string is static. */
UCP_EXTERN const char *ucp_strerror(int code);
/** The symbolic name, e.g. "UCP_E_TIMEOUT"; "UCP_E_UNKNOWN" otherwise. */
UCP_EXTERN const char *ucp_err_name(int code);
/** Why the last start call made on this thread failed, naming what was
 *  wrong and where (e.g. "argument 'newTargetValue' of SetTarget: not a
 *  boolean (0, 1, true, false, yes, no)"); "" after a start call that
 *  succeeded. Thread-local; valid until the next start call on this
 *  thread. Never NULL. */
UCP_EXTERN const char *ucp_last_error_detail(void);

/* ------------------------------------------------------------------------ */
/* Version                                                                  */
/* ------------------------------------------------------------------------ */

/** Run-time version check: returns the library's version string when it is
 *  at least `least` (e.g. "0.1.0"), or NULL when it is older. NULL `least`
 *  always returns the version. */
UCP_EXTERN const char *ucp_version(const char *least);

/* ------------------------------------------------------------------------ */
/* Control point                                                            */
/* ------------------------------------------------------------------------ */

typedef struct ucp_cp ucp_cp;
typedef struct ucp_cp_opts ucp_cp_opts;

/** Options for ucp_cp_new(). Create, set, pass, free (the control point
 *  copies what it needs). Setters return UCP_OK or UCP_E_INVALIDARG. */
UCP_EXTERN ucp_cp_opts *ucp_cp_opts_new(void);
UCP_EXTERN void ucp_cp_opts_free(ucp_cp_opts *o);
/** Attach to the caller's libuv loop (a `uv_loop_t *`, passed as void * so
 *  this header does not need uv.h). Callbacks then run on the thread that
 *  runs that loop. Default: the control point runs its own loop thread,
 *  which starts with SIGPIPE blocked. On a loop of the caller's, requests
 *  are sent with MSG_NOSIGNAL, but the rest of a request the socket did not
 *  take at once goes through libuv, which (like libuv everywhere) can raise
 *  SIGPIPE if the device resets the connection in between: ignore or
 *  block SIGPIPE in that thread, as libuv asks of every program. */
UCP_EXTERN int ucp_cp_opts_set_loop(ucp_cp_opts *o, void *uv_loop);

/** Configurable bounds (CONTRACT §7). Each has a safe default. */
typedef enum ucp_limit {
  UCP_LIMIT_PENDING_OPS,     /* operations started, not finished: 65536 */
  UCP_LIMIT_HTTP_ACTIVE,     /* HTTP transfers running at once: 64; the
                                rest wait, counted as pending. A request
                                waiting for one of its host's connections
                                (UCP_LIMIT_HTTP_PER_HOST) holds no slot,
                                so a busy or dead device does not hold up
                                the others. Plain http://a.b.c.d URLs: in
                                order per host, free slots going round the
                                hosts that wait, one request per turn.
                                Others (host names, IPv6; through curl):
                                one queue in order of start, passing over
                                requests whose host is busy */
  UCP_LIMIT_HTTP_PER_HOST,   /* connections per host: 8 */
  UCP_LIMIT_DESC_BYTES,      /* device description body: 1 MiB */
  UCP_LIMIT_HEADER_BYTES,    /* all response headers together: 64 KiB */
  UCP_LIMIT_XML_DEPTH,       /* element nesting: 32 */
  UCP_LIMIT_XML_TEXT,        /* one element's text: 8 KiB */
  UCP_LIMIT_DEVICES,         /* devices in one description tree: 256 */
  UCP_LIMIT_SERVICES,        /* services in one description tree: 1024 */
  UCP_LIMIT_SEARCH_DEVICES,  /* devices one search reports: 4096 */
  UCP_LIMIT_SEARCH_PER_HOST, /* ... of them from one address: 256 */
  UCP_LIMIT_SCPD_CACHE,      /* SCPDs kept in the cache: 1024 */
  UCP_LIMIT_SOAP_BYTES,      /* a SOAP response body: 1 MiB */
  UCP_LIMIT_SUBSCRIPTIONS,   /* subscriptions at once: 4096 */
  UCP_LIMIT_NOTIFY_BYTES,    /* a NOTIFY body: 256 KiB (413 beyond) */
  UCP_LIMIT_CALLBACK_CONNS,  /* callback server connections: 256 */
  UCP_LIMIT__COUNT
} ucp_limit;
UCP_EXTERN int ucp_cp_opts_set_limit(ucp_cp_opts *o, ucp_limit which,
                                     uint64_t value);

/** Operation kinds, for per-kind default deadlines. */
typedef enum ucp_op_kind {
  UCP_OP_LOAD_DESCRIPTION = 1,
  UCP_OP_SEARCH = 2,
  UCP_OP_SCPD_DOWNLOAD = 3,
  UCP_OP_INVOKE = 4,
  UCP_OP_QUERY = 5,
  UCP_OP_SUBSCRIBE = 6,
  UCP_OP__COUNT
} ucp_op_kind;
/** Default deadline in milliseconds for one kind (description: 10000,
 *  search: 60000, SCPD: 10000, invoke and query: 30000, UDA 2.0 §3.2.1;
 *  subscribe: 30000 for the first SUBSCRIBE). */
UCP_EXTERN int ucp_cp_opts_set_deadline(ucp_cp_opts *o, ucp_op_kind kind,
                                        uint64_t ms);

/**
 * Create a control point. Returns UCP_OK and sets *out, or a negative code.
 * Without a loop in `opts` (or with NULL opts) it starts its own loop thread.
 * Callable from any thread. libuv aborts if one of its descriptors is 0, 1
 * or 2, so when standard input, output or error is closed, this opens
 * /dev/null on it first (as daemons do).
 */
UCP_EXTERN int ucp_cp_new(const ucp_cp_opts *opts, ucp_cp **out);

/**
 * Destroy the control point. Every pending operation counts as successfully
 * cancelled: none of its callbacks runs after this returns.
 *
 * - Own loop thread: callable from any thread but the loop thread; returns
 *   once the loop thread has ended, every socket, timer and byte released.
 * - Caller's loop: call it on the loop thread (outside any uv_run() is fine).
 *   It releases the operations at once and closes its handles; the last
 *   bytes are freed by close callbacks during the caller's next uv_run(), after
 *   which uv_loop_close() returns 0. Called from another thread it waits
 *   until the caller's loop has run the teardown.
 * - From inside one of this control point's own callbacks: the teardown is
 *   deferred until that callback returns; no further callback runs.
 * Returns UCP_OK, or UCP_E_INVALIDARG for NULL.
 */
UCP_EXTERN int ucp_cp_free(ucp_cp *cp);

/* ------------------------------------------------------------------------ */
/* Requests: ids, cancel, progress, results                                 */
/* ------------------------------------------------------------------------ */

/**
 * Cancel a pending operation by id. Safe from any thread and from inside
 * any callback of this control point.
 *
 * Returns:
 *  UCP_OK          the operation was pending. No callback of it (progress,
 *                  event or completion) starts after this returns; if one
 *                  was running on the loop thread when this was called from
 *                  another thread, this waits until it has returned, so the
 *                  caller may free its user data at once. Sockets, timers
 *                  and memory are released by the loop shortly after.
 *                  Called from inside the operation's own progress callback,
 *                  it succeeds and no further callback of it runs.
 *  UCP_E_FAIL      too late: the completion is under way (its completion
 *                  callback is about to run or running, including a call
 *                  from inside that callback). Handle the outcome there.
 *  UCP_E_INVALIDARG the id was never issued, or its outcome was already
 *                  delivered or cancelled.
 *
 * Races, plainly: an operation that is very nearly finished may complete
 * instead of being cancelled (UCP_E_FAIL); the device may have received and
 * acted on a request that is cancelled (an invoked action may have run).
 * Waiting: a cancel from another thread waits for a running callback of the
 * same operation; do not call it while holding a lock that callback takes.
 */
UCP_EXTERN int ucp_cancel(ucp_cp *cp, uint64_t id);

/** Phase reported in the progress callback's `status`. */
typedef enum ucp_phase {
  UCP_PHASE_QUEUED = 1,     /* waiting for a transfer slot */
  UCP_PHASE_CONNECTING = 2, /* resolving or connecting */
  UCP_PHASE_SENDING = 3,    /* request being sent */
  UCP_PHASE_WAITING = 4,    /* request sent, waiting for the response */
  UCP_PHASE_RECEIVING = 5   /* response body arriving */
} ucp_phase;

/**
 * Progress callback (IGPMAsyncCancel-style): `numerator` of `denominator`
 * units (bytes for downloads); denominator 0 means the total is not known
 * yet (e.g. no Content-Length). The numerator never decreases. Runs on the
 * loop thread; never after the completion callback, never after a
 * successful ucp_cancel().
 */
typedef void (*ucp_progress_cb)(uint64_t id, uint64_t numerator,
                                uint64_t denominator, int status, void *user);

typedef struct ucp_result ucp_result;

/** Completion callback: runs exactly once per id unless the id was
 *  cancelled. `r` is borrowed for the duration of the call. */
typedef void (*ucp_done_cb)(uint64_t id, const ucp_result *r, void *user);

/** UCP_OK or a negative code. */
UCP_EXTERN int ucp_result_status(const ucp_result *r);
/** HTTP status of the last transport exchange, 0 if none took place. */
UCP_EXTERN int ucp_result_http_status(const ucp_result *r);
/** Detail message for a failure: what was wrong and where (URL, line,
 *  header). Never NULL; empty on success. */
UCP_EXTERN const char *ucp_result_detail(const ucp_result *r);
/** For SOAP faults: the device's UPnPError errorCode (0 if none) and
 *  errorDescription (NULL if none). */
UCP_EXTERN int ucp_result_upnp_error(const ucp_result *r);
UCP_EXTERN const char *ucp_result_upnp_error_description(const ucp_result *r);
/** The kind of operation this result belongs to. */
UCP_EXTERN ucp_op_kind ucp_result_kind(const ucp_result *r);

/** Per-call options: NULL means all defaults. Copied by the start call. */
typedef struct ucp_call_opts ucp_call_opts;
UCP_EXTERN ucp_call_opts *ucp_call_opts_new(void);
UCP_EXTERN void ucp_call_opts_free(ucp_call_opts *o);
/** Deadline in ms from the start call; 0 restores the kind's default. */
UCP_EXTERN int ucp_call_opts_set_deadline(ucp_call_opts *o, uint64_t ms);
/** Progress callback; it receives the same `user` as the completion. */
UCP_EXTERN int ucp_call_opts_set_progress(ucp_call_opts *o,
                                          ucp_progress_cb cb);

/** Counters, readable from any thread. */
typedef enum ucp_counter {
  UCP_COUNTER_STARTED,      /* ids issued */
  UCP_COUNTER_COMPLETED,    /* completion callbacks delivered */
  UCP_COUNTER_CANCELLED,    /* ucp_cancel() == UCP_OK, including destroy */
  UCP_COUNTER_PENDING,      /* issued, without an outcome yet */
  UCP_COUNTER_HTTP_ACTIVE,  /* HTTP transfers running now */
  UCP_COUNTER_SSDP_RECEIVED, /* SSDP datagrams received */
  UCP_COUNTER_SSDP_DROPPED,  /* ... dropped: malformed, oversized, not
                                matching, or breaking the origin rule */
  UCP_COUNTER_NOTIFY_RECEIVED, /* NOTIFYs accepted by the callback server */
  UCP_COUNTER_NOTIFY_DROPPED,  /* ... refused (4xx/5xx) or not delivered:
                                  unknown path or SID, duplicate SEQ, bad
                                  body, queue full */
  UCP_COUNTER__COUNT
} ucp_counter;
UCP_EXTERN uint64_t ucp_cp_counter(ucp_cp *cp, ucp_counter which);

/* ------------------------------------------------------------------------ */
/* Device descriptions (UDA 2.0 §2)                                         */
/* ------------------------------------------------------------------------ */

typedef struct ucp_description ucp_description;
typedef struct ucp_device ucp_device;
typedef struct ucp_service ucp_service;
typedef struct ucp_icon ucp_icon;

/**
 * Load a device description from `url` (http only), asynchronously: the
 * equivalent of IUPnPDescriptionDocument::LoadAsync. The body is streamed
 * into the parser; progress is bytes received of Content-Length.
 *
 * On success ucp_result_description(r) is the immutable device tree.
 * URLs inside the description are resolved against URLBase (when it names
 * the same host) or `url` (UDA 2.0 §2.3). A URL naming another host than
 * `url` is kept but marked unusable (ucp_service_url_error()).
 *
 * Returns UCP_OK and *id, or: UCP_E_INVALIDARG (NULL cp/url/done/id),
 * UCP_E_URL (not an http:// URL, or over 2 KiB), UCP_E_LIMIT (too many
 * pending), UCP_E_SHUTDOWN, UCP_E_NOMEM. Any thread.
 */
UCP_EXTERN int ucp_load_description(ucp_cp *cp, const char *url,
                                    const ucp_call_opts *opts,
                                    ucp_done_cb done, void *user,
                                    uint64_t *id);

/** The tree of a successful UCP_OP_LOAD_DESCRIPTION result, else NULL.
 *  Borrowed: ucp_description_ref() it to keep it after the callback. */
UCP_EXTERN const ucp_description *ucp_result_description(const ucp_result *r);

/** Reference counting of the immutable tree; thread-safe. Everything
 *  reached from a description (devices, services, icons, strings) lives as
 *  long as the description does. */
UCP_EXTERN const ucp_description *ucp_description_ref(
    const ucp_description *d);
UCP_EXTERN void ucp_description_unref(const ucp_description *d);

/**
 * Parse a description held in memory, with no network: `url` is the
 * LOCATION it came from (used to resolve relative URLs; NULL treats them as
 * unresolvable). On failure returns a negative code and, if `detail` is not
 * NULL, writes a message (up to detail_len bytes, NUL-terminated) naming
 * the line and the problem.
 */
UCP_EXTERN int ucp_description_parse(const char *xml, size_t len,
                                     const char *url,
                                     const ucp_description **out,
                                     char *detail, size_t detail_len);

UCP_EXTERN const ucp_device *ucp_description_root(const ucp_description *d);
/** The URL the description was loaded from. */
UCP_EXTERN const char *ucp_description_url(const ucp_description *d);
/** The base used to resolve relative URLs (URLBase or the load URL). */
UCP_EXTERN const char *ucp_description_base_url(const ucp_description *d);
/** specVersion major.minor, 0.0 if absent. */
UCP_EXTERN void ucp_description_spec_version(const ucp_description *d,
                                             int *major, int *minor);
/** configId attribute of <root> (UDA 1.1), -1 if absent. */
UCP_EXTERN int64_t ucp_description_config_id(const ucp_description *d);
/** Compliance warnings (tolerated quirks), one line each, "" if none. */
UCP_EXTERN const char *ucp_description_warnings(const ucp_description *d);
/** Every device of the tree, depth first (root first). */
UCP_EXTERN size_t ucp_description_device_count(const ucp_description *d);
UCP_EXTERN const ucp_device *ucp_description_device(const ucp_description *d,
                                                    size_t i);

typedef enum ucp_device_field {
  UCP_DEVICE_TYPE,
  UCP_DEVICE_FRIENDLY_NAME,
  UCP_DEVICE_MANUFACTURER,
  UCP_DEVICE_MANUFACTURER_URL,
  UCP_DEVICE_MODEL_DESCRIPTION,
  UCP_DEVICE_MODEL_NAME,
  UCP_DEVICE_MODEL_NUMBER,
  UCP_DEVICE_MODEL_URL,
  UCP_DEVICE_SERIAL_NUMBER,
  UCP_DEVICE_UDN,
  UCP_DEVICE_UPC,
  UCP_DEVICE_PRESENTATION_URL, /* resolved */
  UCP_DEVICE__FIELD_COUNT
} ucp_device_field;
/** A field's text, whitespace-trimmed; NULL when the element was absent,
 *  "" when it was empty. */
UCP_EXTERN const char *ucp_device_field_get(const ucp_device *dev,
                                            ucp_device_field f);
UCP_EXTERN const ucp_device *ucp_device_parent(const ucp_device *dev);
UCP_EXTERN size_t ucp_device_child_count(const ucp_device *dev);
UCP_EXTERN const ucp_device *ucp_device_child(const ucp_device *dev, size_t i);
UCP_EXTERN size_t ucp_device_service_count(const ucp_device *dev);
UCP_EXTERN const ucp_service *ucp_device_service(const ucp_device *dev,
                                                 size_t i);
UCP_EXTERN size_t ucp_device_icon_count(const ucp_device *dev);
UCP_EXTERN const ucp_icon *ucp_device_icon(const ucp_device *dev, size_t i);

typedef enum ucp_service_field {
  UCP_SERVICE_TYPE,
  UCP_SERVICE_ID,
  UCP_SERVICE_SCPD_URL,      /* resolved, absolute */
  UCP_SERVICE_CONTROL_URL,   /* resolved, absolute */
  UCP_SERVICE_EVENT_SUB_URL, /* resolved, absolute */
  UCP_SERVICE__FIELD_COUNT
} ucp_service_field;
/** NULL when absent (or unresolvable for URLs: see ucp_service_url_error). */
UCP_EXTERN const char *ucp_service_field_get(const ucp_service *s,
                                             ucp_service_field f);
/** For the URL fields: NULL when the URL is usable, else the reason it is
 *  not (absent, empty, malformed, names another host, not http). */
UCP_EXTERN const char *ucp_service_url_error(const ucp_service *s,
                                             ucp_service_field f);
UCP_EXTERN const ucp_device *ucp_service_device(const ucp_service *s);

/** Icon fields; width/height/depth are -1 when absent or not a number. */
UCP_EXTERN const char *ucp_icon_mimetype(const ucp_icon *i);
UCP_EXTERN int ucp_icon_width(const ucp_icon *i);
UCP_EXTERN int ucp_icon_height(const ucp_icon *i);
UCP_EXTERN int ucp_icon_depth(const ucp_icon *i);
/** Resolved URL, or NULL with ucp_icon_url_error() giving the reason. */
UCP_EXTERN const char *ucp_icon_url(const ucp_icon *i);
UCP_EXTERN const char *ucp_icon_url_error(const ucp_icon *i);

/* ------------------------------------------------------------------------ */
/* Discovery (UDA 2.0 §1): IUPnPDeviceFinder, asynchronous                  */
/* ------------------------------------------------------------------------ */

typedef enum ucp_search_event {
  UCP_SEARCH_DEVICE_ADDED = 1, /* a new device answered and its description
                                  loaded: ucp_found_description() is set */
  UCP_SEARCH_DEVICE_FAILED,    /* it answered, but its description failed:
                                  ucp_found_status()/ucp_found_detail() */
  UCP_SEARCH_COMPLETE,         /* the MX window is over and every device seen
                                  in it is ADDED or FAILED; once per search */
  UCP_SEARCH_DEVICE_UPDATED,   /* reloaded after its LOCATION, BOOTID.UPNP.ORG
                                  or CONFIGID.UPNP.ORG changed */
  UCP_SEARCH_DEVICE_REMOVED    /* ssdp:byebye, or its max-age ran out */
} ucp_search_event;

/** What a search knows of one device; borrowed for the callback. */
typedef struct ucp_found ucp_found;
UCP_EXTERN const char *ucp_found_udn(const ucp_found *f);      /* "uuid:..." */
UCP_EXTERN const char *ucp_found_location(const ucp_found *f); /* LOCATION */
UCP_EXTERN const char *ucp_found_address(const ucp_found *f);  /* sender IP */
UCP_EXTERN const char *ucp_found_server(const ucp_found *f);   /* SERVER, "" */
UCP_EXTERN const char *ucp_found_st(const ucp_found *f);       /* ST answered */
UCP_EXTERN int64_t ucp_found_bootid(const ucp_found *f);       /* -1 absent */
UCP_EXTERN int64_t ucp_found_configid(const ucp_found *f);     /* -1 absent */
UCP_EXTERN uint32_t ucp_found_max_age(const ucp_found *f);     /* seconds */
/** The loaded tree (ADDED), else NULL; ucp_description_ref() to keep it. */
UCP_EXTERN const ucp_description *ucp_found_description(const ucp_found *f);
/** The device this record is about: the one in the description whose UDN
 *  is ucp_found_udn() (an embedded device answers for itself, UDA 2.0
 *  §1.3.3), or the root when none matches; NULL without a description.
 *  Devices that share a description share one download. */
UCP_EXTERN const ucp_device *ucp_found_device(const ucp_found *f);
UCP_EXTERN int ucp_found_status(const ucp_found *f);
UCP_EXTERN const char *ucp_found_detail(const ucp_found *f);

/** Search events: one callback per event, on the loop thread, before the
 *  completion; none after a successful ucp_cancel(). A device REMOVED and
 *  seen again is reported ADDED again. On FAILED after UPDATED, the
 *  description is the last one that loaded. */
typedef void (*ucp_search_cb)(uint64_t id, ucp_search_event ev,
                              const ucp_found *f, void *user);

typedef struct ucp_search_opts ucp_search_opts;
UCP_EXTERN ucp_search_opts *ucp_search_opts_new(void);
UCP_EXTERN void ucp_search_opts_free(ucp_search_opts *o);
/** MX in seconds, 1..5 (default 2). */
UCP_EXTERN int ucp_search_opts_set_mx(ucp_search_opts *o, int mx);
/** Search on this interface (by name); call again for more. Default: every
 *  interface that is up and multicast-capable. UCP_E_INVALIDARG when no
 *  interface has that name now (ucp_last_error_detail() says so). */
UCP_EXTERN int ucp_search_opts_add_interface(ucp_search_opts *o,
                                             const char *ifname);
/** Also (or, with ucp_search_opts_set_multicast(o, 0), only) send a
 *  unicast M-SEARCH to "a.b.c.d:port" or "[v6]:port" (UDA 1.1 §1.3.2; port
 *  1-65535, 1900 when left out). Anything else: UCP_E_INVALIDARG, with
 *  ucp_last_error_detail() naming it. */
UCP_EXTERN int ucp_search_opts_add_unicast(ucp_search_opts *o,
                                           const char *host_port);
/** Multicast on/off (default on): M-SEARCH to IPv4 239.255.255.250 and,
 *  when IPv6 is on, FF02::C; and passive listening: the search joins the
 *  SSDP group on its interfaces and follows ssdp:alive, ssdp:byebye and
 *  ssdp:update NOTIFYs (UDA 2.0 §1.2) for as long as it runs, keeping every
 *  device until its max-age runs out. A control point never answers an
 *  M-SEARCH. With multicast off only the unicast targets are searched. */
UCP_EXTERN int ucp_search_opts_set_multicast(ucp_search_opts *o, int on);
/** IPv4 (default on) and IPv6 (default off) multicast; the NOTIFY listener
 *  is IPv4 for now. */
UCP_EXTERN int ucp_search_opts_set_ipv4(ucp_search_opts *o, int on);
UCP_EXTERN int ucp_search_opts_set_ipv6(ucp_search_opts *o, int on);
/** The SSDP port searched (default 1900; tests use others). */
UCP_EXTERN int ucp_search_opts_set_port(ucp_search_opts *o, unsigned port);
/** Complete with UCP_OK this many ms after the start (0: run until
 *  cancelled or the deadline, which completes with UCP_E_TIMEOUT). */
UCP_EXTERN int ucp_search_opts_set_duration(ucp_search_opts *o, uint64_t ms);

/**
 * Search for devices and services matching `st` ("ssdp:all",
 * "upnp:rootdevice", "uuid:...", or a device or service type; a type
 * matches devices advertising that version or a later one). M-SEARCH is
 * sent three times, paced, as UDA recommends; every answering device is
 * reported once, by UDN, after its description has loaded (or failed).
 * Progress: numerator = descriptions loaded or failed, denominator =
 * devices seen so far. Responses that break the SSDP rules of
 * docs/security.md are dropped and counted (ucp_cp_ssdp_drops()).
 *
 * Returns UCP_OK and *id, or UCP_E_INVALIDARG (NULL or bad `st`),
 * UCP_E_LIMIT, UCP_E_SHUTDOWN, UCP_E_NOMEM. Any thread.
 */
UCP_EXTERN int ucp_search(ucp_cp *cp, const char *st,
                          const ucp_search_opts *so, const ucp_call_opts *opts,
                          ucp_search_cb events, ucp_done_cb done, void *user,
                          uint64_t *id);
/** For a UCP_OP_SEARCH result: devices reported ADDED (0 otherwise). */
UCP_EXTERN size_t ucp_result_devices(const ucp_result *r);
/** SSDP datagrams dropped so far by this control point, all reasons. */
UCP_EXTERN uint64_t ucp_cp_ssdp_drops(ucp_cp *cp);

/* ------------------------------------------------------------------------ */
/* Data types (UDA 2.0 §2.5, table 2-13)                                    */
/* ------------------------------------------------------------------------ */

typedef enum ucp_type {
  UCP_TYPE_UNKNOWN = 0, /* a vendor type ("list"): handled as a string */
  UCP_TYPE_UI1, UCP_TYPE_UI2, UCP_TYPE_UI4, UCP_TYPE_UI8,
  UCP_TYPE_I1, UCP_TYPE_I2, UCP_TYPE_I4, UCP_TYPE_I8,
  UCP_TYPE_INT, /* an i4 */
  UCP_TYPE_R4, UCP_TYPE_R8,
  UCP_TYPE_NUMBER, /* an r8 */
  UCP_TYPE_FIXED_14_4,
  UCP_TYPE_FLOAT, /* an r8 */
  UCP_TYPE_CHAR, UCP_TYPE_STRING,
  UCP_TYPE_DATE, UCP_TYPE_DATETIME, UCP_TYPE_DATETIME_TZ, UCP_TYPE_TIME,
  UCP_TYPE_TIME_TZ,
  UCP_TYPE_BOOLEAN, UCP_TYPE_BIN_BASE64, UCP_TYPE_BIN_HEX, UCP_TYPE_URI,
  UCP_TYPE_UUID,
  UCP_TYPE__COUNT
} ucp_type;
/** The UDA spelling ("ui4", "dateTime.tz"); NULL for UCP_TYPE_UNKNOWN and
 *  values outside the enum. */
UCP_EXTERN const char *ucp_type_name(ucp_type t);

/* ------------------------------------------------------------------------ */
/* Service descriptions (SCPD, UDA 2.0 §2.5): the model                     */
/* ------------------------------------------------------------------------ */

/*
 * An SCPD is an immutable, reference-counted tree, like a description.
 * Names are kept as written; lookups take the exact name first, then a
 * case-insensitive match. What the parser tolerates and what it drops (always
 * with a line in ucp_scpd_warnings()) is in docs/corpus.md.
 */
typedef struct ucp_scpd ucp_scpd;
typedef struct ucp_action ucp_action;
typedef struct ucp_argument ucp_argument;
typedef struct ucp_statevar ucp_statevar;

/** Parse an SCPD held in memory (no network). On failure returns a negative
 *  code and writes the reason (line and problem) into detail. */
UCP_EXTERN int ucp_scpd_parse(const char *xml, size_t len,
                              const ucp_scpd **out, char *detail,
                              size_t detail_len);
/** Thread-safe reference counting; NULL-safe. */
UCP_EXTERN const ucp_scpd *ucp_scpd_ref(const ucp_scpd *s);
UCP_EXTERN void ucp_scpd_unref(const ucp_scpd *s);
UCP_EXTERN void ucp_scpd_spec_version(const ucp_scpd *s, int *major,
                                      int *minor);
/** configId attribute of <scpd> (UDA 1.1), -1 if absent. */
UCP_EXTERN int64_t ucp_scpd_config_id(const ucp_scpd *s);
/** Tolerated quirks, one "line N: ..." per line; "" if none. */
UCP_EXTERN const char *ucp_scpd_warnings(const ucp_scpd *s);
/** Actions and state variables in document order. */
UCP_EXTERN size_t ucp_scpd_action_count(const ucp_scpd *s);
UCP_EXTERN const ucp_action *ucp_scpd_action(const ucp_scpd *s, size_t i);
UCP_EXTERN const ucp_action *ucp_scpd_find_action(const ucp_scpd *s,
                                                  const char *name);
UCP_EXTERN size_t ucp_scpd_statevar_count(const ucp_scpd *s);
UCP_EXTERN const ucp_statevar *ucp_scpd_statevar(const ucp_scpd *s,
                                                 size_t i);
UCP_EXTERN const ucp_statevar *ucp_scpd_find_statevar(const ucp_scpd *s,
                                                      const char *name);

UCP_EXTERN const char *ucp_action_name(const ucp_action *a);
/** Arguments in document order (in and out may interleave). */
UCP_EXTERN size_t ucp_action_argument_count(const ucp_action *a);
UCP_EXTERN const ucp_argument *ucp_action_argument(const ucp_action *a,
                                                   size_t i);

typedef enum ucp_direction { UCP_DIR_IN = 1, UCP_DIR_OUT = 2 } ucp_direction;
UCP_EXTERN const char *ucp_argument_name(const ucp_argument *g);
UCP_EXTERN ucp_direction ucp_argument_direction(const ucp_argument *g);
/** 1 when the argument carries <retval/>. */
UCP_EXTERN int ucp_argument_is_retval(const ucp_argument *g);
/** relatedStateVariable as written (NULL if absent), and the variable it
 *  names (NULL when it names none: such arguments are sent and read as
 *  strings). */
UCP_EXTERN const char *ucp_argument_related_name(const ucp_argument *g);
UCP_EXTERN const ucp_statevar *ucp_argument_statevar(const ucp_argument *g);

UCP_EXTERN const char *ucp_statevar_name(const ucp_statevar *v);
/** The type, and its name as written (NULL without <dataType>). */
UCP_EXTERN ucp_type ucp_statevar_type(const ucp_statevar *v);
UCP_EXTERN const char *ucp_statevar_type_name(const ucp_statevar *v);
/** defaultValue as written, NULL if absent. */
UCP_EXTERN const char *ucp_statevar_default(const ucp_statevar *v);
/** sendEvents (default yes) and multicast (default no): 1 or 0. */
UCP_EXTERN int ucp_statevar_sends_events(const ucp_statevar *v);
UCP_EXTERN int ucp_statevar_multicast(const ucp_statevar *v);
/** allowedValueList, document order. */
UCP_EXTERN size_t ucp_statevar_allowed_count(const ucp_statevar *v);
UCP_EXTERN const char *ucp_statevar_allowed(const ucp_statevar *v,
                                            size_t i);
/** allowedValueRange: returns 1 and sets min, max, step (each NULL when
 *  absent; any pointer may be NULL), or 0 without a range. */
UCP_EXTERN int ucp_statevar_range(const ucp_statevar *v, const char **min,
                                  const char **max, const char **step);

/* ------------------------------------------------------------------------ */
/* Service control (UDA 2.0 §3): IUPnPServiceAsync                          */
/* ------------------------------------------------------------------------ */

/**
 * Download and parse the SCPD of `svc` (BeginSCPDDownload). Progress is
 * bytes received of Content-Length (0 when unknown).
 *
 * The control point caches SCPDs by device UDN, serviceId and SCPD URL (up
 * to UCP_LIMIT_SCPD_CACHE; the oldest is dropped first). A request for a
 * cached SCPD completes from the cache (ucp_result_from_cache() is 1, HTTP
 * status 0); a request while a download of the same SCPD is running joins
 * it. Cancelling stops every notification of that request, but the
 * download goes on in the background (bounded by the kind's deadline) and
 * a valid result fills the cache (CONTRACT §3). Entries are dropped when a
 * search sees the device's BOOTID.UPNP.ORG or CONFIGID.UPNP.ORG change,
 * when the description's configId differs from the one the entry was
 * loaded under, and by ucp_cp_forget_device().
 *
 * `svc` is borrowed for the call only: the library copies what it needs.
 * Returns UCP_OK and *id, or UCP_E_INVALIDARG (NULL argument), UCP_E_URL
 * (no usable SCPDURL: see ucp_service_url_error()), UCP_E_LIMIT,
 * UCP_E_SHUTDOWN, UCP_E_NOMEM. Any thread.
 */
UCP_EXTERN int ucp_scpd_download(ucp_cp *cp, const ucp_service *svc,
                                 const ucp_call_opts *opts, ucp_done_cb done,
                                 void *user, uint64_t *id);
/** The SCPD of a successful UCP_OP_SCPD_DOWNLOAD result, else NULL.
 *  Borrowed: ucp_scpd_ref() it to keep it. */
UCP_EXTERN const ucp_scpd *ucp_result_scpd(const ucp_result *r);
/** 1 when a UCP_OP_SCPD_DOWNLOAD result came from the cache. */
UCP_EXTERN int ucp_result_from_cache(const ucp_result *r);
/** Drop every cached SCPD of the device `udn` ("uuid:..."). Any thread. */
UCP_EXTERN int ucp_cp_forget_device(ucp_cp *cp, const char *udn);

/** One argument of an invoke: name and value as text. */
typedef struct ucp_arg {
  const char *name;
  const char *value; /* NULL is "" */
} ucp_arg;

/**
 * Invoke `action` of `svc` (BeginInvokeAction, UDA 2.0 §3.2): a SOAP 1.1
 * POST to the controlURL with SOAPACTION "serviceType#action"; on HTTP 405
 * it is sent once more as M-POST with MAN and NN-SOAPACTION, as UDA
 * describes. Many invokes may run at once on one service or device; they
 * are bounded by UCP_LIMIT_HTTP_ACTIVE and UCP_LIMIT_HTTP_PER_HOST and
 * reuse kept-alive connections.
 *
 * With `scpd` (from ucp_scpd_download() of this service) the call checks
 * everything before sending: the action exists; every in-argument is given
 * once, no other is (names match exactly, else case-insensitively); each
 * value is valid for its variable's type, allowedValueRange and
 * allowedValueList. Arguments are sent in SCPD order, under the SCPD's
 * names, in canonical form ("TRUE" for a boolean is sent as "1"). The
 * response's out-arguments are read in SCPD order and converted to their
 * types (ucp_result_out_*()).
 * Without `scpd` (NULL: a device whose SCPD is broken or unknown) `args`
 * are sent as given, in order, after checking the name grammar and that
 * the values are valid UTF-8 XML text; out-arguments are returned as
 * text in document order, typed UCP_TYPE_UNKNOWN.
 *
 * Completion: UCP_OK with the out-arguments; UCP_E_FAULT for a SOAP fault,
 * with ucp_result_upnp_error() (e.g. 401 Invalid Action, 402 Invalid Args,
 * 501 Action Failed, 600 Argument Value Invalid, 601 Out of Range) and its
 * description; UCP_E_HTTP for another HTTP error; UCP_E_XML,
 * UCP_E_PROTOCOL or UCP_E_TOO_LARGE for a bad response; UCP_E_TIMEOUT at
 * the deadline (default 30 s). Every result carries the HTTP status.
 * Cancelling aborts the HTTP exchange, but the device may already have
 * carried out the action.
 *
 * Returns UCP_OK and *id, or without issuing an id: UCP_E_INVALIDARG (NULL
 * argument, bad name or value: ucp_last_error_detail() names the argument
 * and the rule), UCP_E_NOT_FOUND (no such action in `scpd`), UCP_E_URL
 * (no usable controlURL), UCP_E_LIMIT, UCP_E_SHUTDOWN, UCP_E_NOMEM.
 * `svc`, `scpd` and `args` are borrowed for the call only. Any thread.
 */
UCP_EXTERN int ucp_invoke(ucp_cp *cp, const ucp_service *svc,
                          const ucp_scpd *scpd, const char *action,
                          const ucp_arg *args, size_t nargs,
                          const ucp_call_opts *opts, ucp_done_cb done,
                          void *user, uint64_t *id);
/** ucp_invoke() given the control URL and service type directly (no
 *  description needed). */
UCP_EXTERN int ucp_invoke_url(ucp_cp *cp, const char *control_url,
                              const char *service_type, const ucp_scpd *scpd,
                              const char *action, const ucp_arg *args,
                              size_t nargs, const ucp_call_opts *opts,
                              ucp_done_cb done, void *user, uint64_t *id);

/**
 * Query a state variable (BeginQueryStateVariable): the QueryStateVariable
 * action of urn:schemas-upnp-org:control-1-0 (UDA 1.0 §3.2.2; deprecated
 * by UDA 1.1, so many devices answer 401). With `scpd`, the variable must
 * exist there (else UCP_E_NOT_FOUND) and its value is converted to its
 * type; without, it is returned as a string. The value is out-argument 0,
 * named after the variable. Otherwise as ucp_invoke().
 */
UCP_EXTERN int ucp_query_state_variable(ucp_cp *cp, const ucp_service *svc,
                                        const ucp_scpd *scpd,
                                        const char *variable,
                                        const ucp_call_opts *opts,
                                        ucp_done_cb done, void *user,
                                        uint64_t *id);
UCP_EXTERN int ucp_query_state_variable_url(
    ucp_cp *cp, const char *control_url, const ucp_scpd *scpd,
    const char *variable, const ucp_call_opts *opts, ucp_done_cb done,
    void *user, uint64_t *id);

/*
 * Out-arguments of an invoke or query result (0 for other results and on
 * failure). With an SCPD: its out-arguments in SCPD order, then any extra
 * ones the device sent (UCP_TYPE_UNKNOWN). An out-argument the device left
 * out has a NULL value; a value that is not valid for its type is kept as
 * sent with UCP_TYPE_UNKNOWN. Both cases add a line to
 * ucp_result_warnings(), so nothing is lost.
 */
UCP_EXTERN size_t ucp_result_out_count(const ucp_result *r);
UCP_EXTERN const char *ucp_result_out_name(const ucp_result *r, size_t i);
/** Canonical text (typed) or the text as sent (UCP_TYPE_UNKNOWN). */
UCP_EXTERN const char *ucp_result_out_value(const ucp_result *r, size_t i);
UCP_EXTERN ucp_type ucp_result_out_type(const ucp_result *r, size_t i);
/** The value of the out-argument named `name` (exact, then any case), or
 *  NULL. */
UCP_EXTERN const char *ucp_result_out_find(const ucp_result *r,
                                           const char *name);
/** Typed reads: UCP_OK, or UCP_E_INVALIDARG when i is out of range or the
 *  type does not fit (int: ui1..ui4, i1..i8, int, and ui8 up to INT64_MAX;
 *  uint: ui*; double: every numeric type; bool: boolean). */
UCP_EXTERN int ucp_result_out_int(const ucp_result *r, size_t i,
                                  int64_t *v);
UCP_EXTERN int ucp_result_out_uint(const ucp_result *r, size_t i,
                                   uint64_t *v);
UCP_EXTERN int ucp_result_out_double(const ucp_result *r, size_t i,
                                     double *v);
UCP_EXTERN int ucp_result_out_bool(const ucp_result *r, size_t i, int *v);
/** Repairs and oddities seen in a response, one per line; "" if none. */
UCP_EXTERN const char *ucp_result_warnings(const ucp_result *r);

/* ------------------------------------------------------------------------ */
/* Eventing (UDA 2.0 §4): BeginSubscribeToEvents                           */
/* ------------------------------------------------------------------------ */

/*
 * A subscription is one long operation: it starts with SUBSCRIBE, reports
 * every event and every change of its own state through `events`, renews
 * itself before the granted timeout runs out, and completes only when it
 * ends: UCP_OK after ucp_unsubscribe(), or an error once it is lost (a
 * UCP_SUB_LOST state event says why first). It is never lost silently.
 *
 * The control point runs a callback server (libmicrohttpd, its own
 * thread) on the local address that routes to each device, with a random
 * 128-bit path per subscription; only NOTIFYs with the right path, Host,
 * NT, NTS and SID are accepted (docs/eventing.md, SECURITY.md).
 */
typedef enum ucp_sub_state {
  UCP_SUB_ACTIVE = 1,    /* SUBSCRIBE accepted: SID and granted timeout */
  UCP_SUB_RENEWING,      /* a renewal was sent (the timeout is running out) */
  UCP_SUB_RENEWED,       /* renewed before the timeout ran out */
  UCP_SUB_RESUBSCRIBED,  /* replaced by a fresh SUBSCRIBE (412 on renewal,
                            device reboot, missed events); new SID */
  UCP_SUB_MISSED_EVENTS, /* a SEQ gap: events were lost; a resubscribe
                            follows, whose initial event resyncs */
  UCP_SUB_UNREACHABLE,   /* no initial event came: the device cannot reach
                            the callback address (the detail says which
                            and the likely cause); the subscription stays */
  UCP_SUB_LOST           /* gone for good (the detail says why); the
                            completion follows with the error */
} ucp_sub_state;

typedef enum ucp_event_kind {
  UCP_EVENT_NOTIFY = 1, /* a NOTIFY: variables, SEQ */
  UCP_EVENT_STATE       /* a change of the subscription's state */
} ucp_event_kind;

/** One event, borrowed for the callback. */
typedef struct ucp_event ucp_event;
UCP_EXTERN ucp_event_kind ucp_event_get_kind(const ucp_event *ev);
/** UCP_EVENT_STATE: the new state and a sentence about it. */
UCP_EXTERN ucp_sub_state ucp_event_state(const ucp_event *ev);
UCP_EXTERN const char *ucp_event_detail(const ucp_event *ev);
/** The SID the event belongs to ("uuid:..."); "" before the first. */
UCP_EXTERN const char *ucp_event_sid(const ucp_event *ev);
/** UCP_EVENT_NOTIFY: its SEQ (0 is the initial event, every evented
 *  variable); for state events, the granted timeout in seconds. */
UCP_EXTERN uint32_t ucp_event_seq(const ucp_event *ev);
UCP_EXTERN uint32_t ucp_event_timeout(const ucp_event *ev);
/** The variables of a NOTIFY in document order: name, canonical value
 *  (typed by the SCPD when one was given; as sent otherwise or when the
 *  value does not fit the type, then UCP_TYPE_UNKNOWN). */
UCP_EXTERN size_t ucp_event_var_count(const ucp_event *ev);
UCP_EXTERN const char *ucp_event_var_name(const ucp_event *ev, size_t i);
UCP_EXTERN const char *ucp_event_var_value(const ucp_event *ev, size_t i);
UCP_EXTERN ucp_type ucp_event_var_type(const ucp_event *ev, size_t i);
/** A LastChange variable (AVTransport, RenderingControl) read into
 *  per-instance changes: InstanceID, variable, val (NULL when absent) and
 *  channel (NULL when absent). 0 when the NOTIFY has no LastChange or it
 *  could not be read (a line in ucp_event_warnings() says why). */
UCP_EXTERN size_t ucp_event_change_count(const ucp_event *ev);
UCP_EXTERN int ucp_event_change(const ucp_event *ev, size_t i,
                                const char **instance, const char **variable,
                                const char **value, const char **channel);
UCP_EXTERN const char *ucp_event_warnings(const ucp_event *ev);

typedef void (*ucp_event_cb)(uint64_t id, const ucp_event *ev, void *user);

typedef struct ucp_sub_opts ucp_sub_opts;
UCP_EXTERN ucp_sub_opts *ucp_sub_opts_new(void);
UCP_EXTERN void ucp_sub_opts_free(ucp_sub_opts *o);
/** TIMEOUT asked for, in seconds (default 1800); the device grants what it
 *  wants and renewal follows the granted value. */
UCP_EXTERN int ucp_sub_opts_set_timeout(ucp_sub_opts *o, uint32_t seconds);
/** How long to wait for the initial event before reporting
 *  UCP_SUB_UNREACHABLE (default 5000 ms). */
UCP_EXTERN int ucp_sub_opts_set_check_ms(ucp_sub_opts *o, uint64_t ms);
/** The callback server's port (default 0: any free port). */
UCP_EXTERN int ucp_sub_opts_set_port(ucp_sub_opts *o, unsigned port);

/**
 * Subscribe to the events of `svc` (its eventSubURL). With `scpd`, event
 * values are typed by their state variables. The first SUBSCRIBE is
 * bounded by the call's deadline (default 30 s, UCP_OP_SUBSCRIBE); after
 * it is accepted the subscription has no deadline. Cancelling (or
 * destroying the control point) stops every callback at once and sends
 * UNSUBSCRIBE in the background when the device had accepted it.
 * Returns UCP_OK and *id, or UCP_E_INVALIDARG, UCP_E_URL (no usable
 * eventSubURL), UCP_E_LIMIT, UCP_E_SHUTDOWN, UCP_E_NOMEM. Any thread.
 */
UCP_EXTERN int ucp_subscribe(ucp_cp *cp, const ucp_service *svc,
                             const ucp_scpd *scpd, const ucp_sub_opts *so,
                             const ucp_call_opts *opts, ucp_event_cb events,
                             ucp_done_cb done, void *user, uint64_t *id);
/** ucp_subscribe() given the event URL directly. `udn` (may be NULL)
 *  links it to a device, so that a reboot seen by a search resubscribes. */
UCP_EXTERN int ucp_subscribe_url(ucp_cp *cp, const char *event_url,
                                 const char *udn, const ucp_scpd *scpd,
                                 const ucp_sub_opts *so,
                                 const ucp_call_opts *opts,
                                 ucp_event_cb events, ucp_done_cb done,
                                 void *user, uint64_t *id);
/** End a subscription: UNSUBSCRIBE, then the completion with UCP_OK (or
 *  the error of the UNSUBSCRIBE). Returns UCP_OK, or UCP_E_INVALIDARG for
 *  an id that is not a running subscription. Any thread. */
UCP_EXTERN int ucp_unsubscribe(ucp_cp *cp, uint64_t id);

#ifdef __cplusplus
}
#endif
#endif /* UPNPCP_H */
