/* cli.h - what the files of the upnpcp command-line tool share: safe
 * printing of network strings, waiting for one operation (cancelled by
 * Ctrl-C through ucp_cancel) and the commands. Only the public header
 * (include/upnpcp.h) and the simulator are used, as curl's src/ does. */
#ifndef UCP_CLI_H
#define UCP_CLI_H

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "sim.h"
#include "upnpcp.h"

enum { FIELD_CAP = 256 };

/* One out-argument of an invoke or query, copied out of the result. */
typedef struct cli_out {
  char *name;
  char *value; /* NULL: the device left it out */
  ucp_type type;
} cli_out;

/* One operation being waited for. The completion callbacks fill it under
 * the lock; the main thread reads it after wait_or_cancel() returned. */
typedef struct waiter {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int done;
  int status;
  int json;
  int progress_tty;
  uint64_t id;
  const ucp_description *desc; /* a reference, when it loaded */
  int quiet;
  int stop; /* set by an event: wait_or_cancel() cancels, returns UCP_OK */
  int refused; /* the start call said no: nothing was sent */
  /* Captured by cli_on_done() (service control). */
  const char *what;     /* label of the progress line */
  const ucp_scpd *scpd; /* a reference, when it loaded */
  int from_cache;
  int http, upnp_error;
  char *upnp_desc, *detail, *warnings;
  size_t nout;
  cli_out *outs;
  int callbacks; /* completion callbacks seen (exactly one, or none) */
} waiter;

extern volatile sig_atomic_t cli_interrupted;

/* Escape C0/C1 controls and bidi overrides; cap FIELD_CAP bytes. */
void put_safe(FILE *f, const char *s);
/* The same with another cap on the input bytes (0: none). */
void put_safe_cap(FILE *f, const char *s, size_t cap);
/* The escaped text, malloc'd (NULL s gives "-"); NULL when out of memory. */
char *safe_dup(const char *s, size_t cap);
json_t *jstr(const char *s);

void waiter_init(waiter *w);
void waiter_destroy(waiter *w);
/* Wait for the completion; on Ctrl-C (or w->stop) cancel through
 * ucp_cancel(). Returns the op's status, 130 when Ctrl-C cancelled it, or
 * UCP_OK when w->stop cancelled it. */
int wait_or_cancel(ucp_cp *cp, waiter *w);
void install_sigint(void);
int exit_code(int status);

/* Completion and progress callbacks that copy a result into a waiter. */
void cli_on_done(uint64_t id, const ucp_result *r, void *user);
void cli_on_progress(uint64_t id, uint64_t num, uint64_t den, int status,
                     void *user);

/* Option values (cli_control.c): seconds as "30", "30s" or "500ms", 1 ms
 * .. max_s; a decimal number lo .. hi. 0, or -1 when malformed. */
int cli_parse_secs(const char *s, uint64_t max_s, uint64_t *out_ms);
int cli_parse_uint(const char *s, unsigned long lo, unsigned long hi,
                   unsigned long *out);

/* Exit statuses: 0 done, 1 failed (remote error, not found, lost, ...),
 * 2 usage error or refused by a start call (nothing was sent), 130 Ctrl-C. */
enum { EX_OK = 0, EX_FAIL = 1, EX_REFUSED = 2, EX_CANCELLED = 130 };

/* ------------------------------------- finding a device and a service */

/* The options of the commands that name DEVICE SERVICE (cli_control.c). */
typedef struct ctl_opts {
  int json, raw, tty;
  int allow_raw, allow_args, allow_sub, want_pos;
  uint64_t timeout_ms; /* 0: the library's default per kind */
  uint64_t search_ms;
  ucp_search_opts *so;
  const char *pos[3]; /* DEVICE SERVICE [ACTION | VARIABLE] */
  int npos;
  ucp_arg *args; /* invoke: Name=Value, split in place */
  size_t nargs;
  /* subscribe */
  uint64_t duration_ms; /* 0: until Ctrl-C or lost */
  uint64_t check_ms;    /* 0: the library's default */
  unsigned cb_port;     /* callback server port, 0: any */
} ctl_opts;

typedef struct ctl_target {
  const ucp_description *desc; /* a reference */
  const ucp_device *dev;       /* the device DEVICE names */
  const ucp_service *svc;
} ctl_target;

typedef struct session {
  ctl_opts o;
  ucp_cp *cp;
  ctl_target t;
  waiter scpd; /* the SCPD download, unless --raw */
} session;

enum {
  SESSION_RAW = 1,  /* --raw allowed (no SCPD then) */
  SESSION_ARGS = 2, /* Name=Value arguments after the positionals */
  SESSION_SUB = 4   /* subscribe's options; the SCPD is optional */
};
/* Parse, then find the device and the service and (unless --raw) read the
 * SCPD. Returns -1 when the command may go on, else its exit status. With
 * SESSION_SUB a failed SCPD is reported and the session goes on without
 * (s->scpd.scpd NULL). session_free() in every case. */
int session_open(session *s, int argc, char **argv, int want_pos,
                 unsigned flags);
void session_free(session *s);
/* A start call said no (nothing sent): the message, EX_REFUSED. */
int cli_refused(const char *what, int rc);
/* The operation ran and failed: the error and its detail, EX_FAIL. */
int cli_failed(const char *what, const waiter *w);
/* Each line of text, escaped, after prefix. */
void put_lines(FILE *f, const char *prefix, const char *text);
/* jstr() that never fails: bytes that are not UTF-8 become \xNN. */
json_t *jsafe(const char *s);
void sleep_ms(long ms);

/* The service-control commands (cli_control.c); argv[0] is the command. */
int cmd_scpd(int argc, char **argv);
int cmd_invoke(int argc, char **argv);
int cmd_query(int argc, char **argv);
/* The control part of `upnpcp demo`: SCPD, invoke, query, faults, cancel
 * of a slow action, then the events part, against the simulator's device
 * described by desc. */
int demo_control(ucp_cp *cp, const ucp_description *desc);

/* Eventing (cli_events.c): `upnpcp subscribe`, and the events part of the
 * demo (subscribe to svc, switch the light, unsubscribe). */
int cmd_subscribe(int argc, char **argv);
int demo_events(ucp_cp *cp, const ucp_service *svc, const ucp_scpd *scpd);

#endif
