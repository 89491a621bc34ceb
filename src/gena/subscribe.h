/* subscribe.h - what other layers tell the subscriptions. */
#ifndef UCP_GENA_SUBSCRIBE_H
#define UCP_GENA_SUBSCRIBE_H

#include "upnpcp.h"

/* Loop thread. A search saw `udn` reboot (BOOTID.UPNP.ORG changed, or it
 * came back after ssdp:byebye or expiry): its subscriptions are gone on
 * the device, so each is made again (UCP_SUB_RESUBSCRIBED). */
void ucp__gena_device_rebooted(ucp_cp *cp, const char *udn);

#endif
