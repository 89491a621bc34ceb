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
 * without SSDP. ucp_sim_bootid(): the current BOOTID.UPNP.ORG.
 */
unsigned short ucp_sim_ssdp_port(const ucp_sim *s);
uint64_t ucp_sim_msearch_received(const ucp_sim *s);
uint64_t ucp_sim_ssdp_dropped(const ucp_sim *s);
unsigned ucp_sim_bootid(const ucp_sim *s);
int ucp_sim_restart(ucp_sim *s);

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

#endif
