/* cli_events.c - eventing from the command line (UDA 2.0 §4): `upnpcp
 * subscribe` streams the events of one service, and the events part of
 * `upnpcp demo` subscribes to the simulator's SwitchPower, switches the
 * light and unsubscribes. Every string from the network goes through the
 * safe printer (text) or JSON escaping (--json). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

enum {
  VALUE_CAP = 1024,  /* a variable's value in text output */
  DETAIL_CAP = 1024, /* a state event's detail in text output */
  DEMO_WAIT_MS = 3000
};

/* The subscription being watched. The event callbacks run on the loop
 * thread and print (or, in the demo, keep the lines for the main thread,
 * so that they come out in a readable order); the completion is
 * cli_on_done's, into w. */
typedef struct sub_view {
  waiter w; /* first: cli_on_done() gets &view.w */
  int json;
  int stamps;         /* "HH:MM:SS.mmm " before each line */
  const char *indent; /* before each line */
  int hold;           /* keep the lines in `pending` (the demo) */
  char *pending;      /* held lines, malloc'd */
  size_t npending;
  /* What came (under w.lock). */
  int actives, notifies, lost;
  uint32_t last_seq;
  char last_status[8]; /* "Status" of the last NOTIFY, "" without one */
} sub_view;

static const char *state_name(ucp_sub_state st) {
  static const char *const names[] = {"?",           "ACTIVE",
                                      "RENEWING",    "RENEWED",
                                      "RESUBSCRIBED", "MISSED_EVENTS",
                                      "UNREACHABLE", "LOST"};
  return st >= UCP_SUB_ACTIVE && st <= UCP_SUB_LOST ? names[st] : names[0];
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Local wall-clock time, "12:00:01.234". */
static void clock_text(char *buf, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  localtime_r(&ts.tv_sec, &tm);
  snprintf(buf, n, "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
           ts.tv_nsec / 1000000L);
}

static void line_start(FILE *f, const sub_view *v) {
  fputs(v->indent, f);
  if (v->stamps) {
    char t[32];
    clock_text(t, sizeof t);
    fprintf(f, "%s ", t);
  }
}

/* ------------------------------------------------------------- text */

static const char *type_text(ucp_type t) {
  return ucp_type_name(t) ? ucp_type_name(t) : "untyped";
}

/* The ACTIVE detail is "subscribed SID for N s, events to URL": the SID
 * and the grant are on the line already. */
static const char *short_detail(const ucp_event *ev) {
  const char *d = ucp_event_detail(ev);
  const char *at = ucp_event_state(ev) == UCP_SUB_ACTIVE
                       ? strstr(d, ", events to ")
                       : NULL;
  return at ? at + 2 : d;
}

static void text_state(FILE *f, const sub_view *v, const ucp_event *ev) {
  const char *sid = ucp_event_sid(ev);
  line_start(f, v);
  fprintf(f, "state %s  ", state_name(ucp_event_state(ev)));
  put_safe(f, *sid ? sid : "-");
  if (ucp_event_timeout(ev)) fprintf(f, " (%u s)", ucp_event_timeout(ev));
  const char *d = short_detail(ev);
  if (*d) {
    fputs("  ", f);
    put_safe_cap(f, d, DETAIL_CAP);
  }
  fputc('\n', f);
}

static void text_notify(FILE *f, const sub_view *v, const ucp_event *ev) {
  size_t nv = ucp_event_var_count(ev), nc = ucp_event_change_count(ev);
  line_start(f, v);
  fprintf(f, "event SEQ %u", ucp_event_seq(ev));
  if (!nv) fputs("  (no variables)", f);
  for (size_t i = 0; i < nv; i++) {
    const char *name = ucp_event_var_name(ev, i);
    fputs("  ", f);
    put_safe(f, name);
    fputs(" = ", f);
    if (nc && name && !strcmp(name, "LastChange")) /* read below */
      fprintf(f, "(%zu change%s)", nc, nc == 1 ? "" : "s");
    else
      put_safe_cap(f, ucp_event_var_value(ev, i), VALUE_CAP);
    fprintf(f, " (%s)", type_text(ucp_event_var_type(ev, i)));
  }
  fputc('\n', f);
  for (size_t i = 0; i < nc; i++) {
    const char *in, *var, *val, *ch;
    if (ucp_event_change(ev, i, &in, &var, &val, &ch) != UCP_OK) continue;
    fprintf(f, "%s  [", v->indent);
    put_safe(f, in ? in : "?");
    fputs("] ", f);
    put_safe(f, var);
    if (ch) {
      fputc('(', f);
      put_safe(f, ch);
      fputc(')', f);
    }
    fputs(" = ", f);
    if (val) put_safe_cap(f, val, VALUE_CAP);
    else fputs("(no val)", f);
    fputc('\n', f);
  }
  char prefix[64];
  snprintf(prefix, sizeof prefix, "%s  warning: ", v->indent);
  put_lines(f, prefix, ucp_event_warnings(ev));
}

/* ------------------------------------------------------------- JSON */

static json_t *lines_array(const char *text) {
  json_t *arr = json_array();
  for (const char *p = text; p && *p;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char *line = strndup(p, n);
    if (line) json_array_append_new(arr, jsafe(line));
    free(line);
    p += n + (e ? 1 : 0);
  }
  return arr;
}

static void put_json_line(json_t *o) {
  char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
  if (s) puts(s);
  free(s);
  json_decref(o);
  fflush(stdout);
}

static json_t *json_event(uint64_t id, const ucp_event *ev) {
  int state = ucp_event_get_kind(ev) == UCP_EVENT_STATE;
  char t[32];
  clock_text(t, sizeof t);
  json_t *o = json_object();
  json_object_set_new(o, "id", json_integer((json_int_t)id));
  json_object_set_new(o, "time", json_string(t));
  json_object_set_new(o, "kind", json_string(state ? "state" : "notify"));
  json_object_set_new(o, "state", state ? json_string(state_name(
                                              ucp_event_state(ev)))
                                        : json_null());
  json_object_set_new(o, "sid", jsafe(ucp_event_sid(ev)));
  json_object_set_new(o, "seq", state ? json_null()
                                      : json_integer(ucp_event_seq(ev)));
  json_object_set_new(o, "timeout",
                      state ? json_integer(ucp_event_timeout(ev))
                            : json_null());
  json_object_set_new(o, "detail", jsafe(ucp_event_detail(ev)));
  json_t *vars = json_array(), *changes = json_array();
  for (size_t i = 0; i < ucp_event_var_count(ev); i++)
    json_array_append_new(
        vars, json_pack("{s:o,s:o,s:o}", "name",
                        jsafe(ucp_event_var_name(ev, i)), "value",
                        jsafe(ucp_event_var_value(ev, i)), "type",
                        jstr(ucp_type_name(ucp_event_var_type(ev, i)))));
  for (size_t i = 0; i < ucp_event_change_count(ev); i++) {
    const char *in, *var, *val, *ch;
    if (ucp_event_change(ev, i, &in, &var, &val, &ch) == UCP_OK)
      json_array_append_new(
          changes, json_pack("{s:o,s:o,s:o,s:o}", "instance", jsafe(in),
                             "variable", jsafe(var), "value", jsafe(val),
                             "channel", jsafe(ch)));
  }
  json_object_set_new(o, "vars", vars);
  json_object_set_new(o, "changes", changes);
  json_object_set_new(o, "warnings", lines_array(ucp_event_warnings(ev)));
  return o;
}

/* -------------------------------------------------------- the events */

static void note_event(sub_view *v, const ucp_event *ev) {
  if (ucp_event_get_kind(ev) == UCP_EVENT_STATE) {
    ucp_sub_state st = ucp_event_state(ev);
    v->actives += st == UCP_SUB_ACTIVE;
    v->lost += st == UCP_SUB_LOST;
    return;
  }
  v->notifies++;
  v->last_seq = ucp_event_seq(ev);
  v->last_status[0] = 0;
  for (size_t i = 0; i < ucp_event_var_count(ev); i++)
    if (ucp_event_var_name(ev, i) &&
        !strcmp(ucp_event_var_name(ev, i), "Status"))
      snprintf(v->last_status, sizeof v->last_status, "%s",
               ucp_event_var_value(ev, i));
}

static void text_event(FILE *f, const sub_view *v, const ucp_event *ev) {
  if (ucp_event_get_kind(ev) == UCP_EVENT_STATE) text_state(f, v, ev);
  else text_notify(f, v, ev);
}

/* Held lines (the demo): formatted into memory, printed by the main
 * thread at the points where they belong. */
static void hold_event(sub_view *v, const ucp_event *ev) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (!m) return;
  text_event(m, v, ev);
  fclose(m);
  char *n = buf ? realloc(v->pending, v->npending + len + 1) : NULL;
  if (n) {
    memcpy(n + v->npending, buf, len + 1);
    v->pending = n;
    v->npending += len;
  }
  free(buf);
}

