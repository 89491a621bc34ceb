/* cli_control.c - service control from the command line (UDA 2.0 §3):
 * `upnpcp scpd`, `invoke` and `query`; finding the device (a description
 * URL, a UDN or a friendly name, UDA 2.0 §1.3) and the service; and the
 * control part of `upnpcp demo`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum { SEARCH_MS_DEFAULT = 3000, CELL_CAP = 200 };

/* ------------------------------------------------ capturing a result */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void capture_outs(waiter *w, const ucp_result *r) {
  size_t n = ucp_result_out_count(r);
  if (!n || !(w->outs = calloc(n, sizeof *w->outs))) return;
  for (size_t i = 0; i < n; i++) {
    w->outs[i].name = dup_or_null(ucp_result_out_name(r, i));
    w->outs[i].value = dup_or_null(ucp_result_out_value(r, i));
    w->outs[i].type = ucp_result_out_type(r, i);
  }
  w->nout = n;
}

/* The result is borrowed for the callback: copy what the main thread
 * prints, and take references to the trees. */
void cli_on_done(uint64_t id, const ucp_result *r, void *user) {
  waiter *w = user;
  (void)id;
  if (w->progress_tty) fputs("\r\033[K", stderr);
  pthread_mutex_lock(&w->lock);
  w->status = ucp_result_status(r);
  w->http = ucp_result_http_status(r);
  w->upnp_error = ucp_result_upnp_error(r);
  w->upnp_desc = dup_or_null(ucp_result_upnp_error_description(r));
  w->detail = dup_or_null(ucp_result_detail(r));
  switch (ucp_result_kind(r)) {
  case UCP_OP_LOAD_DESCRIPTION:
    if (ucp_result_description(r))
      w->desc = ucp_description_ref(ucp_result_description(r));
    break;
  case UCP_OP_SCPD_DOWNLOAD:
    w->scpd = ucp_scpd_ref(ucp_result_scpd(r));
    w->from_cache = ucp_result_from_cache(r);
    break;
  case UCP_OP_INVOKE:
  case UCP_OP_QUERY:
    capture_outs(w, r);
    w->warnings = dup_or_null(ucp_result_warnings(r));
    break;
  default:
    break;
  }
  w->callbacks++;
  w->done = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

void cli_on_progress(uint64_t id, uint64_t num, uint64_t den, int status,
                     void *user) {
  static const char *const phases[] = {"", "queued", "connecting",
                                       "sending", "waiting", "receiving"};
  waiter *w = user;
  (void)id;
  if (!w->progress_tty) return;
  const char *ph = status >= 1 && status <= 5 ? phases[status] : "";
  if (den)
    fprintf(stderr, "\r\033[K  %s: %s, %llu of %llu bytes", w->what, ph,
            (unsigned long long)num, (unsigned long long)den);
  else
    fprintf(stderr, "\r\033[K  %s: %s, %llu bytes", w->what, ph,
            (unsigned long long)num);
}

/* ------------------------------------------------------------ options */

/* "500", "500ms" or "2s", 1 ms .. 1 h. */
static int parse_ms(const char *s, uint64_t *out) {
  if (*s < '0' || *s > '9') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno) return -1;
  if (!strcmp(end, "s")) v = v > 3600 ? 0 : v * 1000;
  else if (*end && strcmp(end, "ms")) return -1;
  if (v == 0 || v > 3600000) return -1;
  *out = v;
  return 0;
}

/* A decimal number lo .. hi, nothing else. */
int cli_parse_uint(const char *s, unsigned long lo, unsigned long hi,
                   unsigned long *out) {
  if (*s < '0' || *s > '9') return -1;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static int add_arg(ctl_opts *o, char *a) {
  char *eq = strchr(a, '=');
  if (!eq || eq == a) {
    fprintf(stderr, "upnpcp: '%s': an argument is Name=Value\n", a);
    return -1;
  }
  ucp_arg *n = realloc(o->args, (o->nargs + 1) * sizeof *n);
  if (!n) return -1;
  o->args = n;
  *eq = 0;
  o->args[o->nargs++] = (ucp_arg){a, eq + 1};
  return 0;
}

/* Seconds: "30", "30s" or "500ms", 1 ms .. max_s. */
int cli_parse_secs(const char *s, uint64_t max_s, uint64_t *out_ms) {
  if (*s < '0' || *s > '9') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno) return -1;
  if (!*end || !strcmp(end, "s")) v = v > max_s ? 0 : v * 1000;
  else if (strcmp(end, "ms") || v > max_s * 1000) return -1;
  if (v == 0) return -1;
  *out_ms = v;
  return 0;
}

/* subscribe's own options: 0 handled, -1 bad, 1 not one of them. */
static int parse_sub_option(const char *a, const char *v, ctl_opts *o) {
  if (!strcmp(a, "--duration"))
    return cli_parse_secs(v, 30 * 86400, &o->duration_ms);
  if (!strcmp(a, "--timeout-request"))
    return cli_parse_secs(v, 3600, &o->timeout_ms);
  if (!strcmp(a, "--check-ms")) return parse_ms(v, &o->check_ms);
  if (strcmp(a, "--port")) return 1;
  char *end;
  unsigned long p = strtoul(v, &end, 10);
  if (*end || *v < '0' || *v > '9' || p > 65535) return -1;
  o->cb_port = (unsigned)p;
  return 0;
}

/* One option at argv[*i]; 0 handled, -1 bad. */
static int parse_option(int argc, char **argv, int *i, ctl_opts *o) {
  static const char *const valued[] = {"--timeout", "--search-ms", "--iface",
                                       "--unicast", "--ssdp-port"};
  static const char *const sub_valued[] = {"--duration", "--timeout-request",
                                           "--check-ms", "--port"};
  const char *a = argv[*i];
  if (!strcmp(a, "--json")) return o->json = 1, 0;
  if (!strcmp(a, "--raw") && o->allow_raw) return o->raw = 1, 0;
  if (!strcmp(a, "--timeout") && o->allow_sub) {
    fputs("upnpcp: subscribe has --duration S (how long to listen) and "
          "--timeout-request S (the deadline of each request)\n", stderr);
    return -1;
  }
  int known = 0;
  for (size_t k = 0; k < sizeof valued / sizeof *valued; k++)
    known |= !strcmp(a, valued[k]);
  for (size_t k = 0; o->allow_sub && k < sizeof sub_valued / sizeof *sub_valued;
       k++)
    known |= !strcmp(a, sub_valued[k]);
  if (!known || *i + 1 >= argc) return -1;
  const char *v = argv[++*i];
  if (o->allow_sub) {
    int r = parse_sub_option(a, v, o);
    if (r <= 0) return r;
  }
  if (!strcmp(a, "--timeout")) return parse_ms(v, &o->timeout_ms);
  if (!strcmp(a, "--search-ms")) return parse_ms(v, &o->search_ms);
  if (!strcmp(a, "--iface"))
    return ucp_search_opts_add_interface(o->so, v) == UCP_OK ? 0 : -1;
  if (!strcmp(a, "--unicast")) { /* only it: nothing multicast */
    if (ucp_search_opts_add_unicast(o->so, v) != UCP_OK) return -1;
    return ucp_search_opts_set_multicast(o->so, 0) == UCP_OK ? 0 : -1;
  }
  char *end; /* --ssdp-port */
  unsigned long p = strtoul(v, &end, 10);
  if (*end || *v < '0' || *v > '9' || p == 0 || p > 65535) return -1;
  return ucp_search_opts_set_port(o->so, (unsigned)p) == UCP_OK ? 0 : -1;
}

