/* test_control.c - service control against the simulator (a real
 * libmicrohttpd server executing SwitchPower and Dimming): SCPD download
 * and its cache, invoke with and without an SCPD, argument checking,
 * QueryStateVariable, UPnPError faults, the simulator's HTTP faults, M-POST,
 * cancel and timeout in every phase (connecting, sending, waiting,
 * reading), and many invokes in flight on kept-alive connections. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "upnpcp.h"

/* ------------------------------------------------------------ a recorder */

typedef struct rec {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  ucp_cp *cp;
  uint64_t id;
  int done;
  int status, http, upnp_error;
  char detail[1024], upnp_desc[256], warnings[1024];
  int from_cache;
  const ucp_scpd *scpd;    /* a reference, on success */
  size_t nout;
  char names[8][64], values[8][256];
  int types[8];
  int bool0, has_bool0;
  int64_t int0;
  int has_int0;
  int phases_seen;        /* bit per ucp_phase */
  int cancel_at_phase;    /* cancel from inside progress at this phase;
                             -1: at the first progress */
  int cancel_rc;
  int progress_after_done;
  uint64_t last_num;
} rec;

static void rec_init(rec *r, ucp_cp *cp) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->cond, NULL);
  r->cp = cp;
  r->cancel_rc = 99;
}

static void rec_destroy(rec *r) {
  ucp_scpd_unref(r->scpd);
  pthread_mutex_destroy(&r->lock);
  pthread_cond_destroy(&r->cond);
}

static void copy(char *dst, size_t cap, const char *s) {
  snprintf(dst, cap, "%s", s ? s : "(null)");
}

static void record_outs(rec *p, const ucp_result *r) {
  p->nout = ucp_result_out_count(r);
  for (size_t i = 0; i < p->nout && i < 8; i++) {
    copy(p->names[i], sizeof p->names[i], ucp_result_out_name(r, i));
    copy(p->values[i], sizeof p->values[i], ucp_result_out_value(r, i));
    p->types[i] = ucp_result_out_type(r, i);
  }
  p->has_bool0 = ucp_result_out_bool(r, 0, &p->bool0) == UCP_OK;
  p->has_int0 = ucp_result_out_int(r, 0, &p->int0) == UCP_OK;
  copy(p->warnings, sizeof p->warnings, ucp_result_warnings(r));
}

static void on_done(uint64_t id, const ucp_result *r, void *user) {
  rec *p = user;
  pthread_mutex_lock(&p->lock);
  p->id = id;
  p->status = ucp_result_status(r);
  p->http = ucp_result_http_status(r);
  p->upnp_error = ucp_result_upnp_error(r);
  copy(p->detail, sizeof p->detail, ucp_result_detail(r));
  copy(p->upnp_desc, sizeof p->upnp_desc,
       ucp_result_upnp_error_description(r));
  if (ucp_result_kind(r) == UCP_OP_SCPD_DOWNLOAD) {
    p->from_cache = ucp_result_from_cache(r);
    p->scpd = ucp_scpd_ref(ucp_result_scpd(r));
  } else {
    record_outs(p, r);
  }
  p->done++;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
}

static void on_progress(uint64_t id, uint64_t num, uint64_t den, int status,
                        void *user) {
  rec *p = user;
  (void)den;
  pthread_mutex_lock(&p->lock);
  if (p->done) p->progress_after_done = 1;
  if (status >= 1 && status <= 5) p->phases_seen |= 1 << status;
  p->last_num = num;
  int cancel = p->cancel_at_phase &&
               (status == p->cancel_at_phase || p->cancel_at_phase < 0) &&
               p->cancel_rc == 99;
  pthread_mutex_unlock(&p->lock);
  if (cancel) {
    int rc = ucp_cancel(p->cp, id);
    pthread_mutex_lock(&p->lock);
    p->cancel_rc = rc;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
  }
}

static int rec_wait(rec *p, int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&p->lock);
  int rc = 0;
  while (!p->done && rc == 0) rc = pthread_cond_timedwait(&p->cond, &p->lock, &ts);
  int ok = p->done > 0;
  pthread_mutex_unlock(&p->lock);
  return ok ? 0 : -1;
}

/* Wait for a cancel from inside progress (cancel_rc set). */
static int rec_wait_cancel(rec *p, int ms) {
  for (int i = 0; i < ms / 5; i++) {
    pthread_mutex_lock(&p->lock);
    int rc = p->cancel_rc;
    pthread_mutex_unlock(&p->lock);
    if (rc != 99) return rc;
    sleep_ms(5);
  }
  return 99;
}

static ucp_call_opts *opts_with(uint64_t deadline_ms) {
  ucp_call_opts *o = ucp_call_opts_new();
  assert_non_null(o);
  ucp_call_opts_set_progress(o, on_progress);
  if (deadline_ms) ucp_call_opts_set_deadline(o, deadline_ms);
  return o;
}

/* ------------------------------------------------------------ fixture */

typedef struct fx {
  ucp_sim *sim;
  ucp_cp *cp;
  const ucp_description *desc;
  const ucp_service *sp, *dim; /* SwitchPower, Dimming */
  const ucp_scpd *sp_scpd, *dim_scpd;
} fx;

static const ucp_service *find_service(const ucp_description *d,
                                       const char *id_suffix) {
  const ucp_device *root = ucp_description_root(d);
  for (size_t i = 0; i < ucp_device_service_count(root); i++) {
    const ucp_service *s = ucp_device_service(root, i);
    const char *id = ucp_service_field_get(s, UCP_SERVICE_ID);
    if (id && strstr(id, id_suffix)) return s;
  }
  return NULL;
}