static void on_sub_event(uint64_t id, const ucp_event *ev, void *user) {
  sub_view *v = user;
  pthread_mutex_lock(&v->w.lock);
  note_event(v, ev);
  if (v->json) {
    put_json_line(json_event(id, ev));
  } else if (v->hold) {
    hold_event(v, ev);
  } else {
    text_event(stdout, v, ev);
    fflush(stdout);
  }
  pthread_cond_broadcast(&v->w.cond);
  pthread_mutex_unlock(&v->w.lock);
}

static void view_init(sub_view *v, int json, int stamps, const char *indent) {
  memset(v, 0, sizeof *v);
  waiter_init(&v->w);
  v->json = json;
  v->stamps = stamps;
  v->indent = indent;
}

static void view_destroy(sub_view *v) {
  free(v->pending);
  waiter_destroy(&v->w);
}

/* --------------------------------------------------- upnpcp subscribe */

/* The last line: how it ended. */
static void print_done(sub_view *v, const char *ended) {
  const waiter *w = &v->w;
  /* Without a completion (cancelled) there is no status. */
  const char *st = w->callbacks ? ucp_err_name(w->status) : NULL;
  if (v->json) {
    char t[32];
    clock_text(t, sizeof t);
    put_json_line(json_pack(
        "{s:I,s:s,s:s,s:o,s:o,s:i,s:o,s:s}", "id", (json_int_t)w->id, "time",
        t, "kind", "done", "status", jstr(st), "httpStatus",
        w->callbacks ? json_integer(w->http) : json_null(), "events",
        v->notifies, "detail", jsafe(w->detail ? w->detail : ""), "ended",
        ended));
    return;
  }
  line_start(stdout, v);
  printf("done %s", st ? st : "(no completion)");
  if (w->callbacks && w->http) printf(" (HTTP %d)", w->http);
  static const char *const why[][2] = {
      {"duration", "unsubscribed: --duration ran out"},
      {"unanswered", "stopped: no answer to the SUBSCRIBE within --duration"},
      {"interrupted", "unsubscribed: interrupted"},
      {"cancelled", "cancelled"},
      {"lost", "the subscription was lost"},
      {"failed", "SUBSCRIBE failed"}};
  const char *text = ended;
  for (size_t i = 0; i < sizeof why / sizeof *why; i++)
    if (!strcmp(ended, why[i][0])) text = why[i][1];
  printf("  %s; %d event%s", text, v->notifies, v->notifies == 1 ? "" : "s");
  if (w->detail && *w->detail) {
    fputs(": ", stdout);
    put_safe_cap(stdout, w->detail, DETAIL_CAP);
  }
  putchar('\n');
  fflush(stdout);
}

