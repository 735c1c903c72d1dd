/*
 * Action names and bits: the bits are the public enum pawl_event_action
 * (pawl/event.h, also its pawl_event_action_name); this adds the way back.
 */
#ifndef PAWL_ACTIONS_H
#define PAWL_ACTIONS_H

#include "pawl/event.h"

/* The bit of an action name ("create", ...), exact; 0 when unknown. */
unsigned pawl_action_parse(const char *name);

#endif
