/* test_sim_soap.c - the simulator's control side (tools/sim/sim_soap.c),
 * driven by hand-written SOAP envelopes over libcurl easy, independently
 * of the library: actions on real state, every UPnPError, the HTTP-level
 * refusals, QueryStateVariable, M-POST, each ?fault= option, keep-alive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "sim.h"

#define SP "urn:schemas-upnp-org:service:SwitchPower:1"
#define DIM "urn:schemas-upnp-org:service:Dimming:1"
#define CTL_NS "urn:schemas-upnp-org:control-1-0"
#define ENV_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define BODY_CAP 16384

static ucp_sim *sim;

/* ---- one HTTP exchange ---- */

typedef struct resp {
  CURLcode rc;
  long status;
  char body[BODY_CAP + 1]; /* the first BODY_CAP bytes */
  char last[256];          /* the last bytes (oversized bodies) */
  size_t len;              /* every byte received */
  size_t last_len;
  char ctype[128], allow[64], te[64];
  int ext;
  double first_ms, total_ms; /* first body byte, end; from the start */
  double t0;
} resp;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  resp *r = ud;
  size_t k = sz * n;
  if (r->len == 0 && k) r->first_ms = now_ms() - r->t0;
  if (r->len < BODY_CAP) {
    size_t c = k < BODY_CAP - r->len ? k : BODY_CAP - r->len;
    memcpy(r->body + r->len, p, c);
    r->body[r->len + c] = '\0';
  }
  r->len += k;
  if (k >= sizeof r->last) {
    memcpy(r->last, p + k - sizeof r->last + 1, sizeof r->last - 1);
    r->last_len = sizeof r->last - 1;
  } else {
    size_t keep = r->last_len + k < sizeof r->last ? r->last_len
                                                    : sizeof r->last - 1 - k;
    memmove(r->last, r->last + r->last_len - keep, keep);
    memcpy(r->last + keep, p, k);
    r->last_len = keep + k;
  }
  r->last[r->last_len] = '\0';
  return k;
}

static void header_value(const char *line, size_t n, const char *name,
                         char *out, size_t cap) {
  size_t k = strlen(name);
  if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':') return;
  const char *v = line + k + 1;
  const char *e = line + n;
  while (v < e && *v == ' ') v++;
  while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ')) e--;
  snprintf(out, cap, "%.*s", (int)(e - v), v);
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
  resp *r = ud;
  size_t k = sz * n;
  header_value(p, k, "Content-Type", r->ctype, sizeof r->ctype);
  header_value(p, k, "Allow", r->allow, sizeof r->allow);
  header_value(p, k, "Transfer-Encoding", r->te, sizeof r->te);
  if (k >= 4 && strncasecmp(p, "EXT:", 4) == 0) r->ext = 1;
  return k;
}

/* method NULL = POST; h NULL = a handle of its own. */
static void http(CURL *h, const char *method, const char *url,
                 const char *const *hdrs, const char *body, long timeout_ms,
                 resp *r) {
  CURL *own = h ? NULL : curl_easy_init();
  CURL *e = h ? h : own;
  struct curl_slist *sl = NULL;
  for (; hdrs && *hdrs; hdrs++) sl = curl_slist_append(sl, *hdrs);
  memset(r, 0, sizeof *r);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(e, CURLOPT_HTTPGET, body ? 0L : 1L);
  if (body) curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, sl);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 10000L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  r->t0 = now_ms();
  r->rc = curl_easy_perform(e);
  r->total_ms = now_ms() - r->t0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(sl);
  if (own) curl_easy_cleanup(own);
}

/* ---- SOAP helpers ---- */

static const char *ctl_url(ucp_sim *s, int dev, const char *type,
                           const char *query) {
  static char buf[4][256];
  static int slot;
  char *b = buf[slot++ % 4];
  const char *path = strcmp(type, DIM) == 0 ? "/ctl/Dimming" : "/ctl/SwitchPower";
  snprintf(b, 256, "http://127.0.0.1:%u%s%s%s",
           (unsigned)ucp_sim_device_port(s, dev), path, query ? "?" : "",
           query ? query : "");
  return b;
}

static char *envelope(const char *type, const char *action, const char *args) {
  static char buf[4][4096];
  static int slot;
  char *b = buf[slot++ % 4];
  snprintf(b, 4096,
           "<?xml version=\"1.0\"?>\n<s:Envelope xmlns:s=\"" ENV_NS
           "\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
           "<s:Body><u:%s xmlns:u=\"%s\">%s</u:%s></s:Body></s:Envelope>",
           action, type, args ? args : "", action);
  return b;
}

