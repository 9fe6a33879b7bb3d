/* ts_role_notify.h: the notification service, `tesserad notify`: on p+4
 * it serves the bus as Server-Sent Events (GET /v1/events) and mails
 * users the changes they subscribed to (README, "Notification service"). */
#ifndef TS_ROLE_NOTIFY_H
#define TS_ROLE_NOTIFY_H

#include "ts_role.h"

extern const ts_role_t ts_role_notify;

#endif