static const ucp_scpd *download(fx *f, const ucp_service *s, int *from_cache) {
  rec r;
  rec_init(&r, f->cp);
  uint64_t id;
  ucp_call_opts *o = opts_with(0);
  assert_int_equal(ucp_scpd_download(f->cp, s, o, on_done, &r, &id), UCP_OK);
  ucp_call_opts_free(o);
  assert_int_equal(rec_wait(&r, 10000), 0);
  if (r.status != UCP_OK) fail_msg("SCPD: %s", r.detail);
  if (!r.from_cache) assert_true(r.last_num > 500); /* bytes of the SCPD */
  else assert_int_equal(r.http, 0);
  if (from_cache) *from_cache = r.from_cache;
  const ucp_scpd *scpd = ucp_scpd_ref(r.scpd);
  rec_destroy(&r);
  return scpd;
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->sim = test_sim_start();
  assert_non_null(f->sim);
  assert_int_equal(ucp_cp_new(NULL, &f->cp), UCP_OK);
  probe p;
  probe_init(&p);
  assert_int_equal(probe_load(f->cp, &p, ucp_sim_description_url(f->sim), 0),
                   UCP_OK);
  assert_int_equal(probe_wait(&p, 10000), 0);
  assert_int_equal(p.status, UCP_OK);
  f->desc = ucp_description_ref(p.desc);
  probe_destroy(&p);
  f->sp = find_service(f->desc, "SwitchPower");
  f->dim = find_service(f->desc, "Dimming");
  assert_non_null(f->sp);
  assert_non_null(f->dim);
  f->sp_scpd = download(f, f->sp, NULL);
  f->dim_scpd = download(f, f->dim, NULL);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ucp_scpd_unref(f->sp_scpd);
  ucp_scpd_unref(f->dim_scpd);
  ucp_description_unref(f->desc);
  assert_int_equal(ucp_cp_free(f->cp), UCP_OK);
  ucp_sim_stop(f->sim);
  free(f);
  return 0;
}

/* Invoke and wait; the recorder is left for the caller to check. */
static void invoke_wait(fx *f, rec *r, const ucp_service *s,
                        const ucp_scpd *scpd, const char *action,
                        const ucp_arg *args, size_t n, uint64_t deadline) {
  rec_init(r, f->cp);
  uint64_t id = 0;
  ucp_call_opts *o = opts_with(deadline);
  int rc = ucp_invoke(f->cp, s, scpd, action, args, n, o, on_done, r, &id);
  ucp_call_opts_free(o);
  if (rc != UCP_OK) fail_msg("%s: %s: %s", action, ucp_err_name(rc),
                             ucp_last_error_detail());
  assert_int_equal(rec_wait(r, 15000), 0);
  assert_int_equal(r->id, id);
}

/* A control URL of the simulator with a fault query. */
static const char *ctl_url(fx *f, const char *service, const char *query) {
  static char buf[512];
  snprintf(buf, sizeof buf, "%s/ctl/%s%s%s", ucp_sim_base_url(f->sim), service,
           query ? "?" : "", query ? query : "");
  return buf;
}

static void invoke_url_wait(fx *f, rec *r, const char *url,
                            const ucp_scpd *scpd, const char *action,
                            const ucp_arg *args, size_t n, uint64_t deadline) {
  rec_init(r, f->cp);
  uint64_t id = 0;
  ucp_call_opts *o = opts_with(deadline);
  int rc = ucp_invoke_url(f->cp, url,
                          "urn:schemas-upnp-org:service:SwitchPower:1", scpd,
                          action, args, n, o, on_done, r, &id);
  ucp_call_opts_free(o);
  if (rc != UCP_OK) fail_msg("%s: %s: %s", action, ucp_err_name(rc),
                             ucp_last_error_detail());
  assert_int_equal(rec_wait(r, 15000), 0);
}

/* ------------------------------------------------------------ SCPD */

static void test_scpd_model(void **state) {
  fx *f = *state;
  const ucp_scpd *s = f->dim_scpd;
  assert_true(ucp_scpd_action_count(s) >= 20);
  const ucp_action *a = ucp_scpd_find_action(s, "SetLoadLevelTarget");
  assert_non_null(a);
  assert_string_equal(ucp_action_name(a), "SetLoadLevelTarget");
  assert_ptr_equal(ucp_scpd_find_action(s, "setloadleveltarget"), a);
  assert_int_equal(ucp_action_argument_count(a), 1);
  const ucp_argument *g = ucp_action_argument(a, 0);
  assert_string_equal(ucp_argument_name(g), "newLoadlevelTarget");
  assert_int_equal(ucp_argument_direction(g), UCP_DIR_IN);
  assert_string_equal(ucp_argument_related_name(g), "LoadLevelTarget");
  const ucp_statevar *v = ucp_argument_statevar(g);
  assert_non_null(v);
  assert_int_equal(ucp_statevar_type(v), UCP_TYPE_UI1);
  assert_string_equal(ucp_statevar_type_name(v), "ui1");
  assert_string_equal(ucp_statevar_default(v), "0");
  assert_int_equal(ucp_statevar_sends_events(v), 0);
  const char *min, *max, *step;
  assert_int_equal(ucp_statevar_range(v, &min, &max, &step), 1);
  assert_string_equal(min, "0");
  assert_string_equal(max, "100");
  assert_null(step);
  const ucp_statevar *eff = ucp_scpd_find_statevar(s, "OnEffect");
  assert_int_equal(ucp_statevar_allowed_count(eff), 3);
  assert_string_equal(ucp_statevar_allowed(eff, 1), "LastSetting");
  assert_null(ucp_statevar_allowed(eff, 3));
  assert_int_equal(ucp_statevar_range(eff, NULL, NULL, NULL), 0);
  const ucp_action *get = ucp_scpd_find_action(s, "GetOnEffectParameters");
  assert_int_equal(ucp_action_argument_count(get), 2);
  assert_int_equal(ucp_argument_direction(ucp_action_argument(get, 1)),
                   UCP_DIR_OUT);
  assert_null(ucp_scpd_find_action(s, "NoSuchAction"));
  assert_null(ucp_scpd_action(s, 1000));
  assert_string_equal(ucp_scpd_warnings(s), "");
  assert_string_equal(ucp_type_name(UCP_TYPE_DATETIME_TZ), "dateTime.tz");
  assert_null(ucp_type_name(UCP_TYPE_UNKNOWN));
}

