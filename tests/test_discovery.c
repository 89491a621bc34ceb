/* test_discovery.c - ucp_search against the simulator's SSDP side, inside
 * a private network namespace made by tests/netns_run.sh (multicast on its
 * own loopback only). 1, 10 and 200 devices; unicast search; ST matching;
 * hostile answers dropped and counted; cancel in every phase. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

typedef struct hunt {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  uint64_t id;
  int added, failed, complete, done, status, updated, removed;
  int events_after_done, bad_progress;
  uint64_t last_num, last_den;
  size_t devices;
  char udns[256][64];
  ucp_cp *cp;
  int cancel_on; /* 1: at first progress with den > 0; 2: at COMPLETE */
  int cancel_rc;
} hunt;

static void hunt_init(hunt *h, ucp_cp *cp) {
  memset(h, 0, sizeof *h);
  pthread_mutex_init(&h->lock, NULL);
  pthread_cond_init(&h->cond, NULL);
  h->cp = cp;
  h->cancel_rc = 99;
}

static void hunt_destroy(hunt *h) {
  pthread_cond_destroy(&h->cond);
  pthread_mutex_destroy(&h->lock);
}

static int hget(hunt *h, const int *field) {
  pthread_mutex_lock(&h->lock);
  int v = *field;
  pthread_mutex_unlock(&h->lock);
  return v;
}

static void on_event(uint64_t id, ucp_search_event ev, const ucp_found *f,
                     void *user) {
  hunt *h = user;
  pthread_mutex_lock(&h->lock);
  if (h->done) h->events_after_done++;
  if (ev == UCP_SEARCH_DEVICE_ADDED) {
    assert_non_null(ucp_found_description(f));
    if (h->added < 256)
      snprintf(h->udns[h->added], sizeof h->udns[0], "%s", ucp_found_udn(f));
    h->added++;
  } else if (ev == UCP_SEARCH_DEVICE_FAILED) {
    h->failed++;
  } else if (ev == UCP_SEARCH_DEVICE_UPDATED) {
    h->updated++;
  } else if (ev == UCP_SEARCH_DEVICE_REMOVED) {
    h->removed++;
  } else if (ev == UCP_SEARCH_COMPLETE) {
    h->complete++;
    if (h->cancel_on == 2) h->cancel_rc = ucp_cancel(h->cp, id);
  }
  pthread_cond_broadcast(&h->cond);
  pthread_mutex_unlock(&h->lock);
}

static void on_progress(uint64_t id, uint64_t num, uint64_t den, int st,
                        void *user) {
  hunt *h = user;
  (void)st;
  pthread_mutex_lock(&h->lock);
  if (num < h->last_num || num > den) h->bad_progress = 1;
  h->last_num = num;
  h->last_den = den;
  if (h->cancel_on == 1 && den > 0 && h->cancel_rc == 99)
    h->cancel_rc = ucp_cancel(h->cp, id);
  pthread_mutex_unlock(&h->lock);
}

static void on_done(uint64_t id, const ucp_result *r, void *user) {
  hunt *h = user;
  (void)id;
  pthread_mutex_lock(&h->lock);
  h->done++;
  h->status = ucp_result_status(r);
  h->devices = ucp_result_devices(r);
  pthread_cond_broadcast(&h->cond);
  pthread_mutex_unlock(&h->lock);
}

static int hunt_start(hunt *h, const char *st, ucp_search_opts *so,
                      uint64_t duration_ms) {
  ucp_call_opts *o = ucp_call_opts_new();
  ucp_call_opts_set_progress(o, on_progress);
  ucp_search_opts_set_duration(so, duration_ms);
  int rc = ucp_search(h->cp, st, so, o, on_event, on_done, h, &h->id);
  ucp_call_opts_free(o);
  return rc;
}

static int hunt_wait_done(hunt *h, int ms) {
  for (int i = 0; i < ms / 10; i++) {
    pthread_mutex_lock(&h->lock);
    int d = h->done;
    pthread_mutex_unlock(&h->lock);
    if (d) return 0;
    sleep_ms(10);
  }
  return -1;
}

static ucp_sim *start_sim(int devices, unsigned fault) {
  ucp_sim_opts so;
  memset(&so, 0, sizeof so);
  so.ssdp = 1;
  so.devices = devices;
  so.fault = fault;
  ucp_sim *s = NULL;
  return ucp_sim_start(&so, &s) == 0 ? s : NULL;
}

