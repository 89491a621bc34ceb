/* tree.c - the public, read-only view of a device description. */
#include <stdio.h>
#include <string.h>

#include "../core/mem.h"
#include "../core/op.h"
#include "device.h"

const ucp_description *ucp_description_ref(const ucp_description *d) {
  if (d) atomic_fetch_add(&((ucp_description *)d)->refs, 1);
  return d;
}

void ucp_description_unref(const ucp_description *cd) {
  ucp_description *d = (ucp_description *)cd;
  if (!d || atomic_fetch_sub(&d->refs, 1) != 1) return;
  ucp__arena arena = d->arena; /* the struct itself lives outside it */
  ucp__arena_free(&arena);
  ucp__free(d);
}

void ucp__desc_limits_from_cp(ucp_cp *cp, ucp__desc_limits *l) {
  ucp__desc_limits_default(l);
  if (!cp) return;
  l->max_depth = ucp__cp_limit(cp, UCP_LIMIT_XML_DEPTH);
  l->max_text = ucp__cp_limit(cp, UCP_LIMIT_XML_TEXT);
  l->max_devices = ucp__cp_limit(cp, UCP_LIMIT_DEVICES);
  l->max_services = ucp__cp_limit(cp, UCP_LIMIT_SERVICES);
  l->max_bytes = ucp__cp_limit(cp, UCP_LIMIT_DESC_BYTES);
}

static void set_detail(char *detail, size_t len, const char *msg) {
  if (detail && len) snprintf(detail, len, "%s", msg);
}

int ucp_description_parse(const char *xml, size_t len, const char *url,
                          const ucp_description **out, char *detail,
                          size_t detail_len) {
  if (!out || (!xml && len)) return UCP_E_INVALIDARG;
  *out = NULL;
  set_detail(detail, detail_len, "");
  ucp__desc_parser *p = ucp__desc_parser_new(NULL);
  if (!p) return UCP_E_NOMEM;
  ucp_description *d = NULL;
  int rc = ucp__desc_parser_parse_all(p, xml ? xml : "", len, &d);
  if (rc != UCP_OK) set_detail(detail, detail_len, ucp__desc_parser_error(p));
  ucp__desc_parser_free(p);
  if (rc == UCP_OK && (rc = ucp__desc_resolve(d, url)) != UCP_OK) {
    set_detail(detail, detail_len, "out of memory resolving URLs");
    ucp_description_unref(d);
    d = NULL;
  }
  *out = d;
  return rc;
}

const ucp_device *ucp_description_root(const ucp_description *d) {
  return d ? d->root : NULL;
}
const char *ucp_description_url(const ucp_description *d) {
  return d ? d->url : NULL;
}
const char *ucp_description_base_url(const ucp_description *d) {
  return d ? d->base_url : NULL;
}
void ucp_description_spec_version(const ucp_description *d, int *major,
                                  int *minor) {
  if (major) *major = d ? d->spec_major : 0;
  if (minor) *minor = d ? d->spec_minor : 0;
}
int64_t ucp_description_config_id(const ucp_description *d) {
  return d ? d->config_id : -1;
}
const char *ucp_description_warnings(const ucp_description *d) {
  return d && d->warnings ? d->warnings : "";
}
size_t ucp_description_device_count(const ucp_description *d) {
  return d ? d->ndevices : 0;
}
const ucp_device *ucp_description_device(const ucp_description *d, size_t i) {
  return d && i < d->ndevices ? d->devices[i] : NULL;
}

const char *ucp_device_field_get(const ucp_device *dev, ucp_device_field f) {
  if (!dev || (unsigned)f >= UCP_DEVICE__FIELD_COUNT) return NULL;
  return dev->f[f];
}
const ucp_device *ucp_device_parent(const ucp_device *dev) {
  return dev ? dev->parent : NULL;
}
size_t ucp_device_child_count(const ucp_device *dev) {
  return dev ? dev->nchildren : 0;
}
const ucp_device *ucp_device_child(const ucp_device *dev, size_t i) {
  return dev && i < dev->nchildren ? dev->children[i] : NULL;
}
size_t ucp_device_service_count(const ucp_device *dev) {
  return dev ? dev->nservices : 0;
}
const ucp_service *ucp_device_service(const ucp_device *dev, size_t i) {
  return dev && i < dev->nservices ? dev->services[i] : NULL;
}
size_t ucp_device_icon_count(const ucp_device *dev) {
  return dev ? dev->nicons : 0;
}
const ucp_icon *ucp_device_icon(const ucp_device *dev, size_t i) {
  return dev && i < dev->nicons ? dev->icons[i] : NULL;
}

const char *ucp_service_field_get(const ucp_service *s, ucp_service_field f) {
  if (!s || (unsigned)f >= UCP_SERVICE__FIELD_COUNT) return NULL;
  return s->f[f];
}
const char *ucp_service_url_error(const ucp_service *s, ucp_service_field f) {
  if (!s || f < UCP_SERVICE_SCPD_URL || f >= UCP_SERVICE__FIELD_COUNT)
    return NULL;
  return s->url_err[f];
}
const ucp_device *ucp_service_device(const ucp_service *s) {
  return s ? s->dev : NULL;
}

const char *ucp_icon_mimetype(const ucp_icon *i) { return i ? i->mimetype : NULL; }
int ucp_icon_width(const ucp_icon *i) { return i ? i->width : -1; }
int ucp_icon_height(const ucp_icon *i) { return i ? i->height : -1; }
int ucp_icon_depth(const ucp_icon *i) { return i ? i->depth : -1; }
const char *ucp_icon_url(const ucp_icon *i) { return i ? i->url : NULL; }
const char *ucp_icon_url_error(const ucp_icon *i) {
  return i ? i->url_err : NULL;
}