/* POST with SOAPACTION "type#action" (header_action overrides action). */
static void soap_ex(CURL *h, int dev, const char *type, const char *action,
                    const char *header_action, const char *args,
                    const char *query, resp *r) {
  char sa[256];
  snprintf(sa, sizeof sa, "SOAPACTION: \"%s#%s\"", type,
           header_action ? header_action : action);
  const char *hdrs[] = {"Content-Type: text/xml; charset=\"utf-8\"", sa, NULL};
  http(h, NULL, ctl_url(sim, dev, type, query), hdrs,
       envelope(type, action, args), 0, r);
}

static void soap(const char *type, const char *action, const char *args,
                 resp *r) {
  soap_ex(NULL, 0, type, action, NULL, args, NULL, r);
}

/* Text of the first <name>...</name>, in a static buffer ("" if none). */
static const char *elem(const char *body, const char *name) {
  static char out[2048];
  char open[80], close[80];
  snprintf(open, sizeof open, "<%s>", name);
  snprintf(close, sizeof close, "</%s>", name);
  const char *a = strstr(body, open);
  const char *b = a ? strstr(a, close) : NULL;
  out[0] = '\0';
  if (a && b) {
    a += strlen(open);
    snprintf(out, sizeof out, "%.*s", (int)(b - a), a);
  }
  return out;
}

/* One action that must succeed; returns the out-argument `out` (or ""). */
static const char *ok(const char *type, const char *action, const char *args,
                      const char *out) {
  static resp r;
  soap(type, action, args, &r);
  assert_int_equal(r.rc, CURLE_OK);
  if (r.status != 200) fprintf(stderr, "%s: %s\n", action, r.body);
  assert_int_equal(r.status, 200);
  return out ? elem(r.body, out) : "";
}

static void expect_upnp_error(const char *type, const char *action,
                              const char *header_action, const char *args,
                              int code) {
  resp r;
  uint64_t faults = ucp_sim_faults_sent(sim);
  soap_ex(NULL, 0, type, action, header_action, args, NULL, &r);
  assert_int_equal(r.rc, CURLE_OK);
  assert_int_equal(r.status, 500);
  assert_string_equal(r.ctype, "text/xml; charset=\"utf-8\"");
  assert_non_null(strstr(r.body, "<faultcode>s:Client</faultcode>"));
  assert_non_null(strstr(r.body, "<faultstring>UPnPError</faultstring>"));
  assert_non_null(strstr(r.body, "<UPnPError xmlns=\"" CTL_NS "\">"));
  if (atoi(elem(r.body, "errorCode")) != code)
    fprintf(stderr, "%s(%s): %s\n", action, args ? args : "", r.body);
  assert_int_equal(atoi(elem(r.body, "errorCode")), code);
  assert_true(elem(r.body, "errorDescription")[0] != '\0');
  assert_int_equal(ucp_sim_faults_sent(sim), faults + 1);
}

/* ---- actions on state ---- */

static void test_switchpower(void **st) {
  (void)st;
  resp r;
  uint64_t actions = ucp_sim_actions(sim);
  uint64_t changes = ucp_sim_state_changes(sim);
  assert_int_equal(ucp_sim_switch_status(sim, 0), 0);
  soap(SP, "SetTarget", "<newTargetValue>1</newTargetValue>", &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.ext, 1);
  assert_string_equal(r.ctype, "text/xml; charset=\"utf-8\"");
  assert_non_null(strstr(r.body, "<u:SetTargetResponse xmlns:u=\"" SP "\">"
                                 "</u:SetTargetResponse></s:Body>"));
  assert_int_equal(ucp_sim_switch_status(sim, 0), 1);
  assert_int_equal(ucp_sim_state_changes(sim), changes + 1); /* Status */
  assert_string_equal(ok(SP, "GetTarget", NULL, "RetTargetValue"), "1");
  assert_string_equal(ok(SP, "GetStatus", NULL, "ResultStatus"), "1");
  ok(SP, "SetTarget", "<newTargetValue>TRUE</newTargetValue>", NULL);
  assert_int_equal(ucp_sim_state_changes(sim), changes + 1); /* no change */
  ok(SP, "SetTarget", "<newTargetValue> No </newTargetValue>", NULL);
  assert_string_equal(ok(SP, "GetStatus", NULL, "ResultStatus"), "0");
  ok(SP, "SetTarget", "<newTargetValue>yes</newTargetValue>", NULL);
  assert_string_equal(ok(SP, "GetTarget", NULL, "RetTargetValue"), "1");
  ok(SP, "SetTarget", "<newTargetValue>false</newTargetValue>", NULL);
  assert_int_equal(ucp_sim_switch_status(sim, 0), 0);
  assert_int_equal(ucp_sim_state_changes(sim), changes + 4);
  assert_int_equal(ucp_sim_actions(sim), actions + 9);
}

