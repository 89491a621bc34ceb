/* description.h - the device description model and its sans-I/O parser.
 * The parser is a pure function over byte buffers (fed in pieces, as they
 * arrive): no sockets, no curl. It keeps URLs as written; the device layer
 * resolves them (src/device/resolve.c). UDA 2.0 §2.3. */
#ifndef UCP_XML_DESCRIPTION_H
#define UCP_XML_DESCRIPTION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/arena.h"
#include "upnpcp.h"

struct ucp_icon {
  const char *mimetype;
  int width, height, depth;
  const char *url_raw;
  const char *url;      /* resolved, or NULL */
  const char *url_err;  /* why url is NULL */
  const ucp_device *dev;
  struct ucp_icon *next; /* while parsing */
};

struct ucp_service {
  const char *f[UCP_SERVICE__FIELD_COUNT];   /* type, id, resolved URLs */
  const char *raw[UCP_SERVICE__FIELD_COUNT]; /* as written */
  const char *url_err[UCP_SERVICE__FIELD_COUNT];
  const ucp_device *dev;
  struct ucp_service *next; /* while parsing */
};

struct ucp_device {
  const char *f[UCP_DEVICE__FIELD_COUNT];
  const char *presentation_raw;
  const ucp_device *parent;
  const struct ucp_description *desc; /* the tree it belongs to */
  ucp_device **children;
  size_t nchildren;
  ucp_service **services;
  size_t nservices;
  ucp_icon **icons;
  size_t nicons;
  /* while parsing */
  struct ucp_device *next_sibling, *first_child, *last_child;
  ucp_service *svc_head, *svc_tail;
  ucp_icon *icon_head, *icon_tail;
};

struct ucp_description {
  atomic_long refs;
  ucp__arena arena;
  const char *url;
  const char *base_url;
  const char *urlbase_raw; /* <URLBase> as written, NULL if absent */
  int spec_major, spec_minor;
  int64_t config_id;
  const char *warnings;
  ucp_device *root;
  ucp_device **devices; /* depth first */
  size_t ndevices;
};

typedef struct ucp__desc_limits {
  size_t max_depth;    /* element nesting */
  size_t max_text;     /* one element's text */
  size_t max_devices;
  size_t max_services;
  size_t max_bytes;    /* whole document */
} ucp__desc_limits;

void ucp__desc_limits_default(ucp__desc_limits *l);

typedef struct ucp__desc_parser ucp__desc_parser;

/* NULL when out of memory. */
ucp__desc_parser *ucp__desc_parser_new(const ucp__desc_limits *lim);
void ucp__desc_parser_free(ucp__desc_parser *p);
/* Feed the next piece. UCP_OK, or a negative code (see _error()); after an
 * error every further call returns it again. */
int ucp__desc_parser_feed(ucp__desc_parser *p, const char *buf, size_t len);
/* End of input: returns UCP_OK and a description with one reference whose
 * URLs are not resolved yet, or a negative code. */
int ucp__desc_parser_finish(ucp__desc_parser *p, ucp_description **out);
/* Parse a complete document held by the caller, without copying it:
 * feed + finish in one call. */
int ucp__desc_parser_parse_all(ucp__desc_parser *p, const char *doc,
                               size_t len, ucp_description **out);
/* "line 12: ..." for the last error, "" if none. */
const char *ucp__desc_parser_error(const ucp__desc_parser *p);

#endif