static ucp_search_opts *lo_opts(int mx) {
  ucp_search_opts *so = ucp_search_opts_new();
  ucp_search_opts_add_interface(so, "lo");
  ucp_search_opts_set_mx(so, mx);
  return so;
}

/* Unicast M-SEARCH to the simulator's SSDP port only: no multicast. */
static ucp_search_opts *unicast_opts(ucp_sim *sim) {
  ucp_search_opts *so = ucp_search_opts_new();
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%u", ucp_sim_ssdp_port(sim));
  ucp_search_opts_add_unicast(so, target);
  ucp_search_opts_set_multicast(so, 0);
  ucp_search_opts_set_mx(so, 1);
  return so;
}

static void find_n(int n, int mx, uint64_t duration) {
  ucp_sim *sim = start_sim(n, 0);
  assert_non_null(sim);
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  hunt h;
  hunt_init(&h, cp);
  ucp_search_opts *so = lo_opts(mx);
  assert_int_equal(hunt_start(&h, "ssdp:all", so, duration), UCP_OK);
  ucp_search_opts_free(so);
  assert_int_equal(hunt_wait_done(&h, (int)duration + 10000), 0);
  printf("  %d device(s): %d added, %d failed, complete %d, progress %llu/%llu\n",
         n, h.added, h.failed, h.complete, (unsigned long long)h.last_num,
         (unsigned long long)h.last_den);
  assert_int_equal(h.status, UCP_OK);
  assert_int_equal(h.added, n);
  assert_int_equal(h.failed, 0);
  assert_int_equal(h.complete, 1);
  assert_int_equal(h.devices, (size_t)n);
  assert_int_equal(h.last_num, (uint64_t)n);
  assert_int_equal(h.last_den, (uint64_t)n);
  assert_false(h.bad_progress);
  assert_int_equal(h.events_after_done, 0);
  for (int i = 0; i < n && i < 256; i++) /* every UDN once */
    for (int j = i + 1; j < n && j < 256; j++)
      assert_string_not_equal(h.udns[i], h.udns[j]);
  ucp_cp_free(cp);
  hunt_destroy(&h);
  ucp_sim_stop(sim);
}

static void finds_one_device(void **state) {
  (void)state;
  find_n(1, 1, 2500);
}

static void finds_ten_devices(void **state) {
  (void)state;
  find_n(10, 1, 3000);
}

static void finds_two_hundred_devices(void **state) {
  (void)state;
  find_n(200, 2, 6000);
}

static void unicast_search_without_multicast(void **state) {
  (void)state;
  ucp_sim *sim = start_sim(1, 0);
  assert_non_null(sim);
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  hunt h;
  hunt_init(&h, cp);
  ucp_search_opts *so = unicast_opts(sim);
  assert_int_equal(hunt_start(&h, "upnp:rootdevice", so, 2000), UCP_OK);
  ucp_search_opts_free(so);
  assert_int_equal(hunt_wait_done(&h, 10000), 0);
  assert_int_equal(h.added, 1);
  assert_string_equal(h.udns[0], ucp_sim_device_udn(sim, 0));
  ucp_cp_free(cp);
  hunt_destroy(&h);
  ucp_sim_stop(sim);
}

static int count_for(ucp_cp *cp, const char *st) {
  hunt h;
  hunt_init(&h, cp);
  ucp_search_opts *so = lo_opts(1);
  assert_int_equal(hunt_start(&h, st, so, 2000), UCP_OK);
  ucp_search_opts_free(so);
  assert_int_equal(hunt_wait_done(&h, 10000), 0);
  int n = h.added;
  hunt_destroy(&h);
  return n;
}

static void st_matching_by_type_and_version(void **state) {
  (void)state;
  ucp_sim *sim = start_sim(3, 0);
  assert_non_null(sim);
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  assert_int_equal(count_for(cp, "urn:schemas-upnp-org:service:SwitchPower:1"), 3);
  assert_int_equal(count_for(cp, "urn:schemas-upnp-org:device:BinaryLight:1"), 3);
  assert_int_equal(count_for(cp, "urn:schemas-upnp-org:service:SwitchPower:2"), 0);
  assert_int_equal(count_for(cp, ucp_sim_device_udn(sim, 1)), 1);
  ucp_cp_free(cp);
  ucp_sim_stop(sim);
}