static void test_dimming(void **st) {
  (void)st;
  ok(DIM, "SetLoadLevelTarget", "<newLoadlevelTarget>40</newLoadlevelTarget>",
     NULL);
  assert_string_equal(ok(DIM, "GetLoadLevelTarget", NULL, "retLoadlevelTarget"),
                      "40");
  assert_string_equal(ok(DIM, "GetLoadLevelStatus", NULL, "retLoadlevelStatus"),
                      "40");
  assert_int_equal(ucp_sim_load_level(sim, 0), 40);
  assert_string_equal(ok(DIM, "GetStepDelta", NULL, "retStepDelta"), "10");
  ok(DIM, "SetStepDelta", "<newStepDelta>25</newStepDelta>", NULL);
  assert_string_equal(ok(DIM, "GetStepDelta", NULL, "retStepDelta"), "25");
  ok(DIM, "StepUp", NULL, NULL);
  assert_int_equal(ucp_sim_load_level(sim, 0), 65);
  ok(DIM, "StepUp", NULL, NULL);
  ok(DIM, "StepUp", NULL, NULL);
  assert_int_equal(ucp_sim_load_level(sim, 0), 100); /* clamped */
  assert_string_equal(ok(DIM, "GetLoadLevelTarget", NULL, "retLoadlevelTarget"),
                      "100");
  ok(DIM, "StepDown", NULL, NULL);
  assert_int_equal(ucp_sim_load_level(sim, 0), 75);
  ok(DIM, "SetStepDelta", "<newStepDelta>100</newStepDelta>", NULL);
  ok(DIM, "StepDown", NULL, NULL);
  assert_int_equal(ucp_sim_load_level(sim, 0), 0);
  /* on effect */
  resp r;
  soap(DIM, "GetOnEffectParameters", NULL, &r);
  assert_string_equal(elem(r.body, "retOnEffect"), "Default");
  assert_string_equal(elem(r.body, "retOnEffectLevel"), "100");
  ok(DIM, "SetOnEffectLevel", "<newOnEffectLevel>55</newOnEffectLevel>", NULL);
  ok(DIM, "SetOnEffect", "<newOnEffect>LastSetting</newOnEffect>", NULL);
  soap(DIM, "GetOnEffectParameters", NULL, &r);
  assert_non_null(strstr(r.body, "<retOnEffect>LastSetting</retOnEffect>"
                                 "<retOnEffectLevel>55</retOnEffectLevel>"));
  /* rate and ramps (complete at once) */
  ok(DIM, "SetRampRate", "<newRampRate>7</newRampRate>", NULL);
  assert_string_equal(ok(DIM, "GetRampRate", NULL, "retRampRate"), "7");
  ok(DIM, "StartRampToLevel",
     "<newLoadLevelTarget>30</newLoadLevelTarget>"
     "<newRampTime>1500</newRampTime>", NULL);
  assert_int_equal(ucp_sim_load_level(sim, 0), 30);
  assert_string_equal(ok(DIM, "GetRampTime", NULL, "retRampTime"), "1500");
  ok(DIM, "StartRampUp", NULL, NULL);
  assert_int_equal(ucp_sim_load_level(sim, 0), 100);
  ok(DIM, "StartRampDown", NULL, NULL);
  assert_int_equal(ucp_sim_load_level(sim, 0), 0);
  assert_string_equal(ok(DIM, "GetIsRamping", NULL, "retIsRamping"), "0");
  assert_string_equal(ok(DIM, "GetRampPaused", NULL, "retRampPaused"), "0");
  ok(DIM, "PauseRamp", NULL, NULL);
  assert_string_equal(ok(DIM, "GetRampPaused", NULL, "retRampPaused"), "1");
  ok(DIM, "ResumeRamp", NULL, NULL);
  assert_string_equal(ok(DIM, "GetRampPaused", NULL, "retRampPaused"), "0");
  expect_upnp_error(DIM, "ResumeRamp", NULL, NULL, 501); /* not paused */
  ok(DIM, "PauseRamp", NULL, NULL);
  ok(DIM, "StopRamp", NULL, NULL);
  assert_string_equal(ok(DIM, "GetRampPaused", NULL, "retRampPaused"), "0");
  ok(DIM, "SetStepDelta", "<newStepDelta>10</newStepDelta>", NULL);
}

