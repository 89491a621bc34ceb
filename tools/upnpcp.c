/* upnpcp.c - the command-line tool. It uses only the public header
 * (include/upnpcp.h), as curl's src/ does, plus the simulator for `sim`
 * and `demo`. Service control (scpd, invoke, query) is in cli_control.c,
 * eventing (subscribe) in cli_events.c. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

volatile sig_atomic_t cli_interrupted;
static void on_sigint(int sig) {
  (void)sig;
  cli_interrupted = 1;
}

/* ------------------------------------------------------- safe printing */

/* Network strings are data: escape C0 and C1 control characters and bidi
 * overrides (U+202A..U+202E, U+2066..U+2069), and cap the length
 * (SECURITY.md). An escape is at most 6 bytes for each byte it replaces. */
char *safe_dup(const char *s, size_t cap) {
  if (!s) s = "-";
  size_t len = strlen(s);
  int cut = cap && len > cap;
  if (cut) /* not inside a UTF-8 sequence */
    for (len = cap; len && ((unsigned char)s[len] & 0xC0) == 0x80;) len--;
  char *out = malloc(len * 6 + 4), *o = out;
  if (!out) return NULL;
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  for (; p < end; p++) {
    if (end - p >= 3 && p[0] == 0xE2 && p[1] == 0x80 && p[2] >= 0xAA &&
        p[2] <= 0xAE) {
      o += sprintf(o, "\\u%04X", 0x2000 + (p[2] - 0x80));
      p += 2;
    } else if (end - p >= 3 && p[0] == 0xE2 && p[1] == 0x81 && p[2] >= 0xA6 &&
               p[2] <= 0xA9) {
      o += sprintf(o, "\\u%04X", 0x2040 + (p[2] - 0x80));
      p += 2;
    } else if (end - p >= 2 && p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
      o += sprintf(o, "\\u%04X", p[1]); /* C1 controls: 0x9B is a CSI */
      p += 1;
    } else if (*p < 0x20 || *p == 0x7F) {
      o += sprintf(o, "\\x%02X", *p);
    } else {
      *o++ = (char)*p;
    }
  }
  if (cut) memcpy(o, "...", 3), o += 3;
  *o = 0;
  return out;
}

void put_safe_cap(FILE *f, const char *s, size_t cap) {
  char *e = safe_dup(s, cap);
  if (e) fputs(e, f);
  free(e);
}

void put_safe(FILE *f, const char *s) { put_safe_cap(f, s, FIELD_CAP); }

static void put_field(const char *label, const char *v, int indent) {
  printf("%*s%-18s ", indent, "", label);
  put_safe(stdout, v);
  putchar('\n');
}

/* ------------------------------------------------------ tree printing */

static const char *const dev_labels[UCP_DEVICE__FIELD_COUNT] = {
    "deviceType", "friendlyName", "manufacturer", "manufacturerURL",
    "modelDescription", "modelName", "modelNumber", "modelURL",
    "serialNumber", "UDN", "UPC", "presentationURL"};
static const char *const svc_labels[UCP_SERVICE__FIELD_COUNT] = {
    "serviceType", "serviceId", "SCPDURL", "controlURL", "eventSubURL"};

static void print_service(const ucp_service *s, int indent) {
  printf("%*sservice\n", indent, "");
  for (int f = 0; f < UCP_SERVICE__FIELD_COUNT; f++) {
    const char *err = ucp_service_url_error(s, f);
    if (err) {
      printf("%*s%-18s (unusable: ", indent + 2, "", svc_labels[f]);
      put_safe(stdout, err);
      puts(")");
    } else {
      put_field(svc_labels[f], ucp_service_field_get(s, f), indent + 2);
    }
  }
}

static void print_icon(const ucp_icon *ic, int indent) {
  printf("%*sicon               ", indent, "");
  put_safe(stdout, ucp_icon_mimetype(ic));
  printf(" %dx%d depth %d ", ucp_icon_width(ic), ucp_icon_height(ic),
         ucp_icon_depth(ic));
  put_safe(stdout, ucp_icon_url(ic) ? ucp_icon_url(ic) : ucp_icon_url_error(ic));
  putchar('\n');
}