/* Wait for the completion, Ctrl-C or the end of --duration: 1 when the
 * subscription ended by itself, 0 when we are to end it. */
static int wait_for_end(sub_view *v, uint64_t duration_ms, int *by_user) {
  uint64_t end = duration_ms ? now_ms() + duration_ms : 0;
  int ended = 0;
  pthread_mutex_lock(&v->w.lock);
  for (;;) {
    if (v->w.done) {
      ended = 1;
      break;
    }
    if (cli_interrupted) {
      *by_user = 1;
      break;
    }
    uint64_t now = now_ms();
    if (end && now >= end) break;
    uint64_t step = end && end - now < 50 ? end - now : 50;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)step * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&v->w.cond, &v->w.lock, &ts);
  }
  pthread_mutex_unlock(&v->w.lock);
  return ended;
}

static int run_subscribe(session *s) {
  const ctl_opts *o = &s->o;
  sub_view v;
  view_init(&v, o->json, 1, "");
  ucp_sub_opts *so = ucp_sub_opts_new();
  ucp_call_opts *c = ucp_call_opts_new();
  int rc = so && c ? UCP_OK : UCP_E_NOMEM;
  if (rc == UCP_OK && o->check_ms)
    rc = ucp_sub_opts_set_check_ms(so, o->check_ms);
  if (rc == UCP_OK && o->cb_port) rc = ucp_sub_opts_set_port(so, o->cb_port);
  if (rc == UCP_OK && o->timeout_ms)
    rc = ucp_call_opts_set_deadline(c, o->timeout_ms);
  if (rc == UCP_OK)
    rc = ucp_subscribe(s->cp, s->t.svc, s->scpd.scpd, so, c, on_sub_event,
                       cli_on_done, &v, &v.w.id);
  ucp_sub_opts_free(so);
  ucp_call_opts_free(c);
  if (rc != UCP_OK) {
    if (o->json)
      put_json_line(json_pack("{s:n,s:s,s:s,s:o,s:s}", "id", "kind", "done",
                              "status", ucp_err_name(rc), "detail",
                              jsafe(ucp_last_error_detail()), "ended",
                              "refused"));
    int ex = cli_refused("subscribe", rc);
    view_destroy(&v);
    return ex;
  }
  if (o->tty) {
    fprintf(stderr, "upnpcp: request %llu: subscribing to ",
            (unsigned long long)v.w.id);
    put_safe(stderr,
             ucp_service_field_get(s->t.svc, UCP_SERVICE_EVENT_SUB_URL));
    fputs(o->duration_ms ? "\n" : "; Ctrl-C ends it\n", stderr);
  }
  int by_user = 0, ex;
  if (wait_for_end(&v, o->duration_ms, &by_user)) {
    /* Ended by itself: refused, failed, or lost after it was accepted. */
    print_done(&v, v.w.status == UCP_OK ? "ended" : v.lost ? "lost"
                                                            : "failed");
    ex = v.w.status == UCP_OK
             ? EX_OK
             : cli_failed(v.lost ? "the subscription (lost)" : "SUBSCRIBE",
                          &v.w);
  } else {
    /* Ours to end: UNSUBSCRIBE, then its completion. A second Ctrl-C
     * cancels (the library still sends UNSUBSCRIBE in the background). */
    cli_interrupted = 0;
    rc = ucp_unsubscribe(s->cp, v.w.id);
    if (rc != UCP_OK && rc != UCP_E_INVALIDARG) { /* could not ask: cancel */
      pthread_mutex_lock(&v.w.lock);
      v.w.stop = 1;
      pthread_mutex_unlock(&v.w.lock);
    }
    rc = wait_or_cancel(s->cp, &v.w);
    /* Stopped before the device ever answered: nothing to UNSUBSCRIBE,
     * and nothing was subscribed either. */
    int unanswered = !by_user && !v.actives;
    const char *why = by_user ? "interrupted" : unanswered ? "unanswered"
                                                           : "duration";
    if (rc == 130 || (rc == UCP_OK && !v.w.done)) {
      print_done(&v, "cancelled");
      ex = rc == 130 || by_user ? EX_CANCELLED : EX_OK;
    } else {
      print_done(&v, why);
      if (rc != UCP_OK) ex = cli_failed("UNSUBSCRIBE", &v.w);
      else ex = by_user ? EX_CANCELLED : EX_OK;
    }
    if (unanswered && ex == EX_OK) {
      fputs("upnpcp: the device did not answer the SUBSCRIBE within "
            "--duration\n", stderr);
      ex = EX_FAIL;
    }
  }
  view_destroy(&v);
  return ex;
}

