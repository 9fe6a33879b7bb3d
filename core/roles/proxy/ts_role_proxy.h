/* ts_role_proxy.h: the proxy role, `tesserad proxy` (p+5): one port per
 * machine through which clients reach every model server of the machine
 * (HTTP CONNECT). */
#ifndef TS_ROLE_PROXY_H
#define TS_ROLE_PROXY_H

#include "ts_role.h"

extern const ts_role_t ts_role_proxy;

#endif