static void print_device(const ucp_device *d, int indent) {
  printf("%*sdevice\n", indent, "");
  for (int f = 0; f < UCP_DEVICE__FIELD_COUNT; f++) {
    const char *v = ucp_device_field_get(d, f);
    if (v) put_field(dev_labels[f], v, indent + 2);
  }
  for (size_t i = 0; i < ucp_device_icon_count(d); i++)
    print_icon(ucp_device_icon(d, i), indent + 2);
  for (size_t i = 0; i < ucp_device_service_count(d); i++)
    print_service(ucp_device_service(d, i), indent + 2);
  for (size_t i = 0; i < ucp_device_child_count(d); i++)
    print_device(ucp_device_child(d, i), indent + 2);
}

static void print_description(const ucp_description *desc) {
  int maj, min;
  ucp_description_spec_version(desc, &maj, &min);
  put_field("description", ucp_description_url(desc), 0);
  put_field("base URL", ucp_description_base_url(desc), 0);
  printf("%-18s %d.%d\n", "specVersion", maj, min);
  if (ucp_description_config_id(desc) >= 0)
    printf("%-18s %lld\n", "configId",
           (long long)ucp_description_config_id(desc));
  print_device(ucp_description_root(desc), 0);
  const char *w = ucp_description_warnings(desc);
  if (*w) {
    printf("compliance warnings:\n");
    for (const char *p = w; *p;) {
      const char *e = strchr(p, '\n');
      size_t n = e ? (size_t)(e - p) : strlen(p);
      char line[FIELD_CAP + 1];
      snprintf(line, sizeof line, "%.*s", (int)n, p);
      printf("  ");
      put_safe(stdout, line);
      putchar('\n');
      p += n + (e ? 1 : 0);
    }
  }
}

/* ------------------------------------------------------ JSON printing */

json_t *jstr(const char *s) { return s ? json_string(s) : json_null(); }

/* Length of the UTF-8 sequence at p (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t n) {
  size_t len = p[0] < 0x80 ? 1 : p[0] >= 0xC2 && p[0] <= 0xDF ? 2
               : (p[0] & 0xF0) == 0xE0                    ? 3
               : p[0] >= 0xF0 && p[0] <= 0xF4             ? 4
                                                          : 0;
  if (!len || len > n) return 0;
  for (size_t i = 1; i < len; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  if (len == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || /* overlong */
                   (p[0] == 0xED && p[1] >= 0xA0))) /* surrogate */
    return 0;
  if (len == 4 && ((p[0] == 0xF0 && p[1] < 0x90) ||
                   (p[0] == 0xF4 && p[1] >= 0x90)))
    return 0;
  return len;
}

json_t *jsafe(const char *s) {
  if (!s) return json_null();
  json_t *j = json_string(s);
  if (j) return j;
  size_t n = strlen(s);
  char *out = malloc(n * 4 + 1), *o = out;
  if (!out) return json_null();
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    size_t l = utf8_len(p, (size_t)(end - p));
    if (l) {
      memcpy(o, p, l), o += l, p += l;
    } else {
      o += sprintf(o, "\\x%02X", *p++);
    }
  }
  *o = 0;
  j = json_string(out);
  free(out);
  return j ? j : json_null();
}

static json_t *device_json(const ucp_device *d) {
  json_t *o = json_object();
  for (int f = 0; f < UCP_DEVICE__FIELD_COUNT; f++)
    json_object_set_new(o, dev_labels[f], jstr(ucp_device_field_get(d, f)));
  json_t *svcs = json_array(), *icons = json_array(), *kids = json_array();
  for (size_t i = 0; i < ucp_device_service_count(d); i++) {
    const ucp_service *s = ucp_device_service(d, i);
    json_t *so = json_object();
    for (int f = 0; f < UCP_SERVICE__FIELD_COUNT; f++) {
      json_object_set_new(so, svc_labels[f], jstr(ucp_service_field_get(s, f)));
      const char *err = ucp_service_url_error(s, f);
      if (err) {
        char key[40];
        snprintf(key, sizeof key, "%sError", svc_labels[f]);
        json_object_set_new(so, key, json_string(err));
      }
    }
    json_array_append_new(svcs, so);
  }
  for (size_t i = 0; i < ucp_device_icon_count(d); i++) {
    const ucp_icon *ic = ucp_device_icon(d, i);
    json_array_append_new(icons,
        json_pack("{s:o,s:i,s:i,s:i,s:o}", "mimetype", jstr(ucp_icon_mimetype(ic)),
                  "width", ucp_icon_width(ic), "height", ucp_icon_height(ic),
                  "depth", ucp_icon_depth(ic), "url", jstr(ucp_icon_url(ic))));
  }
  for (size_t i = 0; i < ucp_device_child_count(d); i++)
    json_array_append_new(kids, device_json(ucp_device_child(d, i)));
  json_object_set_new(o, "services", svcs);
  json_object_set_new(o, "icons", icons);
  json_object_set_new(o, "devices", kids);
  return o;
}