int cmd_subscribe(int argc, char **argv) {
  session s;
  int ex = session_open(&s, argc, argv, 2, SESSION_SUB);
  if (ex < 0) ex = run_subscribe(&s);
  session_free(&s);
  return ex;
}

/* ---------------------------------------------------------- the demo */

/* Print what the callbacks held. */
static void flush_pending(sub_view *v) {
  pthread_mutex_lock(&v->w.lock);
  if (v->npending) fputs(v->pending, stdout);
  v->npending = 0;
  pthread_mutex_unlock(&v->w.lock);
}

/* Wait until `notifies` NOTIFYs came (or the completion), at most ms. */
static int wait_notifies(sub_view *v, int notifies, long ms) {
  uint64_t end = now_ms() + (uint64_t)ms;
  pthread_mutex_lock(&v->w.lock);
  while (v->notifies < notifies && !v->w.done && !cli_interrupted &&
         now_ms() < end) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&v->w.cond, &v->w.lock, &ts);
  }
  int ok = v->notifies >= notifies;
  pthread_mutex_unlock(&v->w.lock);
  return ok;
}

static int demo_switch(ucp_cp *cp, const ucp_service *svc,
                       const ucp_scpd *scpd, const char *value) {
  waiter w;
  waiter_init(&w);
  ucp_arg a = {"newTargetValue", value};
  int rc = ucp_invoke(cp, svc, scpd, "SetTarget", &a, 1, NULL, cli_on_done, &w,
                      &w.id);
  if (rc == UCP_OK) rc = wait_or_cancel(cp, &w);
  printf("request %llu SetTarget(newTargetValue=%s) -> %s\n",
         (unsigned long long)w.id, value, ucp_err_name(rc));
  waiter_destroy(&w);
  return rc;
}