static void hostile_answers_dropped_and_counted(void **state) {
  (void)state;
  static const unsigned faults[] = {UCP_SIM_FAULT_MALFORMED,
                                    UCP_SIM_FAULT_OTHER_HOST,
                                    UCP_SIM_FAULT_NO_RESPONSE};
  for (size_t i = 0; i < 3; i++) {
    ucp_sim *sim = start_sim(1, faults[i]);
    assert_non_null(sim);
    ucp_cp *cp;
    assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
    hunt h;
    hunt_init(&h, cp);
    ucp_search_opts *so = unicast_opts(sim);
    assert_int_equal(hunt_start(&h, "ssdp:all", so, 2000), UCP_OK);
    ucp_search_opts_free(so);
    assert_int_equal(hunt_wait_done(&h, 10000), 0);
    uint64_t drops = ucp_cp_ssdp_drops(cp);
    printf("  fault 0x%x: %d added, %llu dropped, complete %d\n", faults[i],
           h.added, (unsigned long long)drops, h.complete);
    assert_int_equal(h.added, 0);
    assert_int_equal(h.complete, 1);
    if (faults[i] != UCP_SIM_FAULT_NO_RESPONSE) assert_true(drops > 0);
    ucp_cp_free(cp);
    hunt_destroy(&h);
    ucp_sim_stop(sim);
  }
}

/* Answers only (unicast search): the faults apply to M-SEARCH answers,
 * while the simulator's NOTIFYs stay valid. */
/* IPv6 only: M-SEARCH to FF02::C on lo, the answer from ::1, the
 * description fetched from [::1]. */
static void ipv6_multicast_search(void **state) {
  (void)state;
  ucp_sim_opts o;
  memset(&o, 0, sizeof o);
  o.ssdp = 1;
  o.ipv6 = 1;
  ucp_sim *sim = NULL;
  assert_int_equal(ucp_sim_start(&o, &sim), 0);
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  hunt h;
  hunt_init(&h, cp);
  ucp_search_opts *so = lo_opts(1);
  ucp_search_opts_set_ipv4(so, 0);
  ucp_search_opts_set_ipv6(so, 1);
  assert_int_equal(hunt_start(&h, "upnp:rootdevice", so, 2500), UCP_OK);
  ucp_search_opts_free(so);
  assert_int_equal(hunt_wait_done(&h, 10000), 0);
  printf("  IPv6: %d added, %d failed\n", h.added, h.failed);
  assert_int_equal(h.added, 1);
  assert_int_equal(h.failed, 0);
  assert_string_equal(h.udns[0], ucp_sim_device_udn(sim, 0));
  ucp_cp_free(cp);
  hunt_destroy(&h);
  ucp_sim_stop(sim);
}

/* A device answering each M-SEARCH 50 times is one device, loaded once. */
static void answer_flood_is_one_device(void **state) {
  (void)state;
  ucp_sim *sim = start_sim(1, UCP_SIM_FAULT_FLOOD);
  assert_non_null(sim);
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  hunt h;
  hunt_init(&h, cp);
  ucp_search_opts *so = unicast_opts(sim);
  assert_int_equal(hunt_start(&h, "upnp:rootdevice", so, 2000), UCP_OK);
  ucp_search_opts_free(so);
  assert_int_equal(hunt_wait_done(&h, 10000), 0);
  uint64_t got = ucp_cp_counter(cp, UCP_COUNTER_SSDP_RECEIVED);
  uint64_t req = ucp_sim_requests(sim);
  printf("  flood: %llu answers received, %d added, %llu HTTP requests\n",
         (unsigned long long)got, hget(&h, &h.added), (unsigned long long)req);
  assert_true(got >= 50);
  assert_int_equal(hget(&h, &h.added), 1);
  assert_int_equal(req, 1); /* one description load */
  ucp_cp_free(cp);
  hunt_destroy(&h);
  ucp_sim_stop(sim);
}

