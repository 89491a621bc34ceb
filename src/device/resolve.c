/* resolve.c - URL resolution and the same-host rule for descriptions.
 * SECURITY.md: an absolute URL naming another host than LOCATION is never
 * fetched; a URLBase naming another host is ignored (UDA 1.1 deprecates
 * URLBase) with a compliance warning. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/mem.h"
#include "../http/url.h"
#include "device.h"

typedef struct resolver {
  ucp_description *d;
  const char *base;     /* what relative URLs resolve against */
  ucp__url_base *parsed_base;
  char host[UCP__HOST_MAX]; /* the device's host, from LOCATION */
  int have_host;
} resolver;

static const char *arena_str(ucp_description *d, const char *s) {
  return ucp__arena_strndup(&d->arena, s, strlen(s));
}

/* Resolve one URL: *url set, or *err set to the reason it is unusable. */
static int resolve_one(resolver *r, const char *raw, const char **url,
                       const char **err) {
  *url = NULL;
  *err = NULL;
  char msg[UCP__HOST_MAX * 2 + 64];
  const char *why = NULL;
  if (!raw) why = "absent from the description";
  else if (!*raw) why = "empty in the description";
  else if (!strcmp(raw, "(null)")) why = "the literal string '(null)'";
  else if (!r->have_host) why = "no valid LOCATION to resolve against";
  if (why) {
    *err = why;
    return UCP_OK;
  }
  char host[UCP__HOST_MAX];
  char *abs = ucp__url_base_resolve(r->parsed_base, raw, host, sizeof host, &why);
  int rc = UCP_OK;
  if (!abs && !why) return UCP_E_NOMEM;
  if (!abs) {
    snprintf(msg, sizeof msg, "'%.200s': %s", raw, why);
    rc = UCP_E_URL;
  } else if (strcasecmp(host, r->host) != 0) {
    snprintf(msg, sizeof msg, "names host %s, not the device's host %s",
             host, r->host);
    rc = UCP_E_POLICY;
  }
  if (rc == UCP_OK) *url = arena_str(r->d, abs);
  else *err = arena_str(r->d, msg);
  ucp__free(abs);
  return (*url || *err) ? UCP_OK : UCP_E_NOMEM;
}

static const char *append_warning(ucp_description *d, const char *w) {
  size_t a = strlen(d->warnings ? d->warnings : ""), b = strlen(w);
  char *n = ucp__arena_alloc(&d->arena, a + b + 2);
  if (!n) return NULL;
  memcpy(n, d->warnings ? d->warnings : "", a);
  memcpy(n + a, w, b);
  n[a + b] = '\n';
  return d->warnings = n;
}

/* Parse LOCATION, and URLBase when present; keep URLBase only when it
 * names the same host. Each URL is parsed once. */
static int choose_base(resolver *r, const char *location) {
  const char *why;
  ucp_description *d = r->d;
  r->base = location;
  if (!location) return UCP_OK;
  r->parsed_base = ucp__url_base_new(location, &why);
  if (!r->parsed_base) return why ? UCP_OK : UCP_E_NOMEM;
  snprintf(r->host, sizeof r->host, "%s", ucp__url_base_host(r->parsed_base));
  r->have_host = 1;
  if (!d->urlbase_raw) return UCP_OK;
  ucp__url_base *ub = ucp__url_base_new(d->urlbase_raw, &why);
  char w[1024];
  if (!ub && !why) return UCP_E_NOMEM;
  if (!ub) {
    snprintf(w, sizeof w, "URLBase '%.200s' ignored: %s", d->urlbase_raw, why);
  } else if (strcasecmp(ucp__url_base_host(ub), r->host) != 0) {
    snprintf(w, sizeof w, "URLBase '%.200s' names host %s, not %s: ignored",
             d->urlbase_raw, ucp__url_base_host(ub), r->host);
    ucp__url_base_free(ub);
  } else {
    ucp__url_base_free(r->parsed_base);
    r->parsed_base = ub;
    r->base = d->urlbase_raw;
    return UCP_OK;
  }
  return append_warning(d, w) ? UCP_OK : UCP_E_NOMEM;
}

static int resolve_device(resolver *r, ucp_device *dev) {
  const char *err;
  int rc = resolve_one(r, dev->presentation_raw,
                       &dev->f[UCP_DEVICE_PRESENTATION_URL], &err);
  for (size_t i = 0; rc == UCP_OK && i < dev->nservices; i++) {
    ucp_service *s = dev->services[i];
    for (int f = UCP_SERVICE_SCPD_URL; rc == UCP_OK && f <= UCP_SERVICE_EVENT_SUB_URL; f++)
      rc = resolve_one(r, s->raw[f], &s->f[f], &s->url_err[f]);
    s->f[UCP_SERVICE_TYPE] = s->raw[UCP_SERVICE_TYPE];
    s->f[UCP_SERVICE_ID] = s->raw[UCP_SERVICE_ID];
  }
  for (size_t i = 0; rc == UCP_OK && i < dev->nicons; i++) {
    ucp_icon *ic = dev->icons[i];
    rc = resolve_one(r, ic->url_raw, &ic->url, &ic->url_err);
  }
  return rc;
}

int ucp__desc_resolve(ucp_description *d, const char *location) {
  resolver r = {.d = d};
  d->url = location ? arena_str(d, location) : "";
  if (!d->url) return UCP_E_NOMEM;
  int rc = choose_base(&r, location);
  d->base_url = r.base ? arena_str(d, r.base) : "";
  if (rc == UCP_OK && !d->base_url) rc = UCP_E_NOMEM;
  for (size_t i = 0; rc == UCP_OK && i < d->ndevices; i++)
    rc = resolve_device(&r, d->devices[i]);
  ucp__url_base_free(r.parsed_base);
  return rc;
}