static void print_json(uint64_t id, const ucp_description *desc,
                       const ucp_result *r) {
  json_t *o = json_object();
  json_object_set_new(o, "id", json_integer((json_int_t)id));
  json_object_set_new(o, "status", json_string(ucp_err_name(ucp_result_status(r))));
  json_object_set_new(o, "httpStatus", json_integer(ucp_result_http_status(r)));
  if (desc) {
    json_object_set_new(o, "url", jstr(ucp_description_url(desc)));
    json_object_set_new(o, "baseURL", jstr(ucp_description_base_url(desc)));
    json_object_set_new(o, "warnings", jstr(ucp_description_warnings(desc)));
    json_object_set_new(o, "root", device_json(ucp_description_root(desc)));
  } else {
    json_object_set_new(o, "detail", json_string(ucp_result_detail(r)));
  }
  char *s = json_dumps(o, JSON_INDENT(2) | JSON_ENSURE_ASCII);
  if (s) puts(s);
  free(s);
  json_decref(o);
}

/* ------------------------------------------------- waiting for one op */

static void on_progress(uint64_t id, uint64_t num, uint64_t den, int status,
                        void *user) {
  waiter *w = user;
  (void)id, (void)status;
  if (!w->progress_tty) return;
  if (den) fprintf(stderr, "\r  %llu of %llu bytes", (unsigned long long)num,
                   (unsigned long long)den);
  else fprintf(stderr, "\r  %llu bytes", (unsigned long long)num);
}

static void on_loaded(uint64_t id, const ucp_result *r, void *user) {
  waiter *w = user;
  if (w->progress_tty) fputs("\r\033[K", stderr);
  const ucp_description *d = ucp_result_description(r);
  if (w->json) {
    print_json(id, d, r);
  } else if (d && !w->quiet) {
    print_description(d);
  } else if (!d && !w->quiet) { /* quiet: the caller reports it */
    fprintf(stderr, "upnpcp: request %llu failed: %s (%s)",
            (unsigned long long)id, ucp_err_name(ucp_result_status(r)),
            ucp_strerror(ucp_result_status(r)));
    if (*ucp_result_detail(r)) {
      fputs(": ", stderr);
      put_safe(stderr, ucp_result_detail(r));
    }
    fputc('\n', stderr);
  }
  pthread_mutex_lock(&w->lock);
  w->desc = d ? ucp_description_ref(d) : NULL;
  w->status = ucp_result_status(r);
  w->done = 1;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

/* Wait for the completion; on Ctrl-C cancel through ucp_cancel(). Returns
 * the op's status, or 130 when it was cancelled. */
int wait_or_cancel(ucp_cp *cp, waiter *w) {
  pthread_mutex_lock(&w->lock);
  while (!w->done) {
    if (cli_interrupted || w->stop) {
      int by_user = cli_interrupted;
      pthread_mutex_unlock(&w->lock);
      int rc = ucp_cancel(cp, w->id);
      pthread_mutex_lock(&w->lock);
      if (rc == UCP_OK) {
        pthread_mutex_unlock(&w->lock);
        if (w->progress_tty) fputs("\r\033[K", stderr);
        if (!by_user) return UCP_OK; /* stopped: what we wanted is there */
        fprintf(stderr, "upnpcp: request %llu cancelled\n",
                (unsigned long long)w->id);
        return 130;
      }
      /* Too late: the completion is under way; wait for it. */
      cli_interrupted = 0;
      w->stop = 0;
      continue;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&w->cond, &w->lock, &ts);
  }
  pthread_mutex_unlock(&w->lock);
  return w->status;
}

void waiter_init(waiter *w) {
  memset(w, 0, sizeof *w);
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->cond, NULL);
}