/* One address cannot fill a search: UCP_LIMIT_SEARCH_PER_HOST. */
static void per_host_cap(void **state) {
  (void)state;
  ucp_sim *sim = start_sim(10, 0);
  assert_non_null(sim);
  ucp_cp_opts *co = ucp_cp_opts_new();
  ucp_cp_opts_set_limit(co, UCP_LIMIT_SEARCH_PER_HOST, 4);
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(co, &cp), UCP_OK);
  ucp_cp_opts_free(co);
  hunt h;
  hunt_init(&h, cp);
  ucp_search_opts *so = lo_opts(1);
  assert_int_equal(hunt_start(&h, "upnp:rootdevice", so, 2500), UCP_OK);
  ucp_search_opts_free(so);
  assert_int_equal(hunt_wait_done(&h, 10000), 0);
  assert_int_equal(h.added, 4);
  assert_true(ucp_cp_ssdp_drops(cp) >= 6);
  ucp_cp_free(cp);
  hunt_destroy(&h);
  ucp_sim_stop(sim);
}

/* Cancel before any answer, while descriptions load, after COMPLETE. */
static void cancel_in_every_phase(void **state) {
  (void)state;
  ucp_sim *sim = start_sim(5, 0);
  assert_non_null(sim);
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  for (int phase = 0; phase < 3; phase++) {
    hunt h;
    hunt_init(&h, cp);
    h.cancel_on = phase; /* 0: right after the start call */
    ucp_search_opts *so = lo_opts(1);
    assert_int_equal(hunt_start(&h, "ssdp:all", so, 0), UCP_OK);
    ucp_search_opts_free(so);
    if (phase == 0) h.cancel_rc = ucp_cancel(cp, h.id);
    for (int i = 0; i < 500; i++) {
      pthread_mutex_lock(&h.lock);
      int rc = h.cancel_rc;
      pthread_mutex_unlock(&h.lock);
      if (rc != 99) break;
      sleep_ms(10);
    }
    pthread_mutex_lock(&h.lock);
    int added = h.added, complete = h.complete, rc = h.cancel_rc;
    pthread_mutex_unlock(&h.lock);
    sleep_ms(1500); /* nothing may follow a successful cancel */
    printf("  cancel phase %d: rc %s, %d added before\n", phase,
           ucp_err_name(rc), added);
    assert_int_equal(rc, UCP_OK);
    pthread_mutex_lock(&h.lock);
    assert_int_equal(h.added, added);
    assert_int_equal(h.complete, complete);
    assert_int_equal(h.done, 0);
    pthread_mutex_unlock(&h.lock);
    if (phase == 2) assert_int_equal(complete, 1);
    assert_int_equal(ucp_cancel(cp, h.id), UCP_E_INVALIDARG);
    hunt_destroy(&h);
  }
  ucp_cp_free(cp);
  ucp_sim_stop(sim);
}

/* Wait until `field` of h reaches `want` (bounded); returns its value. */
static int wait_count(hunt *h, const int *field, int want, int ms) {
  int v = 0;
  for (int i = 0; i < ms / 10; i++) {
    pthread_mutex_lock(&h->lock);
    v = *field;
    pthread_mutex_unlock(&h->lock);
    if (v >= want) break;
    sleep_ms(10);
  }
  return v;
}

static atomic_int sub_active, sub_resubscribed;

static void on_sub_event(uint64_t id, const ucp_event *ev, void *user) {
  (void)id, (void)user;
  if (ucp_event_state(ev) == UCP_SUB_ACTIVE) atomic_fetch_add(&sub_active, 1);
  if (ucp_event_state(ev) == UCP_SUB_RESUBSCRIBED)
    atomic_fetch_add(&sub_resubscribed, 1);
}

static void on_sub_done(uint64_t id, const ucp_result *r, void *user) {
  (void)id, (void)r, (void)user;
}

static int wait_atomic(atomic_int *v, int want, int ms) {
  for (int i = 0; i < ms / 10 && atomic_load(v) < want; i++) sleep_ms(10);
  return atomic_load(v);
}

/* A reboot (UDA 2.0 §1.2.4): byebye, ssdp:update with NEXTBOOTID, alive
 * with the new BOOTID. The device is REMOVED, then ADDED again, and a
 * subscription to it is made again at once (the device forgot it), not
 * at its next renewal half an hour later. */