/* 0 parsed, 1 --help, -1 usage error. */
static int ctl_parse(int argc, char **argv, ctl_opts *o) {
  int options = 1;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (options && (!strcmp(a, "--help") || !strcmp(a, "-h"))) return 1;
    if (options && !strcmp(a, "--")) {
      options = 0;
    } else if (options && a[0] == '-' && a[1] == '-') {
      if (parse_option(argc, argv, &i, o) != 0) {
        const char *d = ucp_last_error_detail(); /* from a failed setter */
        fprintf(stderr, "upnpcp: bad option or value: %s%s%s%s", a,
                i < argc && argv[i] != a ? " " : "",
                i < argc && argv[i] != a ? argv[i] : "", *d ? ": " : "");
        put_safe_cap(stderr, d, 300);
        fputc('\n', stderr);
        return -1;
      }
    } else if (o->npos < o->want_pos) {
      o->pos[o->npos++] = a;
    } else if (!o->allow_args || add_arg(o, a) != 0) {
      if (!o->allow_args) fprintf(stderr, "upnpcp: unexpected '%s'\n", a);
      return -1;
    }
  }
  return o->npos == o->want_pos ? 0 : -1;
}

static const char usage_lookup[] =
    "  DEVICE  a description URL (http://...), a UDN (uuid:...) or a\n"
    "          friendly name (exact, then any case); an embedded device\n"
    "          counts. A UDN or a name is looked up by an SSDP search:\n"
    "          --search-ms MS (default 3000), --unicast HOST:PORT (search\n"
    "          only there: nothing multicast), --ssdp-port N, --iface IF\n"
    "  SERVICE a serviceId (urn:upnp-org:serviceId:SwitchPower or\n"
    "          SwitchPower) or a serviceType (urn:schemas-upnp-org:\n"
    "          service:SwitchPower:1, SwitchPower:1 or SwitchPower)\n";
static const char usage_exit[] =
    "  MS      milliseconds, or seconds with an s (\"2s\"); --timeout is\n"
    "          the deadline of each request (default: the library's)\n"
    "  exit    0 done, 1 failed (UPnPError, HTTP, not found...), 2 usage\n"
    "          or refused before sending, 130 cancelled (Ctrl-C)\n";
static const char usage_sub_exit[] =
    "  MS      milliseconds, or seconds with an s (\"2s\")\n"
    "  exit    0 unsubscribed at the end of --duration, 1 failed (not\n"
    "          found, SUBSCRIBE refused or unanswered, subscription lost,\n"
    "          UNSUBSCRIBE failed), 2 usage or refused before sending,\n"
    "          130 Ctrl-C (after the UNSUBSCRIBE)\n";

static int usage_for(const char *cmd, FILE *f) {
  if (!strcmp(cmd, "scpd"))
    fputs("usage: upnpcp scpd DEVICE SERVICE [--json] [--timeout MS]\n"
          "  print the actions and state variables of a service (its SCPD)\n",
          f);
  else if (!strcmp(cmd, "invoke"))
    fputs("usage: upnpcp invoke DEVICE SERVICE ACTION [Name=Value]... "
          "[--json] [--raw]\n"
          "                     [--timeout MS]\n"
          "  invoke an action, print its out-arguments \"Name = value\";\n"
          "  in-arguments are checked against the SCPD first, unless --raw\n"
          "  (sent as given, out-arguments read as strings)\n",
          f);
  else if (!strcmp(cmd, "subscribe"))
    fputs("usage: upnpcp subscribe DEVICE SERVICE [--duration S] [--json]\n"
          "                        [--timeout-request S] [--check-ms MS] "
          "[--port P]\n"
          "  subscribe to the service's events (GENA) and print each one as\n"
          "  it comes, with its variables typed by the SCPD (without it when\n"
          "  the SCPD fails), until --duration S (then UNSUBSCRIBE),\n"
          "  Ctrl-C (UNSUBSCRIBE too, exit 130) or the subscription is\n"
          "  lost (exit 1).\n"
          "  --json: one JSON object per line, a last one with the outcome.\n"
          "  --check-ms MS: report UNREACHABLE when no initial event came\n"
          "  within MS (default 5000); --port P: the callback server's port\n"
          "  (default any); S: seconds, or \"500ms\"; --timeout-request S:\n"
          "  the deadline of each request (description, SCPD, SUBSCRIBE)\n",
          f);
  else
    fputs("usage: upnpcp query DEVICE SERVICE VARIABLE [--json] [--raw] "
          "[--timeout MS]\n"
          "  QueryStateVariable (UDA 1.0; many devices answer 401)\n",
          f);
  fputs(usage_lookup, f);
  fputs(strcmp(cmd, "subscribe") ? usage_exit : usage_sub_exit, f);
  return f == stdout ? EX_OK : EX_REFUSED;
}

static ucp_call_opts *call_opts(const ctl_opts *o) {
  ucp_call_opts *c = ucp_call_opts_new();
  if (!c) return NULL;
  ucp_call_opts_set_progress(c, cli_on_progress);
  if (o->timeout_ms) ucp_call_opts_set_deadline(c, o->timeout_ms);
  return c;
}

/* -------------------------------------------------- reporting failures */

/* The last failure, for --json: a command that fails before it has a
 * result still prints one document (print_failure_json). */
static struct {
  char status[40];
  char detail[1024];
} last_failure;

static void note_failure(const char *status, const char *detail) {
  snprintf(last_failure.status, sizeof last_failure.status, "%s", status);
  snprintf(last_failure.detail, sizeof last_failure.detail, "%s",
           detail ? detail : "");
}

/* ": detail" when there is one, else " (what the code means)". */
static void put_reason(int rc, const char *detail) {
  if (detail && *detail) {
    fputs(": ", stderr);
    put_safe_cap(stderr, detail, 1024);
  } else {
    fprintf(stderr, " (%s)", ucp_strerror(rc));
  }
  fputc('\n', stderr);
}

/* A start call said no: nothing was sent, no id was issued. */
static int refused(const char *what, int rc) {
  const char *d = ucp_last_error_detail();
  fprintf(stderr, "upnpcp: cannot %s: %s", what, ucp_err_name(rc));
  put_reason(rc, d);
  note_failure(ucp_err_name(rc), *d ? d : ucp_strerror(rc));
  return EX_REFUSED;
}

static void put_fault(FILE *f, const waiter *w) {
  fprintf(f, "UPnPError %d: ", w->upnp_error);
  put_safe(f, w->upnp_desc ? w->upnp_desc : "(no description)");
}