static void test_scpd_cache(void **state) {
  fx *f = *state;
  uint64_t before = ucp_sim_requests(f->sim);
  int cached = 0;
  const ucp_scpd *s = download(f, f->sp, &cached);
  assert_int_equal(cached, 1);
  assert_ptr_equal(s, f->sp_scpd); /* the same model, shared */
  assert_int_equal(ucp_sim_requests(f->sim), before);
  ucp_scpd_unref(s);
  /* Forgetting the device drops it: the next request downloads. */
  const char *udn = ucp_device_field_get(ucp_description_root(f->desc),
                                         UCP_DEVICE_UDN);
  assert_int_equal(ucp_cp_forget_device(f->cp, udn), UCP_OK);
  s = download(f, f->sp, &cached);
  assert_int_equal(cached, 0);
  assert_int_equal(ucp_sim_requests(f->sim), before + 1);
  ucp_scpd_unref(s);
  assert_int_equal(ucp_cp_forget_device(f->cp, NULL), UCP_E_INVALIDARG);
}

/* A cancelled download goes on and fills the cache (CONTRACT §3). */
static void test_scpd_cancel_fills_cache(void **state) {
  fx *f = *state;
  const char *udn = ucp_device_field_get(ucp_description_root(f->desc),
                                         UCP_DEVICE_UDN);
  assert_int_equal(ucp_cp_forget_device(f->cp, udn), UCP_OK);
  uint64_t before = ucp_sim_requests(f->sim);
  rec r;
  rec_init(&r, f->cp);
  /* The first progress: SENDING or WAITING on a kept-alive connection,
   * CONNECTING on a new one. */
  r.cancel_at_phase = -1;
  uint64_t id;
  ucp_call_opts *o = opts_with(0);
  assert_int_equal(ucp_scpd_download(f->cp, f->dim, o, on_done, &r, &id),
                   UCP_OK);
  ucp_call_opts_free(o);
  assert_int_equal(rec_wait_cancel(&r, 5000), UCP_OK);
  /* The simulator serves it although nobody waits any more. */
  for (int i = 0; i < 400 && ucp_sim_requests(f->sim) == before; i++)
    sleep_ms(5);
  assert_int_equal(ucp_sim_requests(f->sim), before + 1);
  sleep_ms(100);
  assert_int_equal(r.done, 0);
  int cached = 0;
  const ucp_scpd *s = download(f, f->dim, &cached);
  assert_int_equal(cached, 1);
  assert_int_equal(ucp_sim_requests(f->sim), before + 1);
  ucp_scpd_unref(s);
  rec_destroy(&r);
}


/* A one-service description (SwitchPower) of device `udn` whose SCPDURL is
 * `scpd_url`, with configId `config_id` when >= 0, parsed against the
 * simulator's description URL. */
static const ucp_description *one_service_desc(fx *f, const char *udn,
                                               const char *scpd_url,
                                               int config_id) {
  char doc[2048], cfg[32] = "";
  if (config_id >= 0) snprintf(cfg, sizeof cfg, " configId=\"%d\"", config_id);
  snprintf(doc, sizeof doc,
           "<root xmlns=\"urn:schemas-upnp-org:device-1-0\"%s>"
           "<device><deviceType>urn:x:device:X:1</deviceType>"
           "<UDN>%s</UDN><serviceList><service>"
           "<serviceType>urn:schemas-upnp-org:service:SwitchPower:1"
           "</serviceType><serviceId>urn:upnp-org:serviceId:SwitchPower"
           "</serviceId><SCPDURL>%s</SCPDURL>"
           "<controlURL>/ctl/SwitchPower</controlURL><eventSubURL>/evt/x"
           "</eventSubURL></service></serviceList></device></root>",
           cfg, udn, scpd_url);
  const ucp_description *d;
  assert_int_equal(ucp_description_parse(doc, strlen(doc),
                                         ucp_sim_description_url(f->sim), &d,
                                         NULL, 0),
                   UCP_OK);
  return d;
}

/* A description under another configId (UDA 1.1) drops the cached SCPD. */
static void test_scpd_config_id(void **state) {
  fx *f = *state;
  uint64_t before = ucp_sim_requests(f->sim);
  int cached = -1;
  for (int round = 0; round < 3; round++) {
    const ucp_description *d = one_service_desc(
        f, "uuid:config-test", "/SwitchPower.xml", round < 2 ? 7 : 8);
    const ucp_scpd *s = download(f, ucp_device_service(ucp_description_root(d), 0),
                                 &cached);
    assert_non_null(ucp_scpd_find_action(s, "SetTarget"));
    assert_int_equal(cached, round == 1); /* 7: load, 7: hit, 8: load */
    ucp_scpd_unref(s);
    ucp_description_unref(d);
  }
  assert_int_equal(ucp_sim_requests(f->sim), before + 2);
}

/* A request that joins a running download keeps its own deadline: the
 * first request gives up at its 300 ms, the download is made again for
 * the second, whose 10 s cover the device's 1.5 s (CONTRACT §5). */