/* ---- UPnPErrors ---- */

static void test_upnp_errors(void **st) {
  (void)st;
  int status = ucp_sim_switch_status(sim, 0);
  unsigned level = ucp_sim_load_level(sim, 0);
  expect_upnp_error(SP, "Frobnicate", NULL, NULL, 401);
  expect_upnp_error(SP, "GetTarget", "GetStatus", NULL, 401); /* mismatch */
  expect_upnp_error(DIM, "GetTarget", NULL, NULL, 401);       /* no such */
  resp r;
  const char *hdrs[] = {"SOAPACTION: \"" DIM "#GetLoadLevelStatus\"", NULL};
  http(NULL, NULL, ctl_url(sim, 0, SP, NULL), hdrs, /* other service */
       envelope(DIM, "GetLoadLevelStatus", NULL), 0, &r);
  assert_int_equal(r.status, 500);
  assert_string_equal(elem(r.body, "errorCode"), "401");
  const char *hs[] = {"SOAPACTION: \"" SP "#GetStatus\"", NULL};
  http(NULL, NULL, ctl_url(sim, 0, SP, NULL), hs, /* no Envelope */
       "<GetStatus xmlns=\"" SP "\"/>", 0, &r);
  assert_int_equal(r.status, 500);
  assert_string_equal(elem(r.body, "errorCode"), "401");
  http(NULL, NULL, ctl_url(sim, 0, SP, NULL), hs, /* empty Body */
       "<s:Envelope xmlns:s=\"" ENV_NS "\"><s:Body/></s:Envelope>", 0, &r);
  assert_string_equal(elem(r.body, "errorCode"), "401");
  expect_upnp_error(SP, "SetTarget", NULL, NULL, 402); /* missing */
  expect_upnp_error(SP, "GetStatus", NULL, "<x>1</x>", 402); /* extra */
  expect_upnp_error(SP, "SetTarget", NULL,
                    "<newTargetValue>1</newTargetValue>"
                    "<newTargetValue>1</newTargetValue>", 402); /* twice */
  expect_upnp_error(SP, "SetTarget", NULL,
                    "<NewTargetValue>1</NewTargetValue>", 402); /* name */
  expect_upnp_error(DIM, "StartRampToLevel", NULL,
                    "<newRampTime>5</newRampTime>"
                    "<newLoadLevelTarget>5</newLoadLevelTarget>", 402);
  expect_upnp_error(SP, "SetTarget", NULL,
                    "<newTargetValue><b>1</b></newTargetValue>", 402);
  expect_upnp_error(SP, "SetTarget", NULL, "<newTargetValue>maybe</newTargetValue>",
                    600);
  expect_upnp_error(SP, "SetTarget", NULL, "<newTargetValue></newTargetValue>",
                    600);
  expect_upnp_error(DIM, "SetLoadLevelTarget", NULL,
                    "<newLoadlevelTarget>abc</newLoadlevelTarget>", 600);
  expect_upnp_error(DIM, "SetLoadLevelTarget", NULL,
                    "<newLoadlevelTarget>-1</newLoadlevelTarget>", 600);
  expect_upnp_error(DIM, "SetLoadLevelTarget", NULL,
                    "<newLoadlevelTarget>256</newLoadlevelTarget>", 600);
  expect_upnp_error(DIM, "SetOnEffect", NULL,
                    "<newOnEffect>Sparkle</newOnEffect>", 600);
  expect_upnp_error(DIM, "SetOnEffect", NULL,
                    "<newOnEffect>default</newOnEffect>", 600); /* case */
  expect_upnp_error(DIM, "SetLoadLevelTarget", NULL,
                    "<newLoadlevelTarget>101</newLoadlevelTarget>", 601);
  expect_upnp_error(DIM, "SetStepDelta", NULL,
                    "<newStepDelta>0</newStepDelta>", 601);
  expect_upnp_error(DIM, "StartRampToLevel", NULL,
                    "<newLoadLevelTarget>200</newLoadLevelTarget>"
                    "<newRampTime>5</newRampTime>", 601);
  assert_int_equal(ucp_sim_switch_status(sim, 0), status);
  assert_int_equal(ucp_sim_load_level(sim, 0), level);
}

static void qsv(const char *type, const char *var_xml, resp *r) {
  char args[256];
  snprintf(args, sizeof args, "%s", var_xml);
  const char *hdrs[] = {"SOAPACTION: \"" CTL_NS "#QueryStateVariable\"", NULL};
  http(NULL, NULL, ctl_url(sim, 0, type, NULL), hdrs,
       envelope(CTL_NS, "QueryStateVariable", args), 0, r);
}

