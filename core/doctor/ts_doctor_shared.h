/* ts_doctor_shared.h: what the doctor's check files share (not for the
 * doctor's users, who include ts_doctor.h). */
#ifndef TS_DOCTOR_SHARED_H
#define TS_DOCTOR_SHARED_H

#include <apr_network_io.h>
#include "ts_doctor.h"
#include "ts_i18n.h"

/* FMT, a literal marked N_(), in English (LOCAL 0) or in the language
 * spoken (LOCAL 1): for a message made twice, where an argument differs
 * by language (ts_doctor_add_texts). */
#define TS_DOCTOR_TEXT(local, fmt) ((local) ? _(fmt) : (fmt))

/* The effective value of setting NAME, or NULL when it is unset or
 * invalid (the settings check reports that). */
const char *ts_doctor_value(ts_doctor_t *doc, const char *name);

/* Can a listening socket bind SA (as our servers bind, see
 * tsp_listener_prepare)? With port 0 this asks whether the address is
 * one of this machine's; with a port, whether that port is free. Nothing
 * is sent. */
int ts_doctor_can_bind(apr_sockaddr_t *sa, apr_pool_t *pool);

#endif