/* The operation ran and failed: the error, the UPnPError, the detail. */
static int failed(const char *what, const waiter *w) {
  if (w->status == UCP_E_FAULT) {
    fputs("upnpcp: ", stderr);
    put_fault(stderr, w);
    fputc('\n', stderr);
  }
  fputs("upnpcp: ", stderr);
  put_safe(stderr, what);
  fprintf(stderr, " failed: %s", ucp_err_name(w->status));
  if (w->http) fprintf(stderr, ", HTTP %d", w->http);
  put_reason(w->status, w->detail);
  note_failure(ucp_err_name(w->status),
               w->detail && *w->detail ? w->detail : ucp_strerror(w->status));
  return EX_FAIL;
}

static int finish(const char *what, int rc, const waiter *w) {
  if (rc == 130) return EX_CANCELLED;
  return rc == UCP_OK ? EX_OK : failed(what, w);
}

int cli_refused(const char *what, int rc) { return refused(what, rc); }
int cli_failed(const char *what, const waiter *w) { return failed(what, w); }

/* ------------------------------------------------- finding the device */

static int load_desc(ucp_cp *cp, const ctl_opts *o, const char *url,
                     ctl_target *t) {
  waiter w;
  waiter_init(&w);
  w.what = "description";
  w.progress_tty = o->tty;
  ucp_call_opts *c = call_opts(o);
  int rc = ucp_load_description(cp, url, c, cli_on_done, &w, &w.id);
  ucp_call_opts_free(c);
  int ex = rc != UCP_OK
               ? refused("load the description", rc)
               : finish("loading the description", wait_or_cancel(cp, &w), &w);
  if (ex == EX_OK) {
    t->desc = ucp_description_ref(w.desc);
    t->dev = ucp_description_root(t->desc);
  }
  waiter_destroy(&w);
  return ex;
}

typedef struct finder {
  waiter w; /* first: the callbacks get &finder.w */
  const char *want;
  int by_udn;
  const ucp_description *exact, *folded; /* references */
  size_t exact_i, folded_i;
  char **seen; /* "udn  name" of every device seen, for the error */
  size_t nseen;
} finder;

static void note_seen(finder *x, const char *udn, const char *name,
                      const char *why) {
  for (size_t i = 0; i < x->nseen; i++)
    if (!strncmp(x->seen[i], udn, strlen(udn)) &&
        x->seen[i][strlen(udn)] == ' ')
      return;
  char **n = realloc(x->seen, (x->nseen + 1) * sizeof *n);
  if (!n) return;
  x->seen = n;
  size_t len = strlen(udn) + strlen(name) + strlen(why) + 8;
  if ((x->seen[x->nseen] = malloc(len)))
    snprintf(x->seen[x->nseen++], len, "%s  %s%s", udn, name, why);
}

/* Every device of the tree counts (an embedded device answers for itself
 * too, UDA 2.0 §1.3.3, but walking the tree also finds the quiet ones). */
static void match_tree(finder *x, const ucp_description *d) {
  for (size_t i = 0; i < ucp_description_device_count(d); i++) {
    const ucp_device *dev = ucp_description_device(d, i);
    const char *udn = ucp_device_field_get(dev, UCP_DEVICE_UDN);
    const char *name = ucp_device_field_get(dev, UCP_DEVICE_FRIENDLY_NAME);
    note_seen(x, udn ? udn : "-", name ? name : "-", "");
    const char *k = x->by_udn ? udn : name;
    if (!k) continue;
    if (!x->exact && !strcmp(k, x->want)) {
      x->exact = ucp_description_ref(d);
      x->exact_i = i;
      x->w.stop = 1; /* found: wait_or_cancel() ends the search */
      pthread_cond_signal(&x->w.cond);
    } else if (!x->folded && !strcasecmp(k, x->want)) {
      x->folded = ucp_description_ref(d);
      x->folded_i = i;
    }
  }
}

static void on_find_event(uint64_t id, ucp_search_event ev,
                          const ucp_found *f, void *user) {
  finder *x = user;
  (void)id;
  pthread_mutex_lock(&x->w.lock);
  if ((ev == UCP_SEARCH_DEVICE_ADDED || ev == UCP_SEARCH_DEVICE_UPDATED) &&
      ucp_found_description(f)) {
    match_tree(x, ucp_found_description(f));
  } else if (ev == UCP_SEARCH_DEVICE_FAILED) {
    char why[128];
    const char *udn = ucp_found_udn(f), *loc = ucp_found_location(f);
    snprintf(why, sizeof why, " (description failed: %s)",
             ucp_err_name(ucp_found_status(f)));
    note_seen(x, udn ? udn : "-", loc ? loc : "-", why);
  }
  pthread_mutex_unlock(&x->w.lock);
}

static void on_find_progress(uint64_t id, uint64_t num, uint64_t den,
                             int status, void *user) {
  finder *x = user;
  (void)id, (void)status;
  if (!x->w.progress_tty) return;
  fprintf(stderr, "\r\033[K  looking for ");
  put_safe(stderr, x->want);
  fprintf(stderr, ": %llu/%llu described", (unsigned long long)num,
          (unsigned long long)den);
}

static void not_found_device(const finder *x, const ctl_opts *o) {
  char d[600];
  snprintf(d, sizeof d, "no device with %s '%.400s' answered within %llu ms",
           x->by_udn ? "UDN" : "friendly name", x->want,
           (unsigned long long)o->search_ms);
  note_failure("UCP_E_NOT_FOUND", d);
  fprintf(stderr, "upnpcp: no device with %s '",
          x->by_udn ? "UDN" : "friendly name");
  put_safe(stderr, x->want);
  fprintf(stderr, "' answered within %llu ms",
          (unsigned long long)o->search_ms);
  if (!x->nseen) {
    fputs("; no device answered at all\n", stderr);
    return;
  }
  fputs("; devices seen:\n", stderr);
  for (size_t i = 0; i < x->nseen; i++) {
    fputs("  ", stderr);
    put_safe(stderr, x->seen[i]);
    fputc('\n', stderr);
  }
}

static void finder_free(finder *x) {
  ucp_description_unref(x->exact);
  ucp_description_unref(x->folded);
  for (size_t i = 0; i < x->nseen; i++) free(x->seen[i]);
  free(x->seen);
  waiter_destroy(&x->w);
}

/* Search (ST the UDN, or ssdp:all for a name) for at most search_ms; stop
 * at the first exact match, else take the first case-insensitive one. */