static void test_query_state_variable(void **st) {
  (void)st;
  resp r;
  ok(SP, "SetTarget", "<newTargetValue>1</newTargetValue>", NULL);
  uint64_t actions = ucp_sim_actions(sim);
  qsv(SP, "<u:varName>Status</u:varName>", &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.ext, 1);
  assert_non_null(strstr(r.body,
                         "<u:QueryStateVariableResponse xmlns:u=\"" CTL_NS
                         "\"><return>1</return>"
                         "</u:QueryStateVariableResponse></s:Body>"));
  qsv(SP, "<varName>Target</varName>", &r); /* no prefix */
  assert_string_equal(elem(r.body, "return"), "1");
  qsv(DIM, "<varName>OnEffect</varName>", &r);
  assert_string_equal(elem(r.body, "return"), "LastSetting");
  qsv(DIM, "<varName>StepDelta</varName>", &r);
  assert_string_equal(elem(r.body, "return"), "10");
  assert_int_equal(ucp_sim_actions(sim), actions + 4);
  qsv(SP, "<varName>LoadLevelStatus</varName>", &r); /* other service's */
  assert_int_equal(r.status, 500);
  assert_string_equal(elem(r.body, "errorCode"), "404");
  assert_string_equal(elem(r.body, "errorDescription"), "Invalid Var");
  qsv(SP, "<varName>Nope</varName>", &r);
  assert_string_equal(elem(r.body, "errorCode"), "404");
  qsv(SP, "<name>Status</name>", &r);
  assert_string_equal(elem(r.body, "errorCode"), "402");
  qsv(SP, "", &r);
  assert_string_equal(elem(r.body, "errorCode"), "402");
  ok(SP, "SetTarget", "<newTargetValue>0</newTargetValue>", NULL);
}

/* ---- HTTP level ---- */

static void test_http_refusals(void **st) {
  (void)st;
  resp r;
  uint64_t faults = ucp_sim_faults_sent(sim);
  http(NULL, "GET", ctl_url(sim, 0, SP, NULL), NULL, NULL, 0, &r);
  assert_int_equal(r.status, 405);
  assert_string_equal(r.allow, "POST, M-POST");
  http(NULL, "PUT", ctl_url(sim, 0, DIM, NULL), NULL, "x", 0, &r);
  assert_int_equal(r.status, 405);
  const char *hs[] = {"SOAPACTION: \"" SP "#GetStatus\"", NULL};
  http(NULL, NULL, ctl_url(sim, 0, SP, NULL), hs, "this is not XML", 0, &r);
  assert_int_equal(r.status, 400);
  http(NULL, NULL, ctl_url(sim, 0, SP, NULL), hs, "", 0, &r);
  assert_int_equal(r.status, 400);
  http(NULL, NULL, ctl_url(sim, 0, SP, NULL), hs,
       "<s:Envelope xmlns:s=\"" ENV_NS "\"><s:Body>", 0, &r); /* truncated */
  assert_int_equal(r.status, 400);
  http(NULL, NULL, ctl_url(sim, 0, SP, NULL), hs,
       "<?xml version=\"1.0\"?>\n<!DOCTYPE s:Envelope [<!ENTITY a \"aa\">"
       "<!ENTITY b \"&a;&a;&a;&a;\">]>\n<s:Envelope xmlns:s=\"" ENV_NS
       "\"><s:Body><u:GetStatus xmlns:u=\"" SP "\"/></s:Body></s:Envelope>",
       0, &r);
  assert_int_equal(r.status, 400);
  assert_non_null(strstr(r.body, "DOCTYPE"));
  http(NULL, NULL, ctl_url(sim, 0, SP, NULL), NULL,
       envelope(SP, "GetStatus", NULL), 0, &r); /* no SOAPACTION */
  assert_int_equal(r.status, 400);
  const char *nohash[] = {"SOAPACTION: \"" SP "\"", NULL};
  http(NULL, NULL, ctl_url(sim, 0, SP, NULL), nohash,
       envelope(SP, "GetStatus", NULL), 0, &r);
  assert_int_equal(r.status, 400);
  soap_ex(NULL, 0, SP, "GetStatus", NULL, NULL, "fault=nope", &r);
  assert_int_equal(r.status, 400);
  soap_ex(NULL, 0, SP, "GetStatus", NULL, NULL, "fault=slow&ms=abc", &r);
  assert_int_equal(r.status, 400);
  assert_int_equal(ucp_sim_faults_sent(sim), faults); /* none is SOAP */
  /* unquoted SOAPACTION is fine */
  const char *bare[] = {"SOAPACTION: " SP "#GetStatus", NULL};
  http(NULL, NULL, ctl_url(sim, 0, SP, NULL), bare,
       envelope(SP, "GetStatus", NULL), 0, &r);
  assert_int_equal(r.status, 200);
}