static void test_scpd_join_keeps_own_deadline(void **state) {
  fx *f = *state;
  const ucp_description *d =
      one_service_desc(f, "uuid:join-test", "/SwitchPower.xml?ms=1500", -1);
  const ucp_service *svc = ucp_device_service(ucp_description_root(d), 0);
  rec a, b;
  rec_init(&a, f->cp);
  rec_init(&b, f->cp);
  uint64_t ida, idb;
  ucp_call_opts *oa = opts_with(300), *ob = opts_with(10000);
  assert_int_equal(ucp_scpd_download(f->cp, svc, oa, on_done, &a, &ida),
                   UCP_OK);
  sleep_ms(50);
  assert_int_equal(ucp_scpd_download(f->cp, svc, ob, on_done, &b, &idb),
                   UCP_OK);
  assert_int_equal(rec_wait(&a, 5000), 0);
  assert_int_equal(a.status, UCP_E_TIMEOUT);
  assert_int_equal(rec_wait(&b, 10000), 0);
  if (b.status != UCP_OK) fail_msg("the later request: %s", b.detail);
  assert_int_equal(b.from_cache, 0);
  assert_non_null(ucp_scpd_find_action(b.scpd, "SetTarget"));
  ucp_call_opts_free(oa);
  ucp_call_opts_free(ob);
  rec_destroy(&a);
  rec_destroy(&b);
  /* the same with no deadline at all for the later one (UINT64_MAX) */
  assert_int_equal(ucp_cp_forget_device(f->cp, "uuid:join-test"), UCP_OK);
  rec_init(&a, f->cp);
  rec_init(&b, f->cp);
  oa = opts_with(300);
  ob = opts_with(UINT64_MAX);
  assert_int_equal(ucp_scpd_download(f->cp, svc, oa, on_done, &a, &ida),
                   UCP_OK);
  sleep_ms(50);
  assert_int_equal(ucp_scpd_download(f->cp, svc, ob, on_done, &b, &idb),
                   UCP_OK);
  assert_int_equal(rec_wait(&b, 10000), 0);
  if (b.status != UCP_OK) fail_msg("no deadline: %s", b.detail);
  assert_int_equal(a.status, UCP_E_TIMEOUT);
  ucp_call_opts_free(oa);
  ucp_call_opts_free(ob);
  rec_destroy(&a);
  rec_destroy(&b);
  ucp_description_unref(d);
}

/* A reboot or ucp_cp_forget_device() drops cached SCPDs whatever the case
 * of the UDN it names (an SSDP USN may spell it otherwise than the
 * description). */
static void test_scpd_forget_any_case(void **state) {
  fx *f = *state;
  const char *udn = ucp_device_field_get(ucp_description_root(f->desc),
                                         UCP_DEVICE_UDN);
  char upper[128];
  snprintf(upper, sizeof upper, "%s", udn);
  for (char *p = upper; *p; p++)
    if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
  assert_string_not_equal(upper, udn);
  int cached = 0;
  const ucp_scpd *s = download(f, f->sp, &cached); /* in the cache */
  ucp_scpd_unref(s);
  assert_int_equal(ucp_cp_forget_device(f->cp, upper), UCP_OK);
  s = download(f, f->sp, &cached);
  assert_int_equal(cached, 0);
  ucp_scpd_unref(s);
}

static void test_scpd_errors(void **state) {
  fx *f = *state;
  uint64_t id = 0;
  assert_int_equal(ucp_scpd_download(f->cp, NULL, NULL, on_done, NULL, &id),
                   UCP_E_INVALIDARG);
  assert_int_equal(id, 0);
  /* A service whose SCPDURL is a 404 fails with the URL and the status. */
  char doc[2048];
  snprintf(doc, sizeof doc,
           "<root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device>"
           "<deviceType>urn:x:device:X:1</deviceType><UDN>uuid:scpd-404</UDN>"
           "<serviceList><service><serviceType>urn:x:service:Y:1"
           "</serviceType><serviceId>urn:x:serviceId:Y</serviceId>"
           "<SCPDURL>/nope.xml</SCPDURL><controlURL>/ctl/Y</controlURL>"
           "<eventSubURL>/evt/Y</eventSubURL></service></serviceList>"
           "</device></root>");
  const ucp_description *d;
  assert_int_equal(ucp_description_parse(doc, strlen(doc),
                                         ucp_sim_description_url(f->sim), &d,
                                         NULL, 0),
                   UCP_OK);
  const ucp_service *s = ucp_device_service(ucp_description_root(d), 0);
  rec r;
  rec_init(&r, f->cp);
  assert_int_equal(ucp_scpd_download(f->cp, s, NULL, on_done, &r, &id),
                   UCP_OK);
  ucp_description_unref(d); /* borrowed for the call only */
  assert_int_equal(rec_wait(&r, 10000), 0);
  assert_int_equal(r.status, UCP_E_HTTP);
  assert_int_equal(r.http, 404);
  assert_non_null(strstr(r.detail, "/nope.xml"));
  rec_destroy(&r);
}

/* ------------------------------------------------------------ invoke */