static int search_device(ucp_cp *cp, const ctl_opts *o, const char *want,
                         ctl_target *t) {
  finder x;
  memset(&x, 0, sizeof x);
  waiter_init(&x.w);
  x.w.progress_tty = o->tty;
  x.want = want;
  x.by_udn = !strncasecmp(want, "uuid:", 5);
  ucp_search_opts_set_mx(o->so, 1);
  ucp_search_opts_set_duration(o->so, o->search_ms);
  ucp_call_opts *c = ucp_call_opts_new();
  if (c) {
    ucp_call_opts_set_progress(c, on_find_progress);
    ucp_call_opts_set_deadline(c, o->search_ms + 5000);
  }
  /* A UDN is its own search target (UDA 2.0 §1.3.2); its case may differ. */
  int rc = ucp_search(cp, x.by_udn ? want : "ssdp:all", o->so, c,
                      on_find_event, cli_on_done, &x, &x.w.id);
  ucp_call_opts_free(c);
  int ex = rc != UCP_OK ? refused("search", rc) : EX_OK;
  if (ex == EX_OK) rc = wait_or_cancel(cp, &x.w);
  if (ex == EX_OK && rc == 130) ex = EX_CANCELLED;
  if (ex == EX_OK) {
    const ucp_description *d = x.exact ? x.exact : x.folded;
    if (d) {
      t->desc = ucp_description_ref(d);
      t->dev = ucp_description_device(d, x.exact ? x.exact_i : x.folded_i);
    } else {
      if (rc != UCP_OK) failed("the search", &x.w);
      not_found_device(&x, o);
      ex = EX_FAIL;
    }
  }
  finder_free(&x);
  return ex;
}

/* "192.168.1.1:5000/desc.xml", "192.168.1.1:5000", "[fe80::1]:80/x",
 * "host:49152/x": an address or URL without its scheme, not a friendly
 * name ("Sonos:5" and "Kitchen: 2" stay names: no path, no address). */