static void mpost(const char *man, const char *sa_header, const char *query,
                  const char *action, const char *args, resp *r) {
  const char *hdrs[] = {man, sa_header, NULL};
  (void)action;
  http(NULL, "M-POST", ctl_url(sim, 0, SP, query), hdrs,
       envelope(SP, action, args), 0, r);
}

#define MAN_OK "MAN: \"" ENV_NS "\"; ns=01"

static void test_mpost(void **st) {
  (void)st;
  resp r;
  mpost(MAN_OK, "01-SOAPACTION: \"" SP "#GetStatus\"", NULL, "GetStatus",
        NULL, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(elem(r.body, "ResultStatus"), "0");
  mpost("MAN: " ENV_NS ";ns=42", "42-SOAPACTION: " SP "#GetStatus", NULL,
        "GetStatus", NULL, &r);
  assert_int_equal(r.status, 200);
  mpost("X-Nothing: 1", "01-SOAPACTION: \"" SP "#GetStatus\"", NULL,
        "GetStatus", NULL, &r); /* no MAN */
  assert_int_equal(r.status, 510);
  mpost("MAN: \"http://example.com/other\"; ns=01",
        "01-SOAPACTION: \"" SP "#GetStatus\"", NULL, "GetStatus", NULL, &r);
  assert_int_equal(r.status, 510);
  mpost(MAN_OK, "02-SOAPACTION: \"" SP "#GetStatus\"", NULL, "GetStatus",
        NULL, &r); /* wrong prefix: no action */
  assert_int_equal(r.status, 400);
  /* fault=mpost: POST refused, M-POST carries out the action */
  soap_ex(NULL, 0, SP, "SetTarget", NULL, "<newTargetValue>1</newTargetValue>",
          "fault=mpost", &r);
  assert_int_equal(r.status, 405);
  assert_string_equal(r.allow, "M-POST");
  assert_int_equal(ucp_sim_switch_status(sim, 0), 0);
  mpost(MAN_OK, "01-SOAPACTION: \"" SP "#SetTarget\"", "fault=mpost",
        "SetTarget", "<newTargetValue>1</newTargetValue>", &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.ext, 1);
  assert_int_equal(ucp_sim_switch_status(sim, 0), 1);
  ok(SP, "SetTarget", "<newTargetValue>0</newTargetValue>", NULL);
}

/* ---- ?fault= ---- */

static void set_target_with(const char *query, resp *r) {
  soap_ex(NULL, 0, SP, "SetTarget", NULL, "<newTargetValue>1</newTargetValue>",
          query, r);
}

static void test_fault_slow(void **st) {
  (void)st;
  resp r;
  set_target_with("fault=slow&ms=300", &r);
  assert_int_equal(r.status, 200);
  assert_true(r.total_ms >= 300);
  assert_int_equal(ucp_sim_switch_status(sim, 0), 1);
  ok(SP, "SetTarget", "<newTargetValue>0</newTargetValue>", NULL);
  /* the client leaves during the wait: never executed */
  CURL *h = curl_easy_init();
  const char *hdrs[] = {"SOAPACTION: \"" SP "#SetTarget\"", NULL};
  http(h, NULL, ctl_url(sim, 0, SP, "fault=slow&ms=800"), hdrs,
       envelope(SP, "SetTarget", "<newTargetValue>1</newTargetValue>"), 150,
       &r);
  assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
  curl_easy_cleanup(h);
  struct timespec ts = {1, 0};
  nanosleep(&ts, NULL);
  assert_int_equal(ucp_sim_switch_status(sim, 0), 0);
}

static void test_fault_stall_body(void **st) {
  (void)st;
  resp r;
  soap_ex(NULL, 0, SP, "GetStatus", NULL, NULL, "fault=stall_body&ms=400", &r);
  assert_int_equal(r.rc, CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_true(r.total_ms >= 400);
  assert_true(r.first_ms < r.total_ms - 250); /* the head came first */
  assert_string_equal(elem(r.body, "ResultStatus"), "0");
  assert_non_null(strstr(r.body, "</s:Envelope>"));
  set_target_with("fault=stall_body&ms=50", &r); /* executes */
  assert_int_equal(r.status, 200);
  assert_int_equal(ucp_sim_switch_status(sim, 0), 1);
  ok(SP, "SetTarget", "<newTargetValue>0</newTargetValue>", NULL);
}

static void test_fault_reset(void **st) {
  (void)st;
  resp r;
  uint64_t actions = ucp_sim_actions(sim);
  set_target_with("fault=reset", &r);
  assert_int_not_equal(r.rc, CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "<u:SetTargetResponse"));
  assert_null(strstr(r.body, "</s:Envelope>"));
  assert_int_equal(ucp_sim_switch_status(sim, 0), 0); /* not executed */
  assert_int_equal(ucp_sim_actions(sim), actions);
  /* a bad request under reset is still answered as such */
  soap_ex(NULL, 0, SP, "SetTarget", NULL, NULL, "fault=reset", &r);
  assert_int_equal(r.rc, CURLE_OK);
  assert_string_equal(elem(r.body, "errorCode"), "402");
}

static void test_fault_chunked(void **st) {
  (void)st;
  resp plain, r;
  soap(DIM, "GetOnEffectParameters", NULL, &plain);
  soap_ex(NULL, 0, DIM, "GetOnEffectParameters", NULL, NULL, "fault=chunked",
          &r);
  assert_int_equal(r.rc, CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.te, "chunked");
  assert_int_equal(r.ext, 1);
  assert_string_equal(r.body, plain.body);
  /* the raw framing: several chunks */
  CURL *h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_HTTP_TRANSFER_DECODING, 0L);
  soap_ex(h, 0, DIM, "GetOnEffectParameters", NULL, NULL, "fault=chunked", &r);
  curl_easy_cleanup(h);
  int chunks = 0;
  for (const char *p = r.body; (p = strstr(p, "\r\n40\r\n")) != NULL; p++)
    chunks++;
  assert_true(chunks >= 3);
  set_target_with("fault=chunked", &r);
  assert_int_equal(ucp_sim_switch_status(sim, 0), 1); /* executes */
  ok(SP, "SetTarget", "<newTargetValue>0</newTargetValue>", NULL);
}