static void test_invoke_switch(void **state) {
  fx *f = *state;
  rec r;
  ucp_arg on[] = {{"newTargetValue", "TRUE"}}; /* sent as "1" */
  invoke_wait(f, &r, f->sp, f->sp_scpd, "SetTarget", on, 1, 0);
  assert_int_equal(r.status, UCP_OK);
  assert_int_equal(r.http, 200);
  assert_int_equal(r.nout, 0);
  rec_destroy(&r);
  assert_int_equal(ucp_sim_switch_status(f->sim, 0), 1);
  invoke_wait(f, &r, f->sp, f->sp_scpd, "GetStatus", NULL, 0, 0);
  assert_int_equal(r.status, UCP_OK);
  assert_int_equal(r.nout, 1);
  assert_string_equal(r.names[0], "ResultStatus");
  assert_string_equal(r.values[0], "1");
  assert_int_equal(r.types[0], UCP_TYPE_BOOLEAN);
  assert_true(r.has_bool0);
  assert_int_equal(r.bool0, 1);
  assert_false(r.has_int0); /* a boolean is not an integer */
  rec_destroy(&r);
  /* Case-insensitive action and argument names take the SCPD's. */
  ucp_arg off[] = {{"NEWTARGETVALUE", "no"}};
  invoke_wait(f, &r, f->sp, f->sp_scpd, "settarget", off, 1, 0);
  assert_int_equal(r.status, UCP_OK);
  rec_destroy(&r);
  assert_int_equal(ucp_sim_switch_status(f->sim, 0), 0);
}

/* A deadline as long as uint64_t goes means "none": it neither wraps to
 * "now" in the control point nor overflows curl's seconds-to-ms (the
 * "localhost" control URL goes through curl, the address through h1). */
static void test_huge_deadline(void **state) {
  fx *f = *state;
  rec r;
  invoke_wait(f, &r, f->sp, f->sp_scpd, "GetStatus", NULL, 0, UINT64_MAX);
  assert_int_equal(r.status, UCP_OK);
  rec_destroy(&r);
  char url[256];
  snprintf(url, sizeof url, "http://localhost:%u/ctl/SwitchPower",
           (unsigned)ucp_sim_port(f->sim));
  rec_init(&r, f->cp);
  uint64_t id;
  ucp_call_opts *o = opts_with(UINT64_MAX / 2);
  assert_int_equal(ucp_invoke_url(f->cp, url,
                                  "urn:schemas-upnp-org:service:SwitchPower:1",
                                  NULL, "GetStatus", NULL, 0, o, on_done, &r,
                                  &id),
                   UCP_OK);
  ucp_call_opts_free(o);
  assert_int_equal(rec_wait(&r, 15000), 0);
  if (r.status != UCP_OK) fail_msg("through curl: %s", r.detail);
  rec_destroy(&r);
}

static void test_invoke_dimming(void **state) {
  fx *f = *state;
  rec r;
  ucp_arg lvl[] = {{"newLoadlevelTarget", " 042 "}}; /* canonical: 42 */
  invoke_wait(f, &r, f->dim, f->dim_scpd, "SetLoadLevelTarget", lvl, 1, 0);
  assert_int_equal(r.status, UCP_OK);
  rec_destroy(&r);
  assert_int_equal(ucp_sim_load_level(f->sim, 0), 42);
  invoke_wait(f, &r, f->dim, f->dim_scpd, "GetLoadLevelStatus", NULL, 0, 0);
  assert_int_equal(r.status, UCP_OK);
  assert_string_equal(r.values[0], "42");
  assert_int_equal(r.types[0], UCP_TYPE_UI1);
  assert_true(r.has_int0);
  assert_int_equal(r.int0, 42);
  rec_destroy(&r);
  ucp_arg eff[] = {{"newOnEffect", "LastSetting"}};
  invoke_wait(f, &r, f->dim, f->dim_scpd, "SetOnEffect", eff, 1, 0);
  assert_int_equal(r.status, UCP_OK);
  rec_destroy(&r);
  invoke_wait(f, &r, f->dim, f->dim_scpd, "GetOnEffectParameters", NULL, 0, 0);
  assert_int_equal(r.status, UCP_OK);
  assert_int_equal(r.nout, 2); /* SCPD order */
  assert_string_equal(r.names[0], "retOnEffect");
  assert_string_equal(r.values[0], "LastSetting");
  assert_string_equal(r.names[1], "retOnEffectLevel");
  assert_int_equal(r.types[1], UCP_TYPE_UI1);
  rec_destroy(&r);
}

/* Bad arguments fail the start call: no id, no callback, a detail that
 * names the argument and the rule. */
static void expect_refused(fx *f, const ucp_service *s, const ucp_scpd *scpd,
                           const char *action, const ucp_arg *args, size_t n,
                           int code, const char *must_say) {
  uint64_t started = ucp_cp_counter(f->cp, UCP_COUNTER_STARTED);
  uint64_t id = 0;
  int rc = ucp_invoke(f->cp, s, scpd, action, args, n, NULL, on_done, NULL, &id);
  if (rc != code)
    fail_msg("%s: %s instead of %s (%s)", action, ucp_err_name(rc),
             ucp_err_name(code), ucp_last_error_detail());
  assert_int_equal(id, 0);
  if (!strstr(ucp_last_error_detail(), must_say))
    fail_msg("detail '%s' lacks '%s'", ucp_last_error_detail(), must_say);
  assert_int_equal(ucp_cp_counter(f->cp, UCP_COUNTER_STARTED), started);
}

/* Whether s is well-formed UTF-8 (no cut sequence). */
static int utf8_ok(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
            : (*p & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0) return 0;
    p++;
    for (; n > 0; n--, p++)
      if ((*p & 0xC0) != 0x80) return 0;
  }
  return 1;
}

