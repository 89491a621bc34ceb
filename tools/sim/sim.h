/*
 * sim.h - an HTTP UPnP device simulator on libmicrohttpd.
 *
 * It serves a standard BinaryLight:1 root device (description, SCPDs, icon),
 * files from a directory, and fault endpoints (/fault/...) used as the peer
 * of the control point's HTTP and description tests. Every fault is bounded
 * in time and ucp_sim_stop() returns promptly even mid-fault.
 *
 * Optionally (opts.ssdp) it runs N such devices behind one SSDP responder
 * and advertiser (UDA 2.0 section 1, sim_ssdp.c): the peer of discovery
 * tests. Two simulators on the same SSDP port and host share unicast
 * M-SEARCHes (SO_REUSEPORT): give each its own port.
 *
 * Control (UDA 1.0/2.0 section 3.2, sim_soap.c). Each device executes SOAP
 * actions on its own state (mutex-protected): SwitchPower:1 at
 * /ctl/SwitchPower, Dimming:1 at /ctl/Dimming, every action of the SCPDs
 * in sim_docs.c. Methods: POST with SOAPACTION: "serviceType#action"
 * (quotes optional), or M-POST with MAN: "http://schemas.xmlsoap.org/soap/
 * envelope/"; ns=NN and NN-SOAPACTION; any other method is 405 with
 * Allow: POST, M-POST. The body is parsed with expat (namespaces on); it
 * must be s:Envelope (an s:Header is ignored) / s:Body / one element whose
 * namespace is the service type and whose local name is the action, with
 * the in-arguments as children: local names, text values, SCPD order.
 * Answers (200 and 500 carry Content-Type text/xml; charset="utf-8" and
 * EXT; the connection is kept alive):
 *  - 200: <u:ACTIONResponse xmlns:u="TYPE"> with the out-arguments in SCPD
 *    order; booleans are written 0/1.
 *  - 400 text/plain (HTTP, not SOAP: no action can be named): SOAPACTION
 *    (or NN-SOAPACTION) missing or not "type#action"; a body that is not
 *    well-formed XML (also an empty body); any DOCTYPE (refused).
 *  - 510 Not Extended (RFC 2774 section 7; UDA: the M-POST "fails"):
 *    M-POST whose MAN does not name the SOAP envelope URI with an ns=.
 *  - 413: a body over 1 MiB.
 * Both control URLs exist on every device's server (IPv6 too); the
 * description's {{SP}}/{{DIM}} prefixes are "" here (or another host, in
 * /fault/otherhost, which nothing serves).
 *  - 500 UPnPError (s:Fault, faultcode s:Client, faultstring UPnPError,
 *    detail/UPnPError errorCode + errorDescription), the first that applies:
 *    401 Invalid Action: the SOAPACTION type is not this service's; no such
 *      action; the body is not Envelope/Body/one action element; the
 *      element's namespace or local name differs from the SOAPACTION.
 *    402 Invalid Args: an in-argument missing, extra, duplicated, misnamed
 *      (names are exact) or out of SCPD order; an argument holding elements.
 *    600 Argument Value Invalid: not of the variable's type (boolean: 0 1
 *      true false yes no in any case; ui1/ui4: decimal digits within the
 *      type, e.g. 256 for ui1 is 600), or not in the allowedValueList;
 *      XML whitespace around booleans and numbers is ignored.
 *    601 Argument Value Out of Range: a number of the right type outside
 *      the allowedValueRange (LoadLevelTarget 101, StepDelta 0).
 *    404 Invalid Var: QueryStateVariable of a variable the service lacks.
 *    501 Action Failed: ResumeRamp when RampPaused is 0.
 * QueryStateVariable (UDA 1.0 only): SOAPACTION "urn:schemas-upnp-org:
 * control-1-0#QueryStateVariable", element u:QueryStateVariable in that
 * namespace with one child varName (any prefix): answers <return>VALUE
 * </return> for any variable of the service the control URL belongs to.
 * State: SetTarget sets Target and Status. Ramps complete at once:
 * SetLoadLevelTarget and StartRampToLevel set LoadLevelTarget and
 * LoadLevelStatus (and RampTime); StartRampUp/Down go to 100/0; StepUp/Down
 * move LoadLevelStatus by StepDelta within 0..100 and the target follows;
 * IsRamping stays 0; PauseRamp sets RampPaused, ResumeRamp and StopRamp
 * clear it (StopRamp also sets the target to the status).
 *
 * Control faults: the control URL's query "?fault=NAME" (with &ms=N or
 * &bytes=N) changes how a successful outcome is sent; a request error is
 * still answered as above. An unknown NAME or a bad number is 400.
 *  - slow: waits ms (default 2000, max 60000) after the header checks and
 *    before the body is parsed, then answers normally; if the client goes
 *    away or the sim stops meanwhile, nothing is executed and the
 *    connection is closed.
 *  - stall_body: Content-Length, the body up to and including the
 *    response element's start tag, a stall of ms (as slow), the rest.
 *  - chunked: the normal response, Transfer-Encoding: chunked, in chunks
 *    of at most 64 bytes.
 *  - oversized: the first out-argument's value is bytes 'x' (default 2 MiB,
 *    max 64 MiB), streamed with Content-Length; an action without out-
 *    arguments gets bytes spaces inside its response element instead.
 *  - mpost: POST is 405 with Allow: M-POST; M-POST works normally.
 *  - reset: claims Content-Length of the head plus 10000, sends the body
 *    up to the response element's start tag, then aborts the connection
 *    with SO_LINGER 0 (the client sees a short body and/or an RST).
 *  - malformed: 200 text/xml, that head then "<broken>", tags unclosed.
 *  - 500: HTTP 500 with a text/html body, no SOAP fault.
 *  - empty: 200 text/xml with an empty body.
 *  - badcode: HTTP 500, a SOAP fault whose UPnPError errorCode is "abc".
 * slow, stall_body, chunked, oversized and mpost execute the action; reset,
 * malformed, 500, empty and badcode only check it (no state change, not
 * counted).
 *
 * GENA side (UDA 2.0 section 4, sim_gena.c). The eventSubURLs
 * /evt/SwitchPower and /evt/Dimming (every device) take SUBSCRIBE and
 * UNSUBSCRIBE; any other method is 405 with Allow: SUBSCRIBE, UNSUBSCRIBE.
 * Header names are case-insensitive; NT must be exactly "upnp:event".
 *  - New subscription: SUBSCRIBE with CALLBACK: <URL>[<URL>...] and NT:
 *    upnp:event, TIMEOUT: Second-N / Second-infinite optional (absent =
 *    1800). The first URL that is http://<IPv4 or [IPv6] literal>[:port]
 *    [/path], without userinfo and at most 1024 bytes, is used (no host
 *    names: nothing is resolved). 200 with SID: uuid:<random v4 uuid>,
 *    TIMEOUT: Second-<granted>, Date, Server, Content-Length: 0. Granted
 *    = requested (infinite = the cap) clamped to [1, cap]; cap = 1800, or
 *    opts.gena_timeout_cap_s, lowered by the query ?timeout_cap=N (N = 0
 *    counts as 1) of the SUBSCRIBE, which the subscription keeps; a
 *    renewal's own ?timeout_cap=N lowers it for that renewal only.
 *  - Renewal: SUBSCRIBE with SID and no NT/CALLBACK (TIMEOUT optional):
 *    200 with the same SID and the new grant, counted from now.
 *  - UNSUBSCRIBE with SID: 200 (Content-Length: 0); queued events of the
 *    subscription are discarded (one already being sent completes).
 *  - 400: SID together with NT or CALLBACK; a TIMEOUT that is neither
 *    form; an unknown ?fault= or a bad number in the query.
 *  - 412: SUBSCRIBE without SID that lacks NT or CALLBACK, has another NT,
 *    or no usable callback URL; an unknown or expired SID (a SID is only
 *    known on the eventSubURL, of the device, that created it); an
 *    UNSUBSCRIBE without SID.
 *  - 503: opts.gena_max_subscriptions (0 = 4096) live subscriptions exist
 *    (all devices); also while the sim is stopping.
 * A subscription expires when its grant passes without a renewal: no
 * NOTIFY is started for it after that, its SID is unknown. A STATEVAR
 * header (UDA 2.0 selective eventing) is ignored: every evented variable.
 * Events: after the 200 of a new subscription has been sent, its initial
 * event, SEQ 0, holds every sendEvents="yes" variable of the service with
 * its current value (SwitchPower: Status; Dimming: LoadLevelStatus,
 * StepDelta, RampRate, IsRamping, RampPaused). Each action (or
 * ucp_sim_set_switch) that changes evented variables then yields one
 * event with those variables (final values, SCPD order) to every live
 * subscription of that service of that device, SEQ + 1 per subscription
 * (uint32, 0xFFFFFFFF wraps to 1). A NOTIFY is: NOTIFY <callback path>
 * HTTP/1.1, HOST, CONTENT-TYPE: text/xml; charset="utf-8", NT: upnp:
 * event, NTS: upnp:propchange, SID, SEQ, Content-Length, and the body
 * <?xml version="1.0"?>\n<e:propertyset xmlns:e="urn:schemas-upnp-org:
 * event-1-0"><e:property><Status>1</Status></e:property>...
 * </e:propertyset>. One sender thread (libcurl multi: connections kept
 * alive per callback host:port, connect timeout 2 s, total 5 s, at most
 * 64 NOTIFYs in flight) sends each subscription's events one at a time in
 * SEQ order. At most 16384 events wait in all; one that does not fit is
 * dropped and counted, and its SEQ is still used (the subscriber sees the
 * gap). Any answer but 2xx, or a transport error, counts as a failure;
 * the subscription is kept (UDA allows dropping it; this sim never does).
 * Events are not sent while the state lock is held; ucp_sim_stop()
 * aborts NOTIFYs in flight and returns promptly.
 * GENA faults: the SUBSCRIBE query "?fault=NAME" (&ms=N, default 1000,
 * max 60000) of a new subscription, kept for its life (a renewal's query
 * fault must be known but is not applied):
 *  - skip_seq: the 2nd event after the initial one skips a SEQ (0,1,3,4).
 *  - no_initial: no initial event; the first change is SEQ 1.
 *  - renew_412: every renewal is 412 and forgets the subscription.
 *  - slow_notify: waits ms before starting each NOTIFY.
 *  - early_notify: the initial event is sent before the SUBSCRIBE's 200,
 *    which waits until that NOTIFY was answered or failed (at most 2 s).
 *  - no_events: accepted, renewable, but no NOTIFY ever (minidlna 1.3.0).
 */
