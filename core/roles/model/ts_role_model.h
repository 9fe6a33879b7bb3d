/* ts_role_model.h: the model role, `tesserad model REPOSITORY` (see
 * ts_role_model.c; the API in README, "Model servers"). */
#ifndef TS_ROLE_MODEL_H
#define TS_ROLE_MODEL_H

#include "ts_role.h"

extern const ts_role_t ts_role_model;

#endif