static void test_invoke_validation(void **state) {
  fx *f = *state;
  /* a long refused value is quoted cut between characters, not inside one */
  char longv[128] = "a";
  for (int i = 0; i < 30; i++) strcat(longv, "\xc3\xa9"); /* e acute */
  ucp_arg long_bad[] = {{"newTargetValue", longv}};
  uint64_t lid;
  assert_int_equal(ucp_invoke(f->cp, f->sp, f->sp_scpd, "SetTarget", long_bad,
                              1, NULL, on_done, NULL, &lid),
                   UCP_E_INVALIDARG);
  assert_non_null(strstr(ucp_last_error_detail(), "...': not a boolean"));
  if (!utf8_ok(ucp_last_error_detail()))
    fail_msg("detail not UTF-8: %s", ucp_last_error_detail());
  ucp_arg bad_bool[] = {{"newTargetValue", "maybe"}};
  expect_refused(f, f->sp, f->sp_scpd, "SetTarget", bad_bool, 1,
                 UCP_E_INVALIDARG, "'newTargetValue' = 'maybe': not a boolean");
  expect_refused(f, f->sp, f->sp_scpd, "SetTarget", NULL, 0, UCP_E_INVALIDARG,
                 "SetTarget needs argument 'newTargetValue' (boolean)");
  ucp_arg extra[] = {{"newTargetValue", "1"}, {"Brightness", "3"}};
  expect_refused(f, f->sp, f->sp_scpd, "SetTarget", extra, 2,
                 UCP_E_INVALIDARG, "no in-argument 'Brightness'");
  ucp_arg twice[] = {{"newTargetValue", "1"}, {"newtargetvalue", "0"}};
  expect_refused(f, f->sp, f->sp_scpd, "SetTarget", twice, 2,
                 UCP_E_INVALIDARG, "given twice");
  ucp_arg out_arg[] = {{"RetTargetValue", "1"}};
  expect_refused(f, f->sp, f->sp_scpd, "GetTarget", out_arg, 1,
                 UCP_E_INVALIDARG, "no in-argument 'RetTargetValue'");
  expect_refused(f, f->sp, f->sp_scpd, "Explode", NULL, 0, UCP_E_NOT_FOUND,
                 "no action 'Explode'");
  ucp_arg high[] = {{"newLoadlevelTarget", "101"}};
  expect_refused(f, f->dim, f->dim_scpd, "SetLoadLevelTarget", high, 1,
                 UCP_E_INVALIDARG, "above the allowedValueRange maximum");
  ucp_arg wide[] = {{"newLoadlevelTarget", "256"}};
  expect_refused(f, f->dim, f->dim_scpd, "SetLoadLevelTarget", wide, 1,
                 UCP_E_INVALIDARG, "ui1 takes 0..255");
  ucp_arg step0[] = {{"newStepDelta", "0"}};
  expect_refused(f, f->dim, f->dim_scpd, "SetStepDelta", step0, 1,
                 UCP_E_INVALIDARG, "below the allowedValueRange minimum");
  ucp_arg list[] = {{"newOnEffect", "lastsetting"}}; /* case matters */
  expect_refused(f, f->dim, f->dim_scpd, "SetOnEffect", list, 1,
                 UCP_E_INVALIDARG, "allowedValueList");
  ucp_arg neg[] = {{"newRampTime", "-1"}, {"newLoadLevelTarget", "5"}};
  expect_refused(f, f->dim, f->dim_scpd, "StartRampToLevel", neg, 2,
                 UCP_E_INVALIDARG, "'newRampTime' = '-1'");
  /* Raw: the name grammar and XML text are still checked. */
  ucp_arg bad_name[] = {{"new Target", "1"}};
  expect_refused(f, f->sp, NULL, "SetTarget", bad_name, 1, UCP_E_INVALIDARG,
                 "argument 'new Target'");
  ucp_arg ctl[] = {{"newTargetValue", "a\001b"}};
  expect_refused(f, f->sp, NULL, "SetTarget", ctl, 1, UCP_E_INVALIDARG,
                 "argument 'newTargetValue'");
  expect_refused(f, f->sp, NULL, "Set<Target>", NULL, 0, UCP_E_INVALIDARG,
                 "action name");
  uint64_t id;
  assert_int_equal(ucp_invoke_url(f->cp, "ftp://x/ctl", "urn:x:service:Y:1",
                                  NULL, "A", NULL, 0, NULL, on_done, NULL,
                                  &id),
                   UCP_E_URL);
  assert_non_null(strstr(ucp_last_error_detail(), "ftp://x/ctl"));
  assert_int_equal(ucp_invoke(f->cp, f->sp, NULL, "A", NULL, 1, NULL, on_done,
                              NULL, &id),
                   UCP_E_INVALIDARG);
}

/* Without an SCPD, the device judges: its UPnPError comes back. */
static void test_invoke_faults(void **state) {
  fx *f = *state;
  rec r;
  ucp_arg bad[] = {{"newTargetValue", "maybe"}};
  invoke_wait(f, &r, f->sp, NULL, "SetTarget", bad, 1, 0);
  assert_int_equal(r.status, UCP_E_FAULT);
  assert_int_equal(r.http, 500);
  assert_int_equal(r.upnp_error, 600);
  assert_non_null(strstr(r.detail, "UPnPError 600"));
  rec_destroy(&r);
  invoke_wait(f, &r, f->sp, NULL, "Explode", NULL, 0, 0);
  assert_int_equal(r.status, UCP_E_FAULT);
  assert_int_equal(r.upnp_error, 401);
  rec_destroy(&r);
  invoke_wait(f, &r, f->sp, NULL, "SetTarget", NULL, 0, 0);
  assert_int_equal(r.upnp_error, 402);
  rec_destroy(&r);
  ucp_arg high[] = {{"newLoadlevelTarget", "101"}};
  invoke_wait(f, &r, f->dim, NULL, "SetLoadLevelTarget", high, 1, 0);
  assert_int_equal(r.upnp_error, 601);
  assert_string_not_equal(r.upnp_desc, "(null)");
  rec_destroy(&r);
  /* Raw success: out-arguments as strings, in document order. */
  invoke_wait(f, &r, f->sp, NULL, "GetTarget", NULL, 0, 0);
  assert_int_equal(r.status, UCP_OK);
  assert_int_equal(r.nout, 1);
  assert_string_equal(r.names[0], "RetTargetValue");
  assert_int_equal(r.types[0], UCP_TYPE_UNKNOWN);
  rec_destroy(&r);
}