static void test_fault_malformed_500_empty(void **st) {
  (void)st;
  resp r;
  uint64_t actions = ucp_sim_actions(sim);
  uint64_t faults = ucp_sim_faults_sent(sim);
  set_target_with("fault=malformed", &r);
  assert_int_equal(r.rc, CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.ctype, "text/xml; charset=\"utf-8\"");
  assert_non_null(strstr(r.body, "<u:SetTargetResponse"));
  assert_null(strstr(r.body, "</s:Envelope>"));
  set_target_with("fault=500", &r);
  assert_int_equal(r.status, 500);
  assert_string_equal(r.ctype, "text/html");
  assert_null(strstr(r.body, "UPnPError"));
  set_target_with("fault=empty", &r);
  assert_int_equal(r.rc, CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.len, 0);
  assert_int_equal(ucp_sim_switch_status(sim, 0), 0); /* none executed */
  assert_int_equal(ucp_sim_actions(sim), actions);
  assert_int_equal(ucp_sim_faults_sent(sim), faults);
}

static void test_fault_oversized(void **st) {
  (void)st;
  resp plain, r;
  soap(SP, "GetTarget", NULL, &plain);
  soap_ex(NULL, 0, SP, "GetTarget", NULL, NULL, "fault=oversized", &r);
  assert_int_equal(r.rc, CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.len, plain.len - 1 + 2u * 1024 * 1024);
  assert_non_null(strstr(r.body, "<RetTargetValue>xxxxxxxx"));
  assert_non_null(strstr(r.last, "xxxx</RetTargetValue>"
                                 "</u:GetTargetResponse></s:Body>"
                                 "</s:Envelope>"));
  /* two out-arguments: only the first is inflated */
  soap(DIM, "GetOnEffectParameters", NULL, &plain);
  size_t first = strlen(elem(plain.body, "retOnEffect"));
  soap_ex(NULL, 0, DIM, "GetOnEffectParameters", NULL, NULL,
          "fault=oversized&bytes=1000", &r);
  assert_int_equal(r.len, plain.len - first + 1000);
  assert_int_equal(strlen(elem(r.body, "retOnEffect")), 1000);
  assert_string_equal(elem(r.body, "retOnEffectLevel"), "55");
  /* no out-argument: spaces inside the response element; executed */
  set_target_with("fault=oversized&bytes=100", &r);
  assert_non_null(strstr(r.body, "<u:SetTargetResponse xmlns:u=\"" SP "\">    "));
  assert_int_equal(ucp_sim_switch_status(sim, 0), 1);
  ok(SP, "SetTarget", "<newTargetValue>0</newTargetValue>", NULL);
}