static int looks_like_url(const char *dev) {
  if (dev[0] == '[') return 1;
  const char *colon = strchr(dev, ':');
  if (!colon || colon == dev || colon[1] < '0' || colon[1] > '9') return 0;
  int dotted = 1, hosty = 1, dots = 0;
  for (const char *p = dev; p < colon; p++) {
    dotted &= (*p >= '0' && *p <= '9') || *p == '.';
    dots += *p == '.';
    hosty &= (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
             (*p >= 'A' && *p <= 'Z') || *p == '.' || *p == '-';
  }
  const char *q = colon + 1;
  while (*q >= '0' && *q <= '9') q++;
  if (dotted && dots == 3 && (!*q || *q == '/')) return 1;
  return hosty && *q == '/';
}

static int resolve_device(ucp_cp *cp, const ctl_opts *o,
                          ctl_target *t) {
  const char *dev = o->pos[0];
  if (strstr(dev, "://")) return load_desc(cp, o, dev, t);
  if (!*dev || looks_like_url(dev)) { /* not searched for: say so */
    fputs("upnpcp: DEVICE '", stderr);
    put_safe(stderr, dev);
    fputs(*dev ? "' looks like an address: a description URL starts with "
                 "http:// (a name or UDN is searched for)\n"
               : "' is empty\n",
          stderr);
    note_failure("UCP_E_INVALIDARG", *dev ? "DEVICE looks like a URL "
                                            "without http://"
                                          : "DEVICE is empty");
    return EX_REFUSED;
  }
  return search_device(cp, o, dev, t);
}

/* ------------------------------------------------ finding the service */

typedef int (*cmp_fn)(const char *, const char *);
typedef int (*ncmp_fn)(const char *, const char *, size_t);

/* How SERVICE names svc, best first: full serviceId, full serviceType,
 * the serviceId's last part, "Name:V", "Name" or "Name:V" for a later
 * version (UDA 2.0 §2.5: a later version does what an earlier one did);
 * 0 when it does not. */
static int svc_form(const ucp_service *svc, const char *want, cmp_fn cmp,
                    ncmp_fn ncmp) {
  const char *id = ucp_service_field_get(svc, UCP_SERVICE_ID);
  const char *type = ucp_service_field_get(svc, UCP_SERVICE_TYPE);
  if (id && !cmp(id, want)) return 5;
  if (type && !cmp(type, want)) return 4;
  if (id && strrchr(id, ':') && !cmp(strrchr(id, ':') + 1, want)) return 3;
  const char *p = type ? strstr(type, ":service:") : NULL;
  if (!p) return 0;
  p += strlen(":service:");
  if (!cmp(p, want)) return 2;
  size_t n = strcspn(p, ":");
  if (ncmp(p, want, n) || (want[n] && want[n] != ':')) return 0;
  if (!want[n]) return 1;
  char *end;
  long have = p[n] ? strtol(p + n + 1, &end, 10) : 0;
  long asked = strtol(want + n + 1, &end, 10);
  return !*end && asked > 0 && have >= asked ? 1 : 0;
}

static int svc_score(const ucp_service *svc, const char *want) {
  int exact = svc_form(svc, want, strcmp, strncmp);
  if (exact) return exact * 2 + 1;
  return svc_form(svc, want, strcasecmp, strncasecmp) * 2;
}

static int in_subtree(const ucp_device *d, const ucp_device *top) {
  for (; d; d = ucp_device_parent(d))
    if (d == top) return 1;
  return 0;
}

/* The best match in the named device and its embedded devices, else in
 * the rest of the tree; the first in tree order among equals. */
static const ucp_service *find_service(const ucp_description *desc,
                                       const ucp_device *top,
                                       const char *want) {
  const ucp_service *best = NULL;
  int best_key = 0;
  for (size_t i = 0; i < ucp_description_device_count(desc); i++) {
    const ucp_device *d = ucp_description_device(desc, i);
    int near = in_subtree(d, top);
    for (size_t j = 0; j < ucp_device_service_count(d); j++) {
      const ucp_service *s = ucp_device_service(d, j);
      int sc = svc_score(s, want);
      int key = sc ? sc + near * 100 : 0;
      if (key > best_key) best = s, best_key = key;
    }
  }
  return best;
}

static void put_device_name(FILE *f, const ucp_device *d) {
  put_safe(f, ucp_device_field_get(d, UCP_DEVICE_FRIENDLY_NAME));
  fputs(" (", f);
  put_safe(f, ucp_device_field_get(d, UCP_DEVICE_UDN));
  fputc(')', f);
}

static int resolve_service(const ctl_opts *o, ctl_target *t) {
  t->svc = find_service(t->desc, t->dev, o->pos[1]);
  if (t->svc) return EX_OK;
  char why[600];
  snprintf(why, sizeof why, "no service '%.400s' in the device", o->pos[1]);
  note_failure("UCP_E_NOT_FOUND", why);
  fputs("upnpcp: no service '", stderr);
  put_safe(stderr, o->pos[1]);
  fputs("' in ", stderr);
  put_device_name(stderr, t->dev);
  fputs("; services (serviceId, serviceType, device):\n", stderr);
  size_t n = 0;
  for (size_t i = 0; i < ucp_description_device_count(t->desc); i++) {
    const ucp_device *d = ucp_description_device(t->desc, i);
    for (size_t j = 0; j < ucp_device_service_count(d); j++, n++) {
      const ucp_service *s = ucp_device_service(d, j);
      fputs("  ", stderr);
      put_safe(stderr, ucp_service_field_get(s, UCP_SERVICE_ID));
      fputs("  ", stderr);
      put_safe(stderr, ucp_service_field_get(s, UCP_SERVICE_TYPE));
      fputs("  ", stderr);
      put_safe(stderr, ucp_device_field_get(d, UCP_DEVICE_FRIENDLY_NAME));
      fputc('\n', stderr);
    }
  }
  if (!n) fputs("  (none)\n", stderr);
  return EX_FAIL;
}

/* ------------------------------------------------------------ the SCPD */

static int get_scpd(ucp_cp *cp, const ctl_opts *o, const ucp_service *svc,
                    waiter *w) {
  w->what = "SCPD";
  w->progress_tty = o->tty;
  ucp_call_opts *c = call_opts(o);
  int rc = ucp_scpd_download(cp, svc, c, cli_on_done, w, &w->id);
  ucp_call_opts_free(c);
  if (rc != UCP_OK) return refused("download the SCPD", rc);
  return finish("downloading the SCPD", wait_or_cancel(cp, w), w);
}

/* Columns pad by code points, after escaping. */
static size_t width_of(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

static void put_cell(const char *s, size_t width) {
  char *e = safe_dup(s, FIELD_CAP);
  size_t n = e ? width_of(e) : 0;
  if (e) fputs(e, stdout);
  for (; n < width; n++) putchar(' ');
  free(e);
}

static size_t cell_width(const char *s) {
  char *e = safe_dup(s, FIELD_CAP);
  size_t n = e ? width_of(e) : 0;
  free(e);
  return n;
}

static const char *var_type(const ucp_statevar *v) {
  if (!v) return "?";
  const char *t = ucp_statevar_type_name(v);
  return t ? t : "-";
}

static void print_actions(const ucp_scpd *s) {
  size_t na = ucp_scpd_action_count(s), wn = 4, wr = 4;
  for (size_t i = 0; i < na; i++) {
    const ucp_action *a = ucp_scpd_action(s, i);
    for (size_t j = 0; j < ucp_action_argument_count(a); j++) {
      const ucp_argument *g = ucp_action_argument(a, j);
      size_t n = cell_width(ucp_argument_name(g));
      size_t r = cell_width(ucp_argument_related_name(g));
      if (n > wn) wn = n;
      if (r > wr) wr = r;
    }
  }
  printf("\nactions (%zu)\n", na);
  for (size_t i = 0; i < na; i++) {
    const ucp_action *a = ucp_scpd_action(s, i);
    printf("  ");
    put_safe(stdout, ucp_action_name(a));
    putchar('\n');
    for (size_t j = 0; j < ucp_action_argument_count(a); j++) {
      const ucp_argument *g = ucp_action_argument(a, j);
      const ucp_statevar *v = ucp_argument_statevar(g);
      printf("    %-4s ",
             ucp_argument_direction(g) == UCP_DIR_OUT ? "out" : "in");
      put_cell(ucp_argument_name(g), wn + 2);
      put_cell(ucp_argument_related_name(g), wr + 2);
      put_safe(stdout, var_type(v));
      if (!v) fputs(" (no such variable: sent and read as a string)", stdout);
      if (ucp_argument_is_retval(g)) fputs("  retval", stdout);
      putchar('\n');
    }
  }
}

/* A growable string, for the "allowed" cell. */
typedef struct sbuf {
  char *p;
  size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s) {
  size_t l = strlen(s);
  if (b->n + l + 1 > b->cap) {
    size_t cap = (b->n + l + 1) * 2;
    char *p = realloc(b->p, cap);
    if (!p) return;
    b->p = p, b->cap = cap;
  }
  memcpy(b->p + b->n, s, l + 1);
  b->n += l;
}

/* "values: a, b" and/or "range: min..max step s"; malloc'd, "" if none. */
static char *allowed_text(const ucp_statevar *v) {
  sbuf b = {0};
  sb_add(&b, "");
  size_t n = ucp_statevar_allowed_count(v);
  for (size_t i = 0; i < n; i++) {
    sb_add(&b, i ? ", " : "values: ");
    sb_add(&b, ucp_statevar_allowed(v, i));
  }
  const char *min, *max, *step;
  if (ucp_statevar_range(v, &min, &max, &step)) {
    sb_add(&b, n ? "; range: " : "range: ");
    sb_add(&b, min ? min : "?");
    sb_add(&b, "..");
    sb_add(&b, max ? max : "?");
    if (step) {
      sb_add(&b, " step ");
      sb_add(&b, step);
    }
  }
  return b.p;
}

static void print_statevars(const ucp_scpd *s) {
  size_t nv = ucp_scpd_statevar_count(s), wn = 4, wt = 4, wd = 7;
  for (size_t i = 0; i < nv; i++) {
    const ucp_statevar *v = ucp_scpd_statevar(s, i);
    size_t n = cell_width(ucp_statevar_name(v));
    size_t t = cell_width(var_type(v));
    size_t d = cell_width(ucp_statevar_default(v));
    if (n > wn) wn = n;
    if (t > wt) wt = t;
    if (d > wd) wd = d;
  }
  printf("\nstate variables (%zu)\n  ", nv);
  put_cell("NAME", wn + 2);
  put_cell("TYPE", wt + 2);
  put_cell("EVENTS", 8);
  put_cell("DEFAULT", wd + 2);
  puts("ALLOWED");
  for (size_t i = 0; i < nv; i++) {
    const ucp_statevar *v = ucp_scpd_statevar(s, i);
    printf("  ");
    put_cell(ucp_statevar_name(v), wn + 2);
    put_cell(var_type(v), wt + 2);
    put_cell(ucp_statevar_sends_events(v)
                 ? (ucp_statevar_multicast(v) ? "yes,mc" : "yes")
                 : "no",
             8);
    char *al = allowed_text(v);
    if (al && *al) {
      put_cell(ucp_statevar_default(v), wd + 2);
      put_safe_cap(stdout, al, CELL_CAP);
    } else { /* no trailing blanks */
      put_safe(stdout, ucp_statevar_default(v));
    }
    free(al);
    putchar('\n');
  }
}

void put_lines(FILE *f, const char *prefix, const char *text) {
  for (const char *p = text; p && *p;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char line[FIELD_CAP + 1];
    snprintf(line, sizeof line, "%.*s", (int)(n > FIELD_CAP ? FIELD_CAP : n),
             p);
    fputs(prefix, f);
    put_safe(f, line);
    fputc('\n', f);
    p += n + (e ? 1 : 0);
  }
}

static void print_scpd(const ucp_service *svc, const waiter *w) {
  static const char *const labels[] = {"serviceType", "serviceId", "SCPDURL",
                                       "controlURL"};
  const ucp_scpd *s = w->scpd;
  for (int f = 0; f < 4; f++) {
    printf("%-18s ", labels[f]);
    put_safe(stdout, ucp_service_field_get(svc, (ucp_service_field)f));
    putchar('\n');
  }
  int maj, min;
  ucp_scpd_spec_version(s, &maj, &min);
  printf("%-18s %d.%d%s\n", "specVersion", maj, min,
         w->from_cache ? " (from the cache)" : "");
  if (ucp_scpd_config_id(s) >= 0)
    printf("%-18s %lld\n", "configId", (long long)ucp_scpd_config_id(s));
  print_actions(s);
  print_statevars(s);
  if (*ucp_scpd_warnings(s)) {
    puts("\ncompliance warnings:");
    put_lines(stdout, "  ", ucp_scpd_warnings(s));
  }
}

/* ------------------------------------------------------------- JSON */

static void put_json(json_t *o) {
  char *s = json_dumps(o, JSON_INDENT(2) | JSON_ENSURE_ASCII);
  if (s) puts(s);
  free(s);
  json_decref(o);
}

static json_t *json_head(const waiter *w, const ucp_service *svc) {
  json_t *o = json_object();
  json_object_set_new(o, "id", json_integer((json_int_t)w->id));
  json_object_set_new(o, "status", json_string(ucp_err_name(w->status)));
  json_object_set_new(o, "httpStatus", json_integer(w->http));
  if (svc) {
    const ucp_device *d = ucp_service_device(svc);
    const char *udn = ucp_device_field_get(d, UCP_DEVICE_UDN);
    const char *name = ucp_device_field_get(d, UCP_DEVICE_FRIENDLY_NAME);
    json_object_set_new(o, "UDN", jstr(udn));
    json_object_set_new(o, "friendlyName", jstr(name));
    json_object_set_new(o, "serviceType",
                        jstr(ucp_service_field_get(svc, UCP_SERVICE_TYPE)));
    json_object_set_new(o, "serviceId",
                        jstr(ucp_service_field_get(svc, UCP_SERVICE_ID)));
  }
  if (w->status != UCP_OK)
    json_object_set_new(o, "detail", jsafe(w->detail ? w->detail : ""));
  return o;
}

static json_t *args_json(const ucp_action *a) {
  json_t *arr = json_array();
  for (size_t j = 0; j < ucp_action_argument_count(a); j++) {
    const ucp_argument *g = ucp_action_argument(a, j);
    const ucp_statevar *v = ucp_argument_statevar(g);
    json_array_append_new(arr, json_pack(
        "{s:o,s:s,s:o,s:o,s:b}", "name", jstr(ucp_argument_name(g)),
        "direction", ucp_argument_direction(g) == UCP_DIR_OUT ? "out" : "in",
        "relatedStateVariable", jstr(ucp_argument_related_name(g)), "type",
        jstr(v ? ucp_statevar_type_name(v) : NULL), "retval",
        ucp_argument_is_retval(g)));
  }
  return arr;
}

static json_t *statevar_json(const ucp_statevar *v) {
  json_t *o = json_pack(
      "{s:o,s:o,s:b,s:b,s:o}", "name", jstr(ucp_statevar_name(v)), "type",
      jstr(ucp_statevar_type_name(v)), "sendEvents",
      ucp_statevar_sends_events(v), "multicast", ucp_statevar_multicast(v),
      "default", jstr(ucp_statevar_default(v)));
  json_t *al = json_null();
  if (ucp_statevar_allowed_count(v)) {
    al = json_array();
    for (size_t i = 0; i < ucp_statevar_allowed_count(v); i++)
      json_array_append_new(al, jstr(ucp_statevar_allowed(v, i)));
  }
  json_object_set_new(o, "allowedValues", al);
  const char *min, *max, *step;
  if (ucp_statevar_range(v, &min, &max, &step))
    json_object_set_new(o, "range",
                        json_pack("{s:o,s:o,s:o}", "min", jstr(min), "max",
                                  jstr(max), "step", jstr(step)));
  else
    json_object_set_new(o, "range", json_null());
  return o;
}

static void print_scpd_json(const ucp_service *svc, const waiter *w) {
  json_t *o = json_head(w, svc);
  json_object_set_new(o, "SCPDURL",
                      jstr(ucp_service_field_get(svc, UCP_SERVICE_SCPD_URL)));
  json_object_set_new(o, "fromCache", json_boolean(w->from_cache));
  const ucp_scpd *s = w->scpd;
  if (s) {
    int maj, min;
    ucp_scpd_spec_version(s, &maj, &min);
    json_object_set_new(o, "specVersion",
                        json_pack("{s:i,s:i}", "major", maj, "minor", min));
    int64_t cid = ucp_scpd_config_id(s);
    json_object_set_new(o, "configId",
                        cid >= 0 ? json_integer((json_int_t)cid) : json_null());
    json_object_set_new(o, "warnings", json_string(ucp_scpd_warnings(s)));
    json_t *acts = json_array(), *vars = json_array();
    for (size_t i = 0; i < ucp_scpd_action_count(s); i++) {
      const ucp_action *a = ucp_scpd_action(s, i);
      json_array_append_new(acts, json_pack("{s:o,s:o}", "name",
                                            jstr(ucp_action_name(a)),
                                            "arguments", args_json(a)));
    }
    for (size_t i = 0; i < ucp_scpd_statevar_count(s); i++)
      json_array_append_new(vars, statevar_json(ucp_scpd_statevar(s, i)));
    json_object_set_new(o, "actions", acts);
    json_object_set_new(o, "stateVariables", vars);
  }
  put_json(o);
}

static json_t *lines_json(const char *text) {
  json_t *arr = json_array();
  for (const char *p = text; p && *p;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    json_array_append_new(arr, json_stringn(p, n));
    p += n + (e ? 1 : 0);
  }
  return arr;
}

/* An invoke or query result; `name` is the action or the variable. */
static void print_call_json(const ucp_service *svc, const waiter *w,
                            const char *key, const char *name, int raw) {
  json_t *o = json_head(w, svc);
  const char *ctl = ucp_service_field_get(svc, UCP_SERVICE_CONTROL_URL);
  json_object_set_new(o, "controlURL", jstr(ctl));
  json_object_set_new(o, key, jstr(name));
  json_object_set_new(o, "raw", json_boolean(raw));
  json_t *out = json_array();
  for (size_t i = 0; i < w->nout; i++)
    json_array_append_new(out, json_pack("{s:o,s:o,s:o}", "name",
                                         jstr(w->outs[i].name), "value",
                                         jstr(w->outs[i].value), "type",
                                         jstr(ucp_type_name(w->outs[i].type))));
  json_object_set_new(o, "out", out);
  json_object_set_new(o, "warnings", lines_json(w->warnings));
  if (w->status == UCP_E_FAULT)
    json_object_set_new(o, "upnpError",
                        json_pack("{s:i,s:o}", "code", w->upnp_error,
                                  "description", jstr(w->upnp_desc)));
  else
    json_object_set_new(o, "upnpError", json_null());
  put_json(o);
}

/* A refused start with --json: still one document on stdout. */
static void print_refused_json(int rc) {
  put_json(json_pack("{s:n,s:s,s:o}", "id", "status", ucp_err_name(rc),
                     "detail", jsafe(ucp_last_error_detail())));
}

/* The command failed before it had a result (device, service, SCPD,
 * Ctrl-C): with --json, one document all the same. */
static void print_failure_json(int ex) {
  const char *st = ex == EX_CANCELLED ? "cancelled"
                   : last_failure.status[0] ? last_failure.status
                                            : "UCP_E_FAIL";
  put_json(json_pack("{s:n,s:s,s:o,s:i}", "id", "status", st, "detail",
                     jsafe(ex == EX_CANCELLED ? "interrupted (Ctrl-C)"
                                              : last_failure.detail),
                     "exit", ex));
}

/* -------------------------------------------------------- the commands */

void session_free(session *s) {
  ucp_description_unref(s->t.desc);
  if (s->cp) ucp_cp_free(s->cp);
  waiter_destroy(&s->scpd);
  ucp_search_opts_free(s->o.so);
  free(s->o.args);
}

int session_open(session *s, int argc, char **argv, int want_pos,
                 unsigned flags) {
  memset(s, 0, sizeof *s);
  waiter_init(&s->scpd);
  ctl_opts *o = &s->o;
  int allow_raw = !!(flags & SESSION_RAW);
  o->want_pos = want_pos, o->allow_raw = allow_raw;
  o->allow_args = !!(flags & SESSION_ARGS);
  o->allow_sub = !!(flags & SESSION_SUB);
  o->search_ms = SEARCH_MS_DEFAULT;
  if (!(o->so = ucp_search_opts_new())) return EX_FAIL;
  int p = ctl_parse(argc, argv, o);
  if (p) return usage_for(argv[0], p > 0 ? stdout : stderr);
  o->tty = isatty(STDERR_FILENO) && !o->json;
  install_sigint();
  int rc = ucp_cp_new(NULL, &s->cp);
  if (rc != UCP_OK) {
    s->cp = NULL;
    fprintf(stderr, "upnpcp: %s\n", ucp_strerror(rc));
    return EX_FAIL;
  }
  int ex = resolve_device(s->cp, o, &s->t);
  if (ex == EX_OK) ex = resolve_service(o, &s->t);
  if (ex == EX_OK && !o->raw) {
    ex = get_scpd(s->cp, o, s->t.svc, &s->scpd);
    if ((ex == EX_FAIL || ex == EX_REFUSED) && allow_raw)
      fputs("upnpcp: (--raw works without the SCPD)\n", stderr);
    if ((ex == EX_FAIL || ex == EX_REFUSED) && o->allow_sub) {
      fputs("upnpcp: warning: subscribing without the SCPD: event values "
            "are not typed\n", stderr);
      ucp_scpd_unref(s->scpd.scpd);
      s->scpd.scpd = NULL;
      ex = EX_OK;
    }
  }
  return ex == EX_OK ? -1 : ex;
}

int cmd_scpd(int argc, char **argv) {
  session s;
  int ex = session_open(&s, argc, argv, 2, 0);
  if (ex < 0) {
    if (s.o.json) print_scpd_json(s.t.svc, &s.scpd);
    else print_scpd(s.t.svc, &s.scpd);
    ex = EX_OK;
  } else if (s.o.json && s.scpd.id && s.scpd.done) {
    print_scpd_json(s.t.svc, &s.scpd); /* the download ran and failed */
  } else if (s.o.json && ex != EX_OK && s.cp) {
    print_failure_json(ex);
  }
  session_free(&s);
  return ex;
}

static void print_outs(const waiter *w) {
  for (size_t i = 0; i < w->nout; i++) {
    put_safe(stdout, w->outs[i].name);
    fputs(" = ", stdout);
    if (w->outs[i].value) put_safe_cap(stdout, w->outs[i].value, 0);
    else fputs("(absent)", stdout);
    putchar('\n');
  }
  put_lines(stderr, "upnpcp: warning: ", w->warnings);
}

/* Wait for an invoke or query started with `rc`, print, exit status. */
static int call_finish(session *s, waiter *w, int rc, const char *key,
                       const char *name) {
  if (rc != UCP_OK) {
    if (s->o.json) print_refused_json(rc);
    return refused(!strcmp(key, "action") ? "invoke" : "query", rc);
  }
  rc = wait_or_cancel(s->cp, w);
  if (rc == 130) {
    if (s->o.json) print_failure_json(EX_CANCELLED);
    return EX_CANCELLED;
  }
  if (s->o.json) print_call_json(s->t.svc, w, key, name, s->o.raw);
  else if (rc == UCP_OK) print_outs(w);
  if (rc == UCP_OK) return EX_OK;
  if (!s->o.json) return failed(name, w);
  return EX_FAIL;
}

int cmd_invoke(int argc, char **argv) {
  session s;
  int ex = session_open(&s, argc, argv, 3, SESSION_RAW | SESSION_ARGS);
  if (ex < 0) {
    waiter w;
    waiter_init(&w);
    w.what = s.o.pos[2];
    w.progress_tty = s.o.tty;
    ucp_call_opts *c = call_opts(&s.o);
    int rc = ucp_invoke(s.cp, s.t.svc, s.scpd.scpd, s.o.pos[2], s.o.args,
                        s.o.nargs, c, cli_on_done, &w, &w.id);
    ucp_call_opts_free(c);
    ex = call_finish(&s, &w, rc, "action", s.o.pos[2]);
    waiter_destroy(&w);
  } else if (s.o.json && s.cp) {
    print_failure_json(ex);
  }
  session_free(&s);
  return ex;
}

int cmd_query(int argc, char **argv) {
  session s;
  int ex = session_open(&s, argc, argv, 3, SESSION_RAW);
  if (ex < 0) {
    waiter w;
    waiter_init(&w);
    w.what = "QueryStateVariable";
    w.progress_tty = s.o.tty;
    ucp_call_opts *c = call_opts(&s.o);
    int rc = ucp_query_state_variable(s.cp, s.t.svc, s.scpd.scpd, s.o.pos[2],
                                      c, cli_on_done, &w, &w.id);
    ucp_call_opts_free(c);
    ex = call_finish(&s, &w, rc, "variable", s.o.pos[2]);
    waiter_destroy(&w);
  } else if (s.o.json && s.cp) {
    print_failure_json(ex);
  }
  session_free(&s);
  return ex;
}

/* ---------------------------------------------------------- the demo */

void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void demo_scpd_summary(const ucp_scpd *s) {
  size_t na = ucp_scpd_action_count(s), nv = ucp_scpd_statevar_count(s);
  printf("%zu actions, %zu state variables\n", na, nv);
  for (size_t i = 0; i < na; i++) {
    const ucp_action *a = ucp_scpd_action(s, i);
    printf("  %s(", ucp_action_name(a));
    for (size_t j = 0; j < ucp_action_argument_count(a); j++) {
      const ucp_argument *g = ucp_action_argument(a, j);
      printf("%s%s %s: %s", j ? ", " : "",
             ucp_argument_direction(g) == UCP_DIR_OUT ? "out" : "in",
             ucp_argument_name(g), var_type(ucp_argument_statevar(g)));
    }
    puts(")");
  }
  for (size_t i = 0; i < nv; i++) {
    const ucp_statevar *v = ucp_scpd_statevar(s, i);
    printf("  state %s: %s, default %s%s\n", ucp_statevar_name(v), var_type(v),
           ucp_statevar_default(v) ? ucp_statevar_default(v) : "-",
           ucp_statevar_sends_events(v) ? ", evented" : "");
  }
}

/* Invoke (or query, when action is NULL) and wait; the caller reads w. */
static int demo_call(ucp_cp *cp, const ucp_service *svc, const ucp_scpd *scpd,
                     const char *action, const char *arg, const char *value,
                     waiter *w) {
  waiter_init(w);
  ucp_arg a = {arg, value};
  int rc = action ? ucp_invoke(cp, svc, scpd, action, arg ? &a : NULL,
                               arg ? 1 : 0, NULL, cli_on_done, w, &w->id)
                  : ucp_query_state_variable(cp, svc, scpd, arg, NULL,
                                             cli_on_done, w, &w->id);
  if (rc != UCP_OK) {
    printf("refused: %s: %s\n", ucp_err_name(rc), ucp_last_error_detail());
    return rc;
  }
  return wait_or_cancel(cp, w);
}

static void demo_outs(const waiter *w) {
  for (size_t i = 0; i < w->nout; i++) {
    printf("  %s = ", w->outs[i].name ? w->outs[i].name : "-");
    put_safe(stdout, w->outs[i].value);
    printf(" (%s)\n", ucp_type_name(w->outs[i].type)
                          ? ucp_type_name(w->outs[i].type)
                          : "untyped");
  }
}

static int demo_invoke(ucp_cp *cp, const ucp_service *sp,
                       const ucp_scpd *scpd) {
  printf("\n== invoke: SetTarget(1), then read it back\n");
  waiter w;
  int rc = demo_call(cp, sp, scpd, "SetTarget", "newTargetValue", "1", &w);
  printf("request %llu SetTarget(newTargetValue=1) -> %s, HTTP %d\n",
         (unsigned long long)w.id, ucp_err_name(rc), w.http);
  waiter_destroy(&w);
  if (rc != UCP_OK) return rc;
  rc = demo_call(cp, sp, scpd, "GetStatus", NULL, NULL, &w);
  printf("request %llu GetStatus -> %s\n", (unsigned long long)w.id,
         ucp_err_name(rc));
  demo_outs(&w);
  int on = rc == UCP_OK && w.nout == 1 && w.outs[0].value &&
           !strcmp(w.outs[0].value, "1");
  waiter_destroy(&w);
  if (!on) return UCP_E_FAIL;
  rc = demo_call(cp, sp, scpd, NULL, "Status", NULL, &w);
  printf("request %llu QueryStateVariable(Status) -> %s\n",
         (unsigned long long)w.id, ucp_err_name(rc));
  demo_outs(&w);
  waiter_destroy(&w);
  return rc;
}

static int demo_faults(ucp_cp *cp, const ucp_service *sp,
                       const ucp_scpd *scpd) {
  printf("\n== faults: SetTarget(newTargetValue=maybe)\n");
  waiter w;
  int rc = demo_call(cp, sp, NULL, "SetTarget", "newTargetValue", "maybe", &w);
  printf("request %llu sent as given (no SCPD) -> %s, HTTP %d, ",
         (unsigned long long)w.id, ucp_err_name(rc), w.http);
  put_fault(stdout, &w);
  putchar('\n');
  int fault_ok = rc == UCP_E_FAULT && w.upnp_error == 600;
  waiter_destroy(&w);
  waiter_init(&w);
  ucp_arg a = {"newTargetValue", "maybe"};
  rc = ucp_invoke(cp, sp, scpd, "SetTarget", &a, 1, NULL, cli_on_done, &w,
                  &w.id);
  printf("checked against the SCPD first: ucp_invoke -> %s, no id, nothing "
         "sent\n  ucp_last_error_detail(): %s\n",
         ucp_err_name(rc), ucp_last_error_detail());
  if (rc == UCP_OK) { /* not expected: let it end before w goes */
    wait_or_cancel(cp, &w);
    rc = UCP_E_FAIL;
  }
  waiter_destroy(&w);
  return fault_ok && rc == UCP_E_INVALIDARG ? UCP_OK : UCP_E_FAIL;
}

/* Cancel an action the device is slow to answer: UCP_OK, then silence. */
static int demo_cancel_invoke(ucp_cp *cp, const ucp_service *sp,
                              const ucp_scpd *scpd) {
  printf("\n== cancel: an action the device takes 5 s to answer\n");
  char url[600];
  snprintf(url, sizeof url, "%s?fault=slow&ms=5000",
           ucp_service_field_get(sp, UCP_SERVICE_CONTROL_URL));
  waiter w;
  waiter_init(&w);
  int rc = ucp_invoke_url(cp, url, ucp_service_field_get(sp, UCP_SERVICE_TYPE),
                          scpd, "GetStatus", NULL, 0, NULL, cli_on_done, &w,
                          &w.id);
  if (rc == UCP_OK) {
    sleep_ms(300);
    rc = ucp_cancel(cp, w.id);
    printf("request %llu GetStatus at %s\n  ucp_cancel after 300 ms -> %s\n",
           (unsigned long long)w.id, url, ucp_err_name(rc));
    sleep_ms(200);
    pthread_mutex_lock(&w.lock);
    int calls = w.callbacks;
    pthread_mutex_unlock(&w.lock);
    printf("  completion callbacks in the next 200 ms: %d%s\n", calls,
           calls ? "" : " (none followed, as the contract says)");
    printf("  cancel again -> %s\n", ucp_err_name(ucp_cancel(cp, w.id)));
    if (rc == UCP_OK && calls) rc = UCP_E_FAIL;
  } else {
    printf("refused: %s: %s\n", ucp_err_name(rc), ucp_last_error_detail());
  }
  waiter_destroy(&w);
  return rc;
}

int demo_control(ucp_cp *cp, const ucp_description *desc) {
  printf("\n== SCPD: what the SwitchPower service offers\n");
  const ucp_service *sp =
      find_service(desc, ucp_description_root(desc), "SwitchPower");
  if (!sp) {
    puts("no SwitchPower service");
    return UCP_E_FAIL;
  }
  waiter sw;
  waiter_init(&sw);
  int rc = ucp_scpd_download(cp, sp, NULL, cli_on_done, &sw, &sw.id);
  if (rc == UCP_OK) rc = wait_or_cancel(cp, &sw);
  printf("request %llu SCPD %s -> %s, HTTP %d\n", (unsigned long long)sw.id,
         ucp_service_field_get(sp, UCP_SERVICE_SCPD_URL), ucp_err_name(rc),
         sw.http);
  if (rc == UCP_OK) {
    demo_scpd_summary(sw.scpd);
    rc = demo_invoke(cp, sp, sw.scpd);
  }
  if (rc == UCP_OK) rc = demo_faults(cp, sp, sw.scpd);
  if (rc == UCP_OK) rc = demo_cancel_invoke(cp, sp, sw.scpd);
  if (rc == UCP_OK) rc = demo_events(cp, sp, sw.scpd);
  waiter_destroy(&sw);
  return rc;
}