static void test_query(void **state) {
  fx *f = *state;
  ucp_arg on[] = {{"newTargetValue", "1"}};
  rec r;
  invoke_wait(f, &r, f->sp, f->sp_scpd, "SetTarget", on, 1, 0);
  rec_destroy(&r);
  rec_init(&r, f->cp);
  uint64_t id;
  assert_int_equal(ucp_query_state_variable(f->cp, f->sp, f->sp_scpd, "status",
                                            NULL, on_done, &r, &id),
                   UCP_OK);
  assert_int_equal(rec_wait(&r, 10000), 0);
  assert_int_equal(r.status, UCP_OK);
  assert_int_equal(r.nout, 1);
  assert_string_equal(r.names[0], "Status");
  assert_string_equal(r.values[0], "1");
  assert_int_equal(r.types[0], UCP_TYPE_BOOLEAN);
  rec_destroy(&r);
  assert_int_equal(ucp_query_state_variable(f->cp, f->sp, f->sp_scpd, "Nope",
                                            NULL, on_done, &r, &id),
                   UCP_E_NOT_FOUND);
  rec_init(&r, f->cp);
  assert_int_equal(ucp_query_state_variable(f->cp, f->sp, NULL, "Nope", NULL,
                                            on_done, &r, &id),
                   UCP_OK);
  assert_int_equal(rec_wait(&r, 10000), 0);
  assert_int_equal(r.status, UCP_E_FAULT);
  assert_int_equal(r.upnp_error, 404);
  rec_destroy(&r);
}

/* The simulator's faults, each with its own outcome. */
static void test_http_faults(void **state) {
  fx *f = *state;
  static const struct {
    const char *query;
    int status, http;
  } cases[] = {
      {"fault=500", UCP_E_HTTP, 500},
      {"fault=malformed", UCP_E_XML, 200},
      {"fault=empty", UCP_E_XML, 200},
      {"fault=oversized&bytes=2000000", UCP_E_TOO_LARGE, 200},
      {"fault=chunked", UCP_OK, 200},
      {"fault=mpost", UCP_OK, 200},
      {"fault=reset", UCP_E_NETWORK, 200},
      {"fault=badcode", UCP_E_FAULT, 500},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rec r;
    invoke_url_wait(f, &r, ctl_url(f, "SwitchPower", cases[i].query),
                    f->sp_scpd, "GetStatus", NULL, 0, 0);
    /* A reset may come before curl has read the status line. */
    int http_ok = r.http == cases[i].http ||
                  (cases[i].status == UCP_E_NETWORK && r.http == 0);
    if (r.status != cases[i].status || !http_ok)
      fail_msg("%s: %s/%d (%s), expected %s/%d", cases[i].query,
               ucp_err_name(r.status), r.http, r.detail,
               ucp_err_name(cases[i].status), cases[i].http);
    if (r.status == UCP_OK) assert_string_equal(r.names[0], "ResultStatus");
    else assert_non_null(strstr(r.detail, "/ctl/SwitchPower"));
    if (r.status == UCP_E_FAULT) { /* the code is no number: 0, and said */
      assert_int_equal(r.upnp_error, 0);
      assert_string_equal(r.upnp_desc, "Odd Device");
      assert_non_null(strstr(r.detail, "errorCode 'abc' is not an integer"));
    }
    rec_destroy(&r);
  }
}

/* ------------------------------------------------------------ phases */

/* A listener whose accept queue is full: connects to it hang in SYN_SENT. */
static int full_listener(int *fds, int *nfds, unsigned short *port) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 0) != 0)
    return -1;
  socklen_t al = sizeof a;
  getsockname(l, (struct sockaddr *)&a, &al);
  *port = ntohs(a.sin_port);
  fds[(*nfds)++] = l;
  for (int i = 0; i < 4; i++) { /* fill the queue; later SYNs are dropped */
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    fds[(*nfds)++] = c;
  }
  sleep_ms(50);
  return 0;
}

/* A lone SCPD request whose device never completes the connect fails at
 * the connect timeout (5 s), not again and again until its deadline: the
 * download is made again only for a later request with more time. */