static void reboot_is_followed(void **state) {
  (void)state;
  ucp_sim *sim = start_sim(1, 0);
  assert_non_null(sim);
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  hunt h;
  hunt_init(&h, cp);
  ucp_search_opts *so = lo_opts(1);
  assert_int_equal(hunt_start(&h, "upnp:rootdevice", so, 0), UCP_OK);
  ucp_search_opts_free(so);
  assert_int_equal(wait_count(&h, &h.added, 1, 5000), 1);
  char evt[128];
  snprintf(evt, sizeof evt, "http://127.0.0.1:%u/evt/SwitchPower",
           ucp_sim_device_port(sim, 0));
  uint64_t sub;
  assert_int_equal(ucp_subscribe_url(cp, evt, ucp_sim_udn(sim), NULL, NULL,
                                     NULL, on_sub_event, on_sub_done, NULL,
                                     &sub),
                   UCP_OK);
  assert_int_equal(wait_atomic(&sub_active, 1, 5000), 1);
  assert_int_equal(ucp_sim_restart(sim), 0);
  assert_int_equal(wait_count(&h, &h.removed, 1, 5000), 1);
  assert_int_equal(wait_count(&h, &h.added, 2, 5000), 2);
  assert_true(wait_atomic(&sub_resubscribed, 1, 5000) >= 1);
  assert_int_equal(ucp_sim_subscriptions(sim), 1);
  printf("  reboot: added %d, removed %d, updated %d\n", hget(&h, &h.added),
         hget(&h, &h.removed), hget(&h, &h.updated));
  assert_int_equal(ucp_cancel(cp, h.id), UCP_OK);
  ucp_cp_free(cp);
  hunt_destroy(&h);
  ucp_sim_stop(sim);
}

static void notify(const char *nts, const char *udn, const char *location,
                   int max_age, int bootid, int configid) {
  char msg[1024];
  int n = snprintf(msg, sizeof msg,
                   "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                   "NT: upnp:rootdevice\r\nNTS: %s\r\nUSN: %s::upnp:rootdevice\r\n",
                   nts, udn);
  if (location)
    n += snprintf(msg + n, sizeof msg - (size_t)n,
                  "LOCATION: %s\r\nCACHE-CONTROL: max-age=%d\r\n"
                  "SERVER: test/1 UPnP/1.1 t/1\r\n",
                  location, max_age);
  n += snprintf(msg + n, sizeof msg - (size_t)n,
                "BOOTID.UPNP.ORG: %d\r\nCONFIGID.UPNP.ORG: %d\r\n\r\n",
                bootid, configid);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct in_addr lo = {htonl(INADDR_LOOPBACK)};
  setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(1900)};
  inet_pton(AF_INET, "239.255.255.250", &to.sin_addr);
  sendto(s, msg, (size_t)n, 0, (struct sockaddr *)&to, sizeof to);
  close(s);
}

/* NOTIFYs alone: alive adds, a changed BOOTID, CONFIGID or LOCATION
 * reloads (UPDATED), byebye removes, alive again adds, silence past
 * max-age removes; hostile ones are dropped and counted. */