/* ---- connections and devices ---- */

static void test_keepalive(void **st) {
  (void)st;
  CURL *h = curl_easy_init();
  resp r;
  uint64_t conns = ucp_sim_connections(sim);
  for (int i = 0; i < 20; i++) {
    if (i % 4 == 3)
      soap_ex(h, 0, SP, "SetTarget", NULL, "<newTargetValue>x</newTargetValue>",
              NULL, &r); /* a UPnPError keeps the connection too */
    else
      soap_ex(h, 0, i % 2 ? DIM : SP, i % 2 ? "GetLoadLevelStatus" : "GetStatus",
              NULL, NULL, NULL, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, i % 4 == 3 ? 500 : 200);
  }
  assert_int_equal(ucp_sim_connections(sim) - conns, 1);
  curl_easy_cleanup(h);
}

static void test_devices(void **st) {
  (void)st;
  ucp_sim_opts o = {0};
  ucp_sim *two = NULL;
  o.bind_addr = "127.0.0.1";
  o.devices = 2;
  assert_int_equal(ucp_sim_start(&o, &two), 0);
  resp r;
  char sa[128];
  snprintf(sa, sizeof sa, "SOAPACTION: \"%s#SetTarget\"", SP);
  const char *hdrs[] = {sa, NULL};
  http(NULL, NULL, ctl_url(two, 1, SP, NULL), hdrs,
       envelope(SP, "SetTarget", "<newTargetValue>1</newTargetValue>"), 0, &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(ucp_sim_switch_status(two, 1), 1);
  assert_int_equal(ucp_sim_switch_status(two, 0), 0);
  assert_int_equal(ucp_sim_switch_status(two, 2), -1);
  assert_int_equal(ucp_sim_load_level(two, -1), UINT_MAX);
  assert_int_equal(ucp_sim_actions(two), 1);
  ucp_sim_stop(two);
}

typedef struct slow_call {
  ucp_sim *s;
  resp r;
} slow_call;

static void *slow_thread(void *arg) {
  slow_call *c = arg;
  const char *hdrs[] = {"SOAPACTION: \"" SP "#GetStatus\"", NULL};
  http(NULL, NULL, ctl_url(c->s, 0, SP, "fault=slow&ms=60000"), hdrs,
       envelope(SP, "GetStatus", NULL), 20000, &c->r);
  return NULL;
}

/* ucp_sim_stop() returns promptly while a slow action waits. */
static void test_stop_mid_slow(void **st) {
  (void)st;
  ucp_sim_opts o = {0};
  slow_call c;
  memset(&c, 0, sizeof c);
  assert_int_equal(ucp_sim_start(&o, &c.s), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, slow_thread, &c), 0);
  for (int i = 0; i < 200 && ucp_sim_requests(c.s) == 0; i++) {
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  assert_int_equal(ucp_sim_requests(c.s), 1);
  double t0 = now_ms();
  ucp_sim_stop(c.s);
  double stop_ms = now_ms() - t0;
  pthread_join(t, NULL);
  assert_true(stop_ms < 1000);
  assert_int_not_equal(c.r.rc, CURLE_OK);
}

static int setup(void **st) {
  (void)st;
  ucp_sim_opts o = {0};
  o.bind_addr = "127.0.0.1";
  o.port = 0;
  return ucp_sim_start(&o, &sim);
}

static int teardown(void **st) {
  (void)st;
  ucp_sim_stop(sim);
  sim = NULL;
  return 0;
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_switchpower),
      cmocka_unit_test(test_dimming),
      cmocka_unit_test(test_upnp_errors),
      cmocka_unit_test(test_query_state_variable),
      cmocka_unit_test(test_http_refusals),
      cmocka_unit_test(test_mpost),
      cmocka_unit_test(test_fault_slow),
      cmocka_unit_test(test_fault_stall_body),
      cmocka_unit_test(test_fault_reset),
      cmocka_unit_test(test_fault_chunked),
      cmocka_unit_test(test_fault_malformed_500_empty),
      cmocka_unit_test(test_fault_oversized),
      cmocka_unit_test(test_keepalive),
      cmocka_unit_test(test_devices),
      cmocka_unit_test(test_stop_mid_slow),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  curl_global_cleanup();
  return rc;
}