#ifndef UCP_SIM_H
#define UCP_SIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct ucp_sim ucp_sim;

typedef struct ucp_sim_opts {
  const char *bind_addr;     /* IPv4 literal; NULL = "127.0.0.1", or
                                "0.0.0.0" when SSDP advertises on a
                                non-loopback interface */
  unsigned short port;       /* 0 = let the OS choose a free port */
  const char *serve_dir;     /* NULL = none; else served at /files/<name> */
  const char *uuid;          /* UDN uuid part; NULL = UCP_SIM_DEFAULT_UUID */
  const char *friendly_name; /* NULL = "upnpcp simulated light" */
  /*
   * SSDP side (UDA 2.0 section 1) and several devices. All zero keeps the
   * plain HTTP simulator: one device, no SSDP socket, nothing multicast.
   * Multicast leaves on every interface named in ssdp_ifaces: run tests
   * that enable it inside a private network namespace.
   */
  int ssdp;                  /* 1 = run the SSDP responder/advertiser */
  const char *ssdp_ifaces;   /* comma-separated names; NULL = "lo" */
  unsigned short ssdp_port;  /* multicast and unicast M-SEARCH; 0 = 1900 */
  int ipv6;                  /* with ssdp: also FF02::C and HTTP over IPv6 */
  int devices;               /* 0 or 1 = one; at most UCP_SIM_MAX_DEVICES */
  unsigned alive_interval_s; /* re-advertise period; 0 = 30 */
  unsigned bootid;           /* BOOTID.UPNP.ORG; 0 = time(NULL) & 0x7fffffff */
  unsigned fault;            /* UCP_SIM_FAULT_* bits (SSDP only) */
  int ssdp_unicast_only;     /* with ssdp: answer unicast M-SEARCH on
                                127.0.0.1:ssdp_port (0 = a free port) and
                                nothing else: no group, no NOTIFY, no
                                multicast at all (make demo) */
  /* GENA side (see the top comment). */
  unsigned gena_timeout_cap_s;     /* most TIMEOUT granted; 0 = 1800 */
  unsigned gena_max_subscriptions; /* live, all devices; 0 = 4096 */
} ucp_sim_opts;