void waiter_destroy(waiter *w) {
  ucp_description_unref(w->desc);
  ucp_scpd_unref(w->scpd);
  for (size_t i = 0; i < w->nout; i++) {
    free(w->outs[i].name);
    free(w->outs[i].value);
  }
  free(w->outs);
  free(w->upnp_desc);
  free(w->detail);
  free(w->warnings);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->lock);
}

void install_sigint(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

/* Load one description and wait for it. Returns the op status or 130. */
static int describe_url(ucp_cp *cp, const char *url, int json, uint64_t ms,
                        waiter *w) {
  ucp_call_opts *o = ucp_call_opts_new();
  if (!o) return UCP_E_NOMEM;
  ucp_call_opts_set_progress(o, on_progress);
  if (ms) ucp_call_opts_set_deadline(o, ms);
  w->json = json;
  w->progress_tty = isatty(STDERR_FILENO) && !json;
  int rc = ucp_load_description(cp, url, o, on_loaded, w, &w->id);
  ucp_call_opts_free(o);
  if (rc != UCP_OK) {
    const char *d = ucp_last_error_detail();
    fprintf(stderr, "upnpcp: cannot load the description: %s: ",
            ucp_err_name(rc));
    put_safe(stderr, *d ? d : ucp_strerror(rc));
    fputc('\n', stderr);
    w->refused = 1;
    return rc;
  }
  return wait_or_cancel(cp, w);
}

int exit_code(int status) {
  return status == 130 ? 130 : status == UCP_OK ? 0 : 1;
}

/* ------------------------------------------------------------ commands */

/* A bad option value: say which and how, then the usage; exit status 2. */
static int bad_value(const char *opt, const char *v, const char *use) {
  const char *d = ucp_last_error_detail(); /* from a failed setter */
  fprintf(stderr, "upnpcp: bad value for %s: '", opt);
  put_safe_cap(stderr, v, 100);
  fprintf(stderr, "'%s", *d ? ": " : "");
  put_safe_cap(stderr, d, 300);
  fprintf(stderr, "\n%s", use);
  return 2;
}

static int cmd_describe(int argc, char **argv) {
  const char *url = NULL;
  int json = 0;
  uint64_t ms = 0;
  static const char use[] =
      "usage: upnpcp describe URL [--json] [--timeout S]\n"
      "  --timeout S   deadline in seconds (or 500ms), at most 3600 s\n";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(use, stdout);
      return 0;
    }
    if (!strcmp(argv[i], "--json")) json = 1;
    else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
      if (cli_parse_secs(argv[++i], 3600, &ms) != 0)
        return bad_value("--timeout", argv[i], use);
    } else if (argv[i][0] != '-' && !url) url = argv[i];
    else {
      fprintf(stderr, "upnpcp: unexpected '%s'\n%s", argv[i], use);
      return 2;
    }
  }
  if (!url) {
    fprintf(stderr, "upnpcp: describe needs a URL\n%s", use);
    return 2;
  }
  install_sigint();
  ucp_cp *cp;
  int rc = ucp_cp_new(NULL, &cp);
  if (rc != UCP_OK) {
    fprintf(stderr, "upnpcp: %s\n", ucp_strerror(rc));
    return 1;
  }
  waiter w;
  waiter_init(&w);
  rc = describe_url(cp, url, json, ms, &w);
  int refused = w.refused;
  waiter_destroy(&w);
  ucp_cp_free(cp);
  return refused ? EX_REFUSED : exit_code(rc);
}


/* ------------------------------------------------------------ discover */

typedef struct discover_state {
  waiter w;
  int json;
  int tty;
  size_t shown;
  char location[512]; /* of the last device added */
} discover_state;

