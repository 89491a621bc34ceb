/* device.h - internal API of the device layer. */
#ifndef UCP_DEVICE_DEVICE_H
#define UCP_DEVICE_DEVICE_H

#include "../xml/description.h"

/* Resolve every URL of `d` against its URLBase or `location` (UDA 2.0
 * §2.3), marking URLs that name another host unusable. UCP_OK or
 * UCP_E_NOMEM. */
int ucp__desc_resolve(ucp_description *d, const char *location);
/* Parser limits from a control point's configuration. */
void ucp__desc_limits_from_cp(ucp_cp *cp, ucp__desc_limits *l);

#endif