/* Each device costs an MHD thread and about 3 fds (6 with IPv6). */
#define UCP_SIM_MAX_DEVICES 1024
/* Never answer M-SEARCH (still advertise). */
#define UCP_SIM_FAULT_NO_RESPONSE 0x1u
/* Every M-SEARCH response is malformed; the kind cycles deterministically:
 * bad start line, NUL byte, obs-fold, duplicate LOCATION, huge max-age,
 * garbage max-age, header line over 1 KiB, bare CR, datagram over 8 KiB. */
#define UCP_SIM_FAULT_MALFORMED 0x2u
/* LOCATION (responses and NOTIFY) names 192.0.2.1 / [2001:db8::1], not the
 * sender; the datagram still comes from the real interface address. */
#define UCP_SIM_FAULT_OTHER_HOST 0x4u
/* Each response is sent 50 times (still bounded by the send queue). */
#define UCP_SIM_FAULT_FLOOD 0x8u

#define UCP_SIM_DEFAULT_UUID "2f402f80-da50-11e1-9b23-001788010001"
#define UCP_SIM_DEFAULT_NAME "upnpcp simulated light"

/* 0 ok, -1 error (message on stderr). */
int ucp_sim_start(const ucp_sim_opts *opts, ucp_sim **out);
unsigned short ucp_sim_port(const ucp_sim *s);
/* "http://127.0.0.1:PORT", no trailing slash. */
const char *ucp_sim_base_url(const ucp_sim *s);
/* base + "/desc.xml" */
const char *ucp_sim_description_url(const ucp_sim *s);
/* "uuid:<uuid>" as served in <UDN>. */
const char *ucp_sim_udn(const ucp_sim *s);
/* Requests dispatched so far (counted before the response is queued). */
uint64_t ucp_sim_requests(const ucp_sim *s);
/* TCP connections accepted so far (counted when accepted). */
uint64_t ucp_sim_connections(const ucp_sim *s);
/* Stops promptly (< 1 s even mid-fault) and frees everything; NULL is ok. */
void ucp_sim_stop(ucp_sim *s);