static void print_found_row(const ucp_found *f) {
  const ucp_description *d = ucp_found_description(f);
  const ucp_device *root = ucp_found_device(f); /* the device that answered */
  char name[41], type[41], model[25];
  snprintf(name, sizeof name, "%s",
           root && ucp_device_field_get(root, UCP_DEVICE_FRIENDLY_NAME)
               ? ucp_device_field_get(root, UCP_DEVICE_FRIENDLY_NAME) : "-");
  const char *t = root ? ucp_device_field_get(root, UCP_DEVICE_TYPE) : NULL;
  const char *short_type = t && strstr(t, ":device:") ? strstr(t, ":device:") + 8 : t;
  snprintf(type, sizeof type, "%s", short_type ? short_type : "-");
  snprintf(model, sizeof model, "%s",
           root && ucp_device_field_get(root, UCP_DEVICE_MODEL_NAME)
               ? ucp_device_field_get(root, UCP_DEVICE_MODEL_NAME) : "-");
  put_safe(stdout, name);
  printf("\t");
  put_safe(stdout, type);
  printf("\t");
  put_safe(stdout, model);
  printf("\t%s\t", ucp_found_address(f));
  put_safe(stdout, ucp_found_udn(f));
  if (!d) printf("\t(%s)", ucp_err_name(ucp_found_status(f)));
  putchar('\n');
}

static void print_found_json(uint64_t id, ucp_search_event ev,
                             const ucp_found *f) {
  json_t *o = json_object();
  json_object_set_new(o, "id", json_integer((json_int_t)id));
  static const char *const names[] = {"?", "added", "failed", "complete",
                                      "updated", "removed"};
  json_object_set_new(o, "event", json_string(names[ev <= 5 ? ev : 0]));
  if (f) {
    const ucp_description *d = ucp_found_description(f);
    json_object_set_new(o, "udn", jstr(ucp_found_udn(f)));
    json_object_set_new(o, "location", jstr(ucp_found_location(f)));
    json_object_set_new(o, "address", jstr(ucp_found_address(f)));
    json_object_set_new(o, "server", jstr(ucp_found_server(f)));
    if (d) {
      json_object_set_new(o, "deviceType",
                          jstr(ucp_device_field_get(ucp_found_device(f), UCP_DEVICE_TYPE)));
      json_object_set_new(o, "root", device_json(ucp_description_root(d)));
    }
    else json_object_set_new(o, "detail", jstr(ucp_found_detail(f)));
  }
  char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
  if (s) puts(s);
  free(s);
  json_decref(o);
  fflush(stdout);
}

static void on_search_event(uint64_t id, ucp_search_event ev,
                            const ucp_found *f, void *user) {
  discover_state *ds = user;
  if (ds->json) {
    print_found_json(id, ev, f);
    return;
  }
  if (ds->tty) fputs("\r\033[K", stderr);
  if (ev == UCP_SEARCH_DEVICE_REMOVED || ev == UCP_SEARCH_DEVICE_UPDATED) {
    printf("%s ", ev == UCP_SEARCH_DEVICE_REMOVED ? "removed" : "updated");
    put_safe(stdout, ucp_found_udn(f));
    putchar('\n');
  } else if (f) {
    print_found_row(f);
    if (ucp_found_description(f))
      snprintf(ds->location, sizeof ds->location, "%s", ucp_found_location(f));
    ds->shown++;
  } else {
    fprintf(stderr, "search complete: %zu device(s)\n", ds->shown);
  }
  fflush(stdout);
}

static void on_search_progress(uint64_t id, uint64_t num, uint64_t den,
                               int status, void *user) {
  discover_state *ds = user;
  (void)id, (void)status;
  if (!ds->tty) return;
  int width = 30, filled = den ? (int)(num * (uint64_t)width / den) : 0;
  fprintf(stderr, "\r[%.*s%*s] %llu/%llu described", filled,
          "##############################", width - filled, "",
          (unsigned long long)num, (unsigned long long)den);
}

static void on_search_done(uint64_t id, const ucp_result *r, void *user) {
  discover_state *ds = user;
  (void)id;
  if (ds->tty) fputs("\r\033[K", stderr);
  if (ucp_result_status(r) != UCP_OK)
    fprintf(stderr, "upnpcp: search ended: %s %s\n",
            ucp_err_name(ucp_result_status(r)), ucp_result_detail(r));
  pthread_mutex_lock(&ds->w.lock);
  ds->w.status = ucp_result_status(r);
  ds->w.done = 1;
  pthread_cond_signal(&ds->w.cond);
  pthread_mutex_unlock(&ds->w.lock);
}