static void test_scpd_connect_timeout_not_repeated(void **state) {
  fx *f = *state;
  int fds[8], nfds = 0;
  unsigned short port;
  assert_int_equal(full_listener(fds, &nfds, &port), 0);
  char scpd_url[64];
  snprintf(scpd_url, sizeof scpd_url, "http://127.0.0.1:%u/s.xml", port);
  const ucp_description *d =
      one_service_desc(f, "uuid:full-test", scpd_url, -1);
  rec r;
  rec_init(&r, f->cp);
  uint64_t id;
  ucp_call_opts *o = opts_with(12000);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  assert_int_equal(ucp_scpd_download(f->cp,
                                     ucp_device_service(ucp_description_root(d), 0),
                                     o, on_done, &r, &id),
                   UCP_OK);
  assert_int_equal(rec_wait(&r, 15000), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  assert_int_equal(r.status, UCP_E_TIMEOUT);
  if (ms > 9000) fail_msg("failed after %ld ms: %s", ms, r.detail);
  ucp_call_opts_free(o);
  rec_destroy(&r);
  ucp_description_unref(d);
  for (int i = 0; i < nfds; i++) close(fds[i]);
}

/* A listener that accepts nothing it reads: a big request stalls in
 * "sending" once the socket buffers are full. */
static void *sink_thread(void *arg) {
  int l = *(int *)arg;
  int c = accept(l, NULL, NULL); /* accept, never read */
  sleep_ms(3000);
  if (c >= 0) close(c);
  return NULL;
}

typedef struct phase_case {
  const char *name;
  int phase;
} phase_case;

static void run_phase(fx *f, const char *url, const ucp_arg *args, size_t n,
                      int phase, int by_cancel) {
  rec r;
  rec_init(&r, f->cp);
  if (by_cancel) r.cancel_at_phase = phase;
  uint64_t id;
  ucp_call_opts *o = opts_with(by_cancel ? 20000 : 400);
  assert_int_equal(ucp_invoke_url(f->cp, url,
                                  "urn:schemas-upnp-org:service:SwitchPower:1",
                                  NULL, n ? "SetTarget" : "GetStatus", args, n,
                                  o, on_done, &r, &id),
                   UCP_OK);
  ucp_call_opts_free(o);
  if (by_cancel) {
    assert_int_equal(rec_wait_cancel(&r, 10000), UCP_OK);
    sleep_ms(100);
    assert_int_equal(r.done, 0); /* no callback after a successful cancel */
    assert_int_equal(ucp_cancel(f->cp, id), UCP_E_INVALIDARG);
  } else {
    assert_int_equal(rec_wait(&r, 10000), 0);
    if (r.status != UCP_E_TIMEOUT)
      fail_msg("phase %d: %s (%s)", phase, ucp_err_name(r.status), r.detail);
    assert_true(r.phases_seen & (1 << phase));
    assert_false(r.progress_after_done);
  }
  rec_destroy(&r);
}

static void test_phases(void **state) {
  fx *f = *state;
  int fds[8], nfds = 0;
  unsigned short port = 0;
  assert_int_equal(full_listener(fds, &nfds, &port), 0);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/ctl", port);
  for (int c = 0; c <= 1; c++) run_phase(f, url, NULL, 0, UCP_PHASE_CONNECTING, c);
  for (int i = 0; i < nfds; i++) close(fds[i]);
  /* sending: 32 MiB to a peer that never reads */
  size_t big = 32u << 20;
  char *v = malloc(big + 1);
  memset(v, 'a', big);
  v[big] = '\0';
  ucp_arg args[] = {{"newTargetValue", v}};
  for (int c = 0; c <= 1; c++) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 4), 0);
    socklen_t al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    pthread_t t;
    pthread_create(&t, NULL, sink_thread, &l);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/ctl", ntohs(a.sin_port));
    run_phase(f, url, args, 1, UCP_PHASE_SENDING, c);
    pthread_join(t, NULL);
    close(l);
  }
  free(v);
  /* waiting: the device thinks for 3 s; reading: the body stalls */
  for (int c = 0; c <= 1; c++) {
    run_phase(f, ctl_url(f, "SwitchPower", "fault=slow&ms=3000"), NULL, 0,
              UCP_PHASE_WAITING, c);
    run_phase(f, ctl_url(f, "SwitchPower", "fault=stall_body&ms=3000"), NULL,
              0, UCP_PHASE_RECEIVING, c);
  }
}

/* ------------------------------------------------------------ concurrency */

static void test_many_in_flight(void **state) {
  fx *f = *state;
  enum { N = 300 };
  rec *r = calloc(N, sizeof *r);
  uint64_t conns = ucp_sim_connections(f->sim);
  for (int i = 0; i < N; i++) {
    rec_init(&r[i], f->cp);
    uint64_t id;
    ucp_arg a[] = {{"newLoadlevelTarget", i % 2 ? "10" : "20"}};
    int rc = i % 3 == 0
                 ? ucp_invoke(f->cp, f->dim, f->dim_scpd, "SetLoadLevelTarget",
                              a, 1, NULL, on_done, &r[i], &id)
                 : ucp_invoke(f->cp, f->sp, f->sp_scpd, "GetStatus", NULL, 0,
                              NULL, on_done, &r[i], &id);
    assert_int_equal(rc, UCP_OK);
  }
  for (int i = 0; i < N; i++) {
    assert_int_equal(rec_wait(&r[i], 20000), 0);
    if (r[i].status != UCP_OK) fail_msg("%d: %s", i, r[i].detail);
    rec_destroy(&r[i]);
  }
  free(r);
  /* Kept-alive connections: at most UCP_LIMIT_HTTP_PER_HOST (8) opened
   * for 300 requests to one host. */
  uint64_t opened = ucp_sim_connections(f->sim) - conns;
  if (opened > 8) fail_msg("%llu connections for %d invokes",
                           (unsigned long long)opened, N);
  /* The counter drops right after the last callback returns. */
  for (int i = 0; i < 200 && ucp_cp_counter(f->cp, UCP_COUNTER_PENDING); i++)
    sleep_ms(5);
  assert_int_equal(ucp_cp_counter(f->cp, UCP_COUNTER_PENDING), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scpd_model),
      cmocka_unit_test(test_scpd_cache),
      cmocka_unit_test(test_scpd_cancel_fills_cache),
      cmocka_unit_test(test_scpd_config_id),
      cmocka_unit_test(test_scpd_join_keeps_own_deadline),
      cmocka_unit_test(test_scpd_forget_any_case),
      cmocka_unit_test(test_scpd_errors),
      cmocka_unit_test(test_invoke_switch),
      cmocka_unit_test(test_huge_deadline),
      cmocka_unit_test(test_invoke_dimming),
      cmocka_unit_test(test_invoke_validation),
      cmocka_unit_test(test_invoke_faults),
      cmocka_unit_test(test_query),
      cmocka_unit_test(test_http_faults),
      cmocka_unit_test(test_phases),
      cmocka_unit_test(test_scpd_connect_timeout_not_repeated),
      cmocka_unit_test(test_many_in_flight),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