/*
 * Control state and counters (any thread). ucp_sim_switch_status(): device
 * dev's SwitchPower Status, 0 or 1 (-1 for a bad dev).
 * ucp_sim_load_level(): its Dimming LoadLevelStatus, 0..100 (UINT_MAX for
 * a bad dev). ucp_sim_actions(): actions and QueryStateVariables executed
 * successfully, all devices. ucp_sim_faults_sent(): UPnPError answers.
 * ucp_sim_state_changes(): changes of evented variables (sendEvents="yes":
 * a value set to what it already was is no change), all devices.
 */
int ucp_sim_switch_status(const ucp_sim *s, int dev);
unsigned ucp_sim_load_level(const ucp_sim *s, int dev);
uint64_t ucp_sim_actions(const ucp_sim *s);
uint64_t ucp_sim_faults_sent(const ucp_sim *s);
uint64_t ucp_sim_state_changes(const ucp_sim *s);

/*
 * Devices. Device i (0 <= i < ucp_sim_device_count()) has its own HTTP
 * server serving every path above (description, SCPDs, icon, /files/,
 * /fault/, /echo) with its own UDN and friendly name; the calls above
 * without an index are device 0. With one device its UDN and name are
 * opts.uuid and opts.friendly_name unchanged; with several, device i has
 * the uuid's last group plus i (mod 16^width) and the name "<name> #i".
 * Out-of-range i gives 0 / NULL.
 */
int ucp_sim_device_count(const ucp_sim *s);
unsigned short ucp_sim_device_port(const ucp_sim *s, int i);
const char *ucp_sim_device_udn(const ucp_sim *s, int i);      /* "uuid:..." */
const char *ucp_sim_device_location(const ucp_sim *s, int i); /* desc URL */