static const char discover_use[] =
    "usage: upnpcp discover [--st T] [--mx S] [--timeout S] [--iface IF]...\n"
    "                       [--unicast HOST:PORT]... [--port N] [--ipv6] "
    "[--json]\n"
    "  --timeout S   how long to listen, in seconds (or 500ms), at most "
    "3600 s\n";

/* One valued option of discover: 0 taken, 2 bad (said why). */
static int discover_option(const char *a, const char *v, ucp_search_opts *so,
                           const char **st, uint64_t *ms) {
  unsigned long n;
  int ok = 1;
  if (!strcmp(a, "--st")) *st = v;
  else if (!strcmp(a, "--mx"))
    ok = cli_parse_uint(v, 1, 120, &n) == 0 &&
         ucp_search_opts_set_mx(so, (int)n) == UCP_OK;
  else if (!strcmp(a, "--timeout")) ok = cli_parse_secs(v, 3600, ms) == 0;
  else if (!strcmp(a, "--iface"))
    ok = ucp_search_opts_add_interface(so, v) == UCP_OK;
  else if (!strcmp(a, "--unicast"))
    ok = ucp_search_opts_add_unicast(so, v) == UCP_OK &&
         ucp_search_opts_set_multicast(so, 0) == UCP_OK;
  else if (!strcmp(a, "--port"))
    ok = cli_parse_uint(v, 1, 65535, &n) == 0 &&
         ucp_search_opts_set_port(so, (unsigned)n) == UCP_OK;
  else {
    fprintf(stderr, "upnpcp: unknown option '%s'\n%s", a, discover_use);
    return 2;
  }
  return ok ? 0 : bad_value(a, v, discover_use);
}

/* 0 parsed, 1 --help shown, 2 usage error (said why). */
static int discover_parse(int argc, char **argv, ucp_search_opts *so,
                          const char **st, int *json, uint64_t *ms) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(discover_use, stdout);
      return 1;
    }
    if (!strcmp(a, "--json")) *json = 1;
    else if (!strcmp(a, "--ipv6")) ucp_search_opts_set_ipv6(so, 1);
    else if (i + 1 < argc && a[0] == '-') {
      int r = discover_option(a, argv[i + 1], so, st, ms);
      if (r) return r;
      i++;
    } else {
      fprintf(stderr, "upnpcp: unexpected '%s'\n%s", a, discover_use);
      return 2;
    }
  }
  return 0;
}

/* Search and wait for it, cancelling on Ctrl-C. Returns the op status. */
static int run_search(ucp_cp *cp, const char *st, ucp_search_opts *so,
                      uint64_t ms, discover_state *ds) {
  ucp_call_opts *o = ucp_call_opts_new();
  ucp_call_opts_set_progress(o, on_search_progress);
  ucp_call_opts_set_deadline(o, ms + 5000u);
  ucp_search_opts_set_duration(so, ms);
  int rc = ucp_search(cp, st, so, o, on_search_event, on_search_done, ds,
                      &ds->w.id);
  ucp_call_opts_free(o);
  if (rc != UCP_OK) {
    const char *d = ucp_last_error_detail();
    fprintf(stderr, "upnpcp: cannot search: %s: ", ucp_err_name(rc));
    put_safe(stderr, *d ? d : ucp_strerror(rc));
    fputc('\n', stderr);
    return rc;
  }
  return wait_or_cancel(cp, &ds->w);
}

static int cmd_discover(int argc, char **argv) {
  const char *st = "ssdp:all";
  int json = 0;
  uint64_t ms = 5000;
  ucp_search_opts *so = ucp_search_opts_new();
  if (!so) return 1;
  int pr = discover_parse(argc, argv, so, &st, &json, &ms);
  if (pr) {
    ucp_search_opts_free(so);
    return pr == 1 ? 0 : 2;
  }
  install_sigint();
  ucp_cp *cp;
  if (ucp_cp_new(NULL, &cp) != UCP_OK) {
    ucp_search_opts_free(so);
    return 1;
  }
  discover_state ds;
  memset(&ds, 0, sizeof ds);
  waiter_init(&ds.w);
  ds.json = json;
  ds.tty = isatty(STDERR_FILENO) && !json;
  int rc = run_search(cp, st, so, ms, &ds);
  ucp_cp_free(cp);
  waiter_destroy(&ds.w);
  ucp_search_opts_free(so);
  return exit_code(rc);
}

