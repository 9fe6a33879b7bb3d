/* ts_role_bus.h: the bus role, `tesserad bus`: the license server's MQTT
 * broker (mosquitto) on p+1 as a service of its own, for when the service
 * manager runs the license server (README, "The bus"). */
#ifndef TS_ROLE_BUS_H
#define TS_ROLE_BUS_H

#include "ts_role.h"

extern const ts_role_t ts_role_bus;

#endif