/*
 * SSDP (only when opts.ssdp). ucp_sim_ssdp_port(): the bound SSDP port, 0
 * without SSDP. ucp_sim_msearch_received(): datagrams with an M-SEARCH
 * start line received on a configured interface (answered or not).
 * ucp_sim_ssdp_dropped(): datagrams not sent (queue full, send error).
 * ucp_sim_restart() simulates a reboot (UDA 2.0 section 1.2.4): queues
 * ssdp:byebye for all, BOOTID becomes old+1, then ssdp:update (BOOTID old,
 * NEXTBOOTID new) and ssdp:alive (new); responses queued from now on carry
 * the new BOOTID. Returns at once (the sim's thread sends): 0, or -1
 * without SSDP (nothing done). It also forgets every GENA subscription,
 * as ucp_sim_reboot() does. ucp_sim_bootid(): the current BOOTID.UPNP.ORG
 * (without SSDP the sim keeps one too: opts.bootid or the time, bumped by
 * ucp_sim_reboot()).
 */
unsigned short ucp_sim_ssdp_port(const ucp_sim *s);
uint64_t ucp_sim_msearch_received(const ucp_sim *s);
uint64_t ucp_sim_ssdp_dropped(const ucp_sim *s);
unsigned ucp_sim_bootid(const ucp_sim *s);
int ucp_sim_restart(ucp_sim *s);

/*
 * GENA (any thread). ucp_sim_reboot(): a rebooted device forgets its
 * subscriptions: drops all of them (queued events discarded; a NOTIFY
 * already in flight completes), then bumps BOOTID: with SSDP as
 * ucp_sim_restart() (byebye, update, alive), without it the sim's own.
 * Returns 0; -1 for NULL, or when SSDP runs unicast-only (the
 * subscriptions are dropped anyway, BOOTID unchanged).
 * ucp_sim_subscriptions(): live (unexpired) subscriptions, all devices.
 * ucp_sim_notifies_sent(): NOTIFYs answered 2xx. ucp_sim_notify_failures():
 * NOTIFYs answered otherwise or failed (connect, timeout, reset).
 * ucp_sim_notifies_dropped(): events not queued (the queue was full).
 * ucp_sim_set_switch(): sets device dev's SwitchPower Target and Status
 * to on (0 or nonzero) as SetTarget does, so events go out; not counted
 * in ucp_sim_actions(). 0, or -1 for a bad dev.
 * ucp_sim_set_next_seq(): the SEQ the next event of live subscription sid
 * (any device, any service) will carry, e.g. 0xFFFFFFFF to see the wrap
 * to 1; any value is taken (0 repeats the initial SEQ, as a buggy device
 * would). 0, or -1 for an unknown or expired sid.
 */
int ucp_sim_reboot(ucp_sim *s);
size_t ucp_sim_subscriptions(const ucp_sim *s);
uint64_t ucp_sim_notifies_sent(const ucp_sim *s);
uint64_t ucp_sim_notify_failures(const ucp_sim *s);
uint64_t ucp_sim_notifies_dropped(const ucp_sim *s);
int ucp_sim_set_switch(ucp_sim *s, int dev, int on);
int ucp_sim_set_next_seq(ucp_sim *s, const char *sid, uint32_t seq);

/* Entry of `upnpcp sim`: argv[0] is "sim". Returns the exit status. */
int ucp_sim_main(int argc, char **argv);

/* ---- internal: documents defined in sim_docs.c ---- */

/*
 * Text documents are NULL-terminated lists of fragments, joined by the sim
 * at start: C11 only guarantees string literals of 4095 bytes (5.2.4.1).
 */

/*
 * Root description template (UDA 1.0 section 2.1). Tokens replaced by the
 * sim: {{NAME}} friendly name, {{UUID}} uuid part of the UDN, {{SP}} and
 * {{DIM}} the prefixes of the SwitchPower and Dimming service URLs ("" for
 * the normal relative URLs).
 */