static void demo_step(const char *title) { printf("\n== %s\n", title); }

/* Start a load and cancel it while it is pending: UCP_OK, and no callback. */
static int demo_cancel(ucp_cp *cp, const char *base) {
  char url[300];
  snprintf(url, sizeof url, "%s/fault/stall?ms=5000", base);
  waiter w;
  waiter_init(&w);
  int rc = ucp_load_description(cp, url, NULL, on_loaded, &w, &w.id);
  if (rc == UCP_OK) {
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    rc = ucp_cancel(cp, w.id);
    printf("request %llu to a stalled device: ucp_cancel -> %s\n",
           (unsigned long long)w.id, ucp_err_name(rc));
    printf("cancel again -> %s (the id is settled: cancelled)\n",
           ucp_err_name(ucp_cancel(cp, w.id)));
  }
  waiter_destroy(&w);
  return rc;
}

static int demo_timeout(ucp_cp *cp, const char *base) {
  char url[300];
  snprintf(url, sizeof url, "%s/fault/drip?bytes=100&interval_ms=100", base);
  waiter w;
  ucp_call_opts *o = ucp_call_opts_new();
  ucp_call_opts_set_deadline(o, 500);
  waiter_init(&w);
  w.quiet = 1;
  int rc = ucp_load_description(cp, url, o, on_loaded, &w, &w.id);
  ucp_call_opts_free(o);
  if (rc == UCP_OK) rc = wait_or_cancel(cp, &w);
  if (rc == 130) {
    waiter_destroy(&w);
    return rc;
  }
  printf("a device dripping one byte per 100 ms, deadline 500 ms -> %s\n",
         ucp_err_name(rc));
  waiter_destroy(&w);
  return rc == UCP_E_TIMEOUT ? UCP_OK : UCP_E_FAIL;
}

/* Discover the simulator by unicast M-SEARCH (UDA 1.1): no multicast. */
static int demo_discover(ucp_cp *cp, ucp_sim *sim, char *location, size_t n) {
  ucp_search_opts *so = ucp_search_opts_new();
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%u", ucp_sim_ssdp_port(sim));
  ucp_search_opts_add_unicast(so, target);
  ucp_search_opts_set_multicast(so, 0);
  ucp_search_opts_set_mx(so, 1);
  discover_state ds;
  memset(&ds, 0, sizeof ds);
  waiter_init(&ds.w);
  printf("unicast M-SEARCH for upnp:rootdevice to %s\n", target);
  int rc = run_search(cp, "upnp:rootdevice", so, 2000, &ds);
  ucp_search_opts_free(so);
  waiter_destroy(&ds.w);
  printf("%zu device(s) found\n", ds.shown);
  snprintf(location, n, "%s", ds.location);
  if (rc == 130) return rc;
  return rc == UCP_OK && ds.shown == 1 && ds.location[0] ? UCP_OK : UCP_E_FAIL;
}