static void notify_cache_lifecycle(void **state) {
  (void)state;
  ucp_sim *sim = start_sim(1, UCP_SIM_FAULT_NO_RESPONSE);
  assert_non_null(sim);
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  hunt h;
  hunt_init(&h, cp);
  ucp_search_opts *so = lo_opts(1);
  assert_int_equal(hunt_start(&h, "upnp:rootdevice", so, 0), UCP_OK);
  ucp_search_opts_free(so);
  const char *udn = "uuid:8a3c1e5e-0000-4000-8000-000000000042";
  const char *loc = ucp_sim_device_location(sim, 0);
  sleep_ms(200);
  int base = hget(&h, &h.added); /* the simulator's own alive, if any */
  notify("ssdp:alive", udn, loc, 30, 1, 1);
  assert_int_equal(wait_count(&h, &h.added, base + 1, 5000), base + 1);
  notify("ssdp:alive", udn, loc, 30, 2, 1);
  assert_int_equal(wait_count(&h, &h.updated, 1, 5000), 1);
  notify("ssdp:alive", udn, loc, 30, 2, 7);
  assert_int_equal(wait_count(&h, &h.updated, 2, 5000), 2);
  notify("ssdp:alive", udn, loc, 30, 2, 7); /* no change: nothing */
  uint64_t drops = ucp_cp_ssdp_drops(cp);
  notify("ssdp:alive", "uuid:evil", "http://192.0.2.1:80/d.xml", 30, 1, 1);
  notify("ssdp:weird", udn, loc, 30, 2, 7);
  sleep_ms(500);
  assert_int_equal(hget(&h, &h.updated), 2);
  assert_true(ucp_cp_ssdp_drops(cp) >= drops + 2);
  notify("ssdp:byebye", udn, NULL, 0, 2, 7);
  assert_int_equal(wait_count(&h, &h.removed, 1, 5000), 1);
  notify("ssdp:alive", udn, loc, 30, 2, 7);
  assert_int_equal(wait_count(&h, &h.added, base + 2, 5000), base + 2);
  /* Now silence: max-age 30 s runs out (the minimum SECURITY.md allows). */
  assert_int_equal(wait_count(&h, &h.removed, 2, 40000), 2);
  printf("  notify: added %d, updated %d, removed %d, dropped %llu\n",
         hget(&h, &h.added), hget(&h, &h.updated), hget(&h, &h.removed),
         (unsigned long long)ucp_cp_ssdp_drops(cp));
  assert_int_equal(ucp_cancel(cp, h.id), UCP_OK);
  ucp_cp_free(cp);
  hunt_destroy(&h);
  ucp_sim_stop(sim);
}

/* A device whose description fails is retried only after a back-off
 * (1 s, then 2 s ...), however often it announces itself. */
static void failed_loads_back_off(void **state) {
  (void)state;
  ucp_sim *sim = start_sim(1, UCP_SIM_FAULT_NO_RESPONSE);
  assert_non_null(sim);
  ucp_cp *cp;
  assert_int_equal(ucp_cp_new(NULL, &cp), UCP_OK);
  hunt h;
  hunt_init(&h, cp);
  ucp_search_opts *so = lo_opts(1);
  assert_int_equal(hunt_start(&h, "upnp:rootdevice", so, 0), UCP_OK);
  ucp_search_opts_free(so);
  sleep_ms(300);
  char loc[256];
  snprintf(loc, sizeof loc, "%s/fault/status?code=500", ucp_sim_base_url(sim));
  const char *udn = "uuid:8a3c1e5e-0000-4000-8000-0000000000bb";
  notify("ssdp:alive", udn, loc, 1800, 1, 1);
  assert_int_equal(wait_count(&h, &h.failed, 1, 5000), 1);
  uint64_t req = ucp_sim_requests(sim);
  for (int i = 0; i < 5; i++) { /* within the first second: no retry */
    notify("ssdp:alive", udn, loc, 1800, 1, 1);
    sleep_ms(50);
  }
  sleep_ms(200);
  assert_int_equal(ucp_sim_requests(sim), req);
  assert_int_equal(hget(&h, &h.failed), 1);
  sleep_ms(900);
  notify("ssdp:alive", udn, loc, 1800, 1, 1); /* after 1 s: one retry */
  assert_int_equal(wait_count(&h, &h.failed, 2, 5000), 2);
  assert_int_equal(ucp_sim_requests(sim), req + 1);
  notify("ssdp:alive", udn, loc, 1800, 1, 1); /* now 2 s to wait */
  sleep_ms(300);
  assert_int_equal(hget(&h, &h.failed), 2);
  assert_int_equal(ucp_cancel(cp, h.id), UCP_OK);
  ucp_cp_free(cp);
  hunt_destroy(&h);
  ucp_sim_stop(sim);
}

/* Targets and interfaces are checked when given, with a detail naming
 * them, instead of being skipped in silence when the search runs. */
