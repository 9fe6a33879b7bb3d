/* ts_role_agent.h: the agent role, `tesserad agent`: on p+3 (or
 * INOAGENTPORT) it starts, stops, copies and deletes the model versions
 * of one project directory (README, "Agents and model servers"). */
#ifndef TS_ROLE_AGENT_H
#define TS_ROLE_AGENT_H

#include "ts_role.h"

extern const ts_role_t ts_role_agent;

#endif