static int cmd_demo(int argc, char **argv) {
  if (argc > 1) {
    int help = !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h");
    fprintf(help ? stdout : stderr,
            "%susage: upnpcp demo\n  the simulator and the control point, "
            "end to end, on loopback (nothing multicast)\n",
            help ? "" : "upnpcp: demo takes no arguments\n");
    return help ? 0 : 2;
  }
  ucp_sim *sim;
  ucp_sim_opts so = {0};
  so.ssdp = 1;
  so.ssdp_unicast_only = 1; /* make demo sends no multicast at all */
  if (ucp_sim_start(&so, &sim) != 0) return 1;
  install_sigint();
  printf("upnpcp %s demo: simulated BinaryLight at %s (loopback only)\n",
         ucp_version(NULL), ucp_sim_description_url(sim));
  ucp_cp *cp;
  if (ucp_cp_new(NULL, &cp) != UCP_OK) {
    ucp_sim_stop(sim);
    return 1;
  }
  demo_step("discover: find the device, by request id, with progress");
  char location[512];
  int rc = demo_discover(cp, sim, location, sizeof location);
  waiter w;
  waiter_init(&w);
  if (rc == UCP_OK) {
    demo_step("describe: load the device description asynchronously");
    rc = describe_url(cp, location, 0, 0, &w);
  }
  if (rc == UCP_OK) rc = demo_control(cp, w.desc);
  waiter_destroy(&w);
  if (rc == UCP_OK) {
    demo_step("cancel: a pending request, by id");
    rc = demo_cancel(cp, ucp_sim_base_url(sim));
  }
  if (rc == UCP_OK) {
    demo_step("deadline: every operation has one");
    rc = demo_timeout(cp, ucp_sim_base_url(sim));
  }
  ucp_cp_free(cp);
  ucp_sim_stop(sim);
  printf("\ndemo %s\n", rc == UCP_OK    ? "finished"
                        : rc == 130 ? "interrupted"
                                    : "FAILED");
  return exit_code(rc);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: upnpcp COMMAND [ARGS]\n"
          "  discover [--st T] [--mx S] [--timeout S] [--iface IF] [--unicast HOST:PORT]\n"
          "           [--port N] [--ipv6] [--json]     find devices (SSDP)\n"
          "  describe URL [--json] [--timeout S]  load and print a device description\n"
          "  scpd DEVICE SERVICE [--json]         print a service's actions and variables\n"
          "  invoke DEVICE SERVICE ACTION [Name=Value]... [--json] [--raw]\n"
          "                                       invoke an action, print its out-arguments\n"
          "  query DEVICE SERVICE VARIABLE [--json] [--raw]\n"
          "                                       QueryStateVariable\n"
          "  subscribe DEVICE SERVICE [--duration S] [--json] [--check-ms MS]\n"
          "            [--port P] [--timeout-request S]\n"
          "                                       print a service's events (GENA)\n"
          "      (DEVICE: URL, uuid:... or friendly name; --timeout MS, --search-ms MS,\n"
          "       --unicast HOST:PORT, --ssdp-port N, --iface IF; see COMMAND --help)\n"
          "  sim [--port N] [--serve-dir DIR] ...  run the device simulator\n"
          "  demo                                  simulator + control point, end to end\n"
          "  version                               print the library version\n");
}

static int dispatch(int argc, char **argv);

/* Output that could not be written (a full disk, a closed pipe) is a
 * failure, not a success with nothing printed. */
int main(int argc, char **argv) {
  /* Closed, standard output would become /dev/null (ucp_cp_new fills a
   * closed 0-2 for libuv's sake): the output is lost all the same. */
  int out_closed = fcntl(STDOUT_FILENO, F_GETFD) == -1 && errno == EBADF;
  int ex = dispatch(argc, argv);
  if (out_closed) {
    fputs("upnpcp: cannot write the output: standard output is closed\n",
          stderr);
    if (ex == 0) ex = 1;
  } else if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "upnpcp: cannot write the output: %s\n", strerror(errno));
    if (ex == 0) ex = 1;
  }
  return ex;
}

static int dispatch(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "describe")) return cmd_describe(argc - 1, argv + 1);
  if (!strcmp(cmd, "sim")) return ucp_sim_main(argc - 1, argv + 1);
  if (!strcmp(cmd, "discover")) return cmd_discover(argc - 1, argv + 1);
  if (!strcmp(cmd, "demo")) return cmd_demo(argc - 1, argv + 1);
  if (!strcmp(cmd, "scpd")) return cmd_scpd(argc - 1, argv + 1);
  if (!strcmp(cmd, "invoke")) return cmd_invoke(argc - 1, argv + 1);
  if (!strcmp(cmd, "query")) return cmd_query(argc - 1, argv + 1);
  if (!strcmp(cmd, "subscribe")) return cmd_subscribe(argc - 1, argv + 1);
  if (!strcmp(cmd, "version")) {
    printf("upnpcp %s\n", ucp_version(NULL));
    return 0;
  }
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    usage(stdout);
    return 0;
  }
  usage(stderr);
  return 2;
}
