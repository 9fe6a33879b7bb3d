/* ts_role_license.h: the license role, `tesserad license [--project
 * ##.#]`: the license server on port p (or p'), its hub on p+2 and,
 * outside the service manager, its bus on p+1 as a child (README, "The
 * license server, its bus and its hub"). */
#ifndef TS_ROLE_LICENSE_H
#define TS_ROLE_LICENSE_H

#include "ts_role.h"

extern const ts_role_t ts_role_license;

#endif