extern const char *const ucp_sim_desc_tmpl[];
extern const char *const ucp_sim_scpd_switchpower[]; /* SwitchPower:1 */
extern const char *const ucp_sim_scpd_dimming[];     /* Dimming:1 */
extern const char *const ucp_sim_doc_malformed[];    /* unclosed tags */
extern const char *const ucp_sim_doc_doctype[];      /* "billion laughs" */
extern const char *const ucp_sim_doc_index[];        /* presentation page */
extern const unsigned char ucp_sim_icon_png[]; /* 48x48 RGB PNG */
extern const size_t ucp_sim_icon_png_len;

/* ---- internal: the SSDP side, sim_ssdp.c ---- */

typedef struct ucp__sim_ssdp ucp__sim_ssdp;

typedef struct ucp__sim_ssdp_cfg {
  const char *ifaces; /* NULL = "lo" */
  unsigned short port; /* 0 = 1900 */
  int ipv6;
  unsigned alive_interval_s, bootid, fault; /* as in ucp_sim_opts */
  int unicast_only;
} ucp__sim_ssdp_cfg;

typedef struct ucp__sim_ssdp_dev {
  const char *udn;     /* "uuid:..."; must outlive the ssdp object */
  unsigned short port; /* HTTP port, IPv4 */
  unsigned short port6; /* HTTP port, IPv6 (ipv6 only) */
} ucp__sim_ssdp_dev;

/* Resolves the interfaces and binds the sockets; sends nothing. 0 / -1. */
int ucp__sim_ssdp_open(const ucp__sim_ssdp_cfg *cfg, ucp__sim_ssdp **out);
/* 1 if every configured interface is a loopback interface. */
int ucp__sim_ssdp_loopback_only(const ucp__sim_ssdp *x);
/* Copies devs; http4/http6 are the literals the HTTP servers listen on
 * ("0.0.0.0" / "::" = any: LOCATION then names the interface's address).
 * Starts the thread, which advertises at once. 0 / -1. */
int ucp__sim_ssdp_run(ucp__sim_ssdp *x, const ucp__sim_ssdp_dev *devs,
                      int ndevs, const char *http4, const char *http6);
unsigned short ucp__sim_ssdp_port(const ucp__sim_ssdp *x);
uint64_t ucp__sim_ssdp_msearch(const ucp__sim_ssdp *x);
uint64_t ucp__sim_ssdp_dropped(const ucp__sim_ssdp *x);
unsigned ucp__sim_ssdp_bootid(ucp__sim_ssdp *x);
int ucp__sim_ssdp_restart(ucp__sim_ssdp *x);
/* Stops the thread, sends ssdp:byebye if it ran, frees; NULL is ok. */
void ucp__sim_ssdp_close(ucp__sim_ssdp *x);

/* ---- internal: the control side, sim_soap.c ---- */

/* Per-sim control state: every device's variables and the counters. */
typedef struct ucp__sim_ctl ucp__sim_ctl;

enum { UCP__SIM_SVC_SWITCHPOWER, UCP__SIM_SVC_DIMMING, UCP__SIM_NSVC };

#define UCP__SIM_SOAP_OUT_MAX 2048u

typedef struct ucp__sim_soap_in {
  int dev, svc;           /* device index, UCP__SIM_SVC_* */
  const char *soapaction; /* the (NN-)SOAPACTION value; NULL if absent */
  const char *body;
  size_t body_len;
  void **parser; /* per-connection expat parser, reused; NULL = none */
  int execute;   /* 0: check only; a 200 body is then the head alone */
} ucp__sim_soap_in;

typedef struct ucp__sim_soap_out {
  unsigned status;   /* 200, 400 (not SOAP), 500 (UPnPError), 503 (OOM) */
  const char *ctype; /* Content-Type */
  int upnp_error;    /* with 500 */
  size_t len;        /* body bytes */
  size_t head_len;   /* 200: end of the response element's start tag */
  size_t val_start, val_end; /* 200: the first out-argument's value */
  int nout;          /* 200: out-arguments written */
  char body[UCP__SIM_SOAP_OUT_MAX];
} ucp__sim_soap_out;

ucp__sim_ctl *ucp__sim_ctl_new(int ndevs); /* NULL: out of memory */
void ucp__sim_ctl_free(ucp__sim_ctl *c);   /* NULL is ok */
/* Checks and (with in->execute) executes one request; fills *out. */
void ucp__sim_soap_handle(ucp__sim_ctl *c, const ucp__sim_soap_in *in,
                          ucp__sim_soap_out *out);
