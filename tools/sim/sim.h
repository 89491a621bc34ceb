/*
 * sim.h - an HTTP UPnP device simulator on libmicrohttpd.
 *
 * It serves a standard BinaryLight:1 root device (description, SCPDs, icon),
 * files from a directory, and fault endpoints (/fault/...) used as the peer
 * of the control point's HTTP and description tests. Every fault is bounded
 * in time and ucp_sim_stop() returns promptly even mid-fault.
 */
#ifndef UCP_SIM_H
#define UCP_SIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct ucp_sim ucp_sim;

typedef struct ucp_sim_opts {
  const char *bind_addr;     /* IPv4 literal; NULL = "127.0.0.1" */
  unsigned short port;       /* 0 = let the OS choose a free port */
  const char *serve_dir;     /* NULL = none; else served at /files/<name> */
  const char *uuid;          /* UDN uuid part; NULL = UCP_SIM_DEFAULT_UUID */
  const char *friendly_name; /* NULL = "upnpcp simulated light" */
} ucp_sim_opts;

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

#endif