/* Switch to `value`, then show the event that follows: SEQ `seq`, whose
 * Status is `value`. */
static int demo_change(ucp_cp *cp, const ucp_service *svc,
                       const ucp_scpd *scpd, sub_view *v, const char *value) {
  pthread_mutex_lock(&v->w.lock);
  int want = v->notifies + 1;
  uint32_t seq = v->last_seq + 1;
  pthread_mutex_unlock(&v->w.lock);
  int rc = demo_switch(cp, svc, scpd, value);
  if (rc != UCP_OK) return rc;
  int ok = wait_notifies(v, want, DEMO_WAIT_MS);
  flush_pending(v);
  pthread_mutex_lock(&v->w.lock);
  ok = ok && v->last_seq == seq && !strcmp(v->last_status, value);
  pthread_mutex_unlock(&v->w.lock);
  if (!ok) printf("  no event SEQ %u with Status = %s\n", seq, value);
  return ok ? UCP_OK : UCP_E_FAIL;
}

int demo_events(ucp_cp *cp, const ucp_service *svc, const ucp_scpd *scpd) {
  printf("\n== events: subscribe, switch the light, unsubscribe\n");
  sub_view v;
  view_init(&v, 0, 0, "  ");
  v.hold = 1;
  int rc = ucp_subscribe(cp, svc, scpd, NULL, NULL, on_sub_event, cli_on_done,
                         &v, &v.w.id);
  if (rc != UCP_OK) {
    printf("refused: %s: %s\n", ucp_err_name(rc), ucp_last_error_detail());
    view_destroy(&v);
    return rc;
  }
  printf("request %llu ucp_subscribe %s\n", (unsigned long long)v.w.id,
         ucp_service_field_get(svc, UCP_SERVICE_EVENT_SUB_URL));
  int ok = wait_notifies(&v, 1, DEMO_WAIT_MS); /* ACTIVE, the initial event */
  flush_pending(&v);
  pthread_mutex_lock(&v.w.lock);
  ok = ok && v.actives == 1 && v.last_seq == 0;
  int on = !strcmp(v.last_status, "1");
  pthread_mutex_unlock(&v.w.lock);
  if (!ok) {
    puts("  no initial event");
    rc = UCP_E_FAIL;
  }
  /* Off then on: each change is one event, SEQ + 1 (an "off" that is no
   * change would send none). */
  if (rc == UCP_OK && on) rc = demo_change(cp, svc, scpd, &v, "0");
  if (rc == UCP_OK) rc = demo_change(cp, svc, scpd, &v, "1");
  int un = ucp_unsubscribe(cp, v.w.id);
  printf("ucp_unsubscribe(%llu) -> %s\n", (unsigned long long)v.w.id,
         ucp_err_name(un));
  int done;
  if (un == UCP_OK) {
    done = wait_or_cancel(cp, &v.w);
  } else { /* not expected: cancel it before v goes */
    pthread_mutex_lock(&v.w.lock);
    v.w.stop = 1;
    pthread_mutex_unlock(&v.w.lock);
    wait_or_cancel(cp, &v.w);
    done = un;
  }
  flush_pending(&v);
  printf("  completion: %s, HTTP %d%s\n", ucp_err_name(done), v.w.http,
         done == UCP_OK ? " (UNSUBSCRIBE accepted; no callback follows)" : "");
  if (rc == UCP_OK && done != UCP_OK) rc = done;
  view_destroy(&v);
  return rc;
}