static void search_opts_refuse_bad_targets(void **state) {
  (void)state;
  ucp_search_opts *so = ucp_search_opts_new();
  static const char *const bad[] = {
      "127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:", "nohost:1900",
      "127.0.0.1:19x", "1.2.3:1900", "[::1", "[::1]x", "[zz::1]:1900", "",
      "127.0.0.1 :1900"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(ucp_search_opts_add_unicast(so, bad[i]),
                     UCP_E_INVALIDARG);
    assert_non_null(strstr(ucp_last_error_detail(), "unicast target"));
  }
  static const char *const good[] = {"127.0.0.1", "127.0.0.1:1900",
                                     "[::1]:1900", "[::1]"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    assert_int_equal(ucp_search_opts_add_unicast(so, good[i]), UCP_OK);
  assert_int_equal(ucp_search_opts_add_interface(so, "nosuchif0"),
                   UCP_E_INVALIDARG);
  assert_non_null(strstr(ucp_last_error_detail(), "nosuchif0"));
  assert_int_equal(ucp_search_opts_add_interface(so, "lo"), UCP_OK);
  ucp_search_opts_free(so);
}

/* curl's threaded resolver watches a socketpair of its own and closes it
 * without us: its poll handle must go when curl stops watching it, or the
 * control point's teardown takes that fd number out of the caller's epoll
 * when one of the caller's sockets has it by then. Here (only lo, no DNS
 * server reachable) the name fails fast, then the caller opens listeners
 * on the same loop, frees the control point, and each must still accept. */
static int stale_done, stale_accepted;
static void stale_load_done(uint64_t id, const ucp_result *r, void *u) {
  (void)id, (void)r, (void)u;
  stale_done = 1;
}
static void stale_on_conn(uv_stream_t *s, int st) {
  (void)s, (void)st;
  stale_accepted = 1;
}

static void resolver_socket_leaves_callers_fds_alone(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  ucp_cp *cp = test_cp_on_loop(&loop, 0, 0);
  assert_non_null(cp);
  /* one socket of the caller's first, as in an application (it moves the
   * resolver's socketpair onto numbers the listeners below take) */
  uv_tcp_t pre;
  struct sockaddr_in pa;
  uv_ip4_addr("127.0.0.1", 0, &pa);
  assert_int_equal(uv_tcp_init(&loop, &pre), 0);
  assert_int_equal(uv_tcp_bind(&pre, (struct sockaddr *)&pa, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&pre, 8, stale_on_conn), 0);
  uint64_t id;
  assert_int_equal(ucp_load_description(cp, "http://nosuch.invalid:1/d.xml",
                                        NULL, stale_load_done, NULL, &id),
                   UCP_OK);
  for (int i = 0; i < 10000 && !stale_done; i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    sleep_ms(1);
  }
  assert_true(stale_done);
  enum { NL = 8 };
  uv_tcp_t srv[NL];
  int port[NL];
  for (int i = 0; i < NL; i++) {
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_init(&loop, &srv[i]), 0);
    assert_int_equal(uv_tcp_bind(&srv[i], (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&srv[i], 8, stale_on_conn), 0);
    int al = sizeof a;
    uv_tcp_getsockname(&srv[i], (struct sockaddr *)&a, &al);
    port[i] = ntohs(a.sin_port);
  }
  for (int i = 0; i < 5; i++) uv_run(&loop, UV_RUN_NOWAIT); /* in epoll */
  ucp_cp_free(cp);
  for (int i = 0; i < 50; i++) uv_run(&loop, UV_RUN_NOWAIT);
  for (int i = 0; i < NL; i++) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port[i], &a);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    stale_accepted = 0;
    for (int k = 0; k < 2000 && !stale_accepted; k++) {
      uv_run(&loop, UV_RUN_NOWAIT);
      sleep_ms(1);
    }
    close(c);
    if (!stale_accepted) fail_msg("listener %d got no connection callback", i);
  }
  for (int i = 0; i < NL; i++) uv_close((uv_handle_t *)&srv[i], NULL);
  uv_close((uv_handle_t *)&pre, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(resolver_socket_leaves_callers_fds_alone),
      cmocka_unit_test(search_opts_refuse_bad_targets),
      cmocka_unit_test(finds_one_device),
      cmocka_unit_test(finds_ten_devices),
      cmocka_unit_test(finds_two_hundred_devices),
      cmocka_unit_test(unicast_search_without_multicast),
      cmocka_unit_test(ipv6_multicast_search),
      cmocka_unit_test(st_matching_by_type_and_version),
      cmocka_unit_test(hostile_answers_dropped_and_counted),
      cmocka_unit_test(answer_flood_is_one_device),
      cmocka_unit_test(per_host_cap),
      cmocka_unit_test(cancel_in_every_phase),
      cmocka_unit_test(reboot_is_followed),
      cmocka_unit_test(notify_cache_lifecycle),
      cmocka_unit_test(failed_loads_back_off),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