void ucp__sim_soap_parser_free(void *parser); /* NULL is ok */
int ucp__sim_ctl_switch_status(ucp__sim_ctl *c, int dev);
unsigned ucp__sim_ctl_load_level(ucp__sim_ctl *c, int dev);
uint64_t ucp__sim_ctl_actions(const ucp__sim_ctl *c);
uint64_t ucp__sim_ctl_faults(const ucp__sim_ctl *c);
uint64_t ucp__sim_ctl_changes(const ucp__sim_ctl *c);

/* ---- internal: the GENA side, sim_gena.c ---- */

typedef struct ucp__sim_gena ucp__sim_gena;

/* One evented variable as written in an event. */
typedef struct ucp__sim_prop {
  const char *name; /* static (the service table) */
  char val[24];
} ucp__sim_prop;

/* Calls fn with the device locked and every evented variable of svc. */
typedef void (*ucp__sim_props_fn)(void *arg, const ucp__sim_prop *p, int n);

/* Events of changes go to g from now on (set before any request). */
void ucp__sim_ctl_set_gena(ucp__sim_ctl *c, ucp__sim_gena *g);
/* 0, or -1 for a bad dev or svc (fn not called). */
int ucp__sim_ctl_evented(ucp__sim_ctl *c, int dev, int svc,
                         ucp__sim_props_fn fn, void *arg);
int ucp__sim_ctl_set_switch(ucp__sim_ctl *c, int dev, int on);

typedef struct ucp__sim_gena_cfg {
  int ndevs;
  unsigned timeout_cap_s; /* 0 = 1800 */
  unsigned max_subs;      /* 0 = 4096 */
} ucp__sim_gena_cfg;

/* A SUBSCRIBE or UNSUBSCRIBE: headers (NULL = absent) and query. */
typedef struct ucp__sim_gena_req {
  int dev, svc;
  int unsubscribe;
  const char *callback, *nt, *sid, *timeout;
  const char *fault;    /* ?fault=; NULL = none */
  uint64_t ms;          /* ?ms= */
  uint64_t timeout_cap; /* ?timeout_cap=; UINT64_MAX = absent */
} ucp__sim_gena_req;

typedef struct ucp__sim_gena_ans {
  unsigned status;  /* 200, 400, 412, 503 */
  const char *text; /* reason, for an error body */
  char sid[48];     /* 200 to SUBSCRIBE */
  unsigned timeout_s;
  uint64_t release; /* != 0: pass to ucp__sim_gena_release() once the
                       response was sent (the initial event waits) */
} ucp__sim_gena_ans;

/* Starts the sender thread. 0 / -1. */
int ucp__sim_gena_new(const ucp__sim_gena_cfg *cfg, ucp__sim_ctl *ctl,
                      ucp__sim_gena **out);
/* May block up to 2 s (early_notify). */
void ucp__sim_gena_handle(ucp__sim_gena *g, const ucp__sim_gena_req *rq,
                          ucp__sim_gena_ans *ans);
void ucp__sim_gena_release(ucp__sim_gena *g, int dev, int svc, uint64_t id);
/* An event to every live subscription of (dev, svc); the device lock is
 * held, which orders the events of one device as its changes. */
void ucp__sim_gena_event_locked(ucp__sim_gena *g, int dev, int svc,
                                const ucp__sim_prop *p, int n);
void ucp__sim_gena_drop_all(ucp__sim_gena *g);
int ucp__sim_gena_set_next_seq(ucp__sim_gena *g, const char *sid,
                               uint32_t seq);
size_t ucp__sim_gena_subscriptions(ucp__sim_gena *g);
uint64_t ucp__sim_gena_sent(const ucp__sim_gena *g);
uint64_t ucp__sim_gena_failures(const ucp__sim_gena *g);
uint64_t ucp__sim_gena_dropped(const ucp__sim_gena *g);
/* Stops the sender (in-flight NOTIFYs aborted); later events are ignored
 * and requests answered 503. Idempotent; NULL is ok. */
void ucp__sim_gena_stop(ucp__sim_gena *g);
void ucp__sim_gena_free(ucp__sim_gena *g); /* after stop; NULL is ok */

#endif
