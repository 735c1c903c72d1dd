/*
 * The root's composition of a worker: builds and frees its context
 * (core/context.h) and checks a config as a start would.
 */
#ifndef PAWL_APP_H
#define PAWL_APP_H

#include <stdio.h>

#include "core/context.h"
#include "core/err.h"

/* Builds the context for cfg (borrowed; must outlive the app). No I/O to servers. */
struct pawl_app *pawl_app_new(const struct pawl_config *cfg, struct pawl_error *err);
void pawl_app_free(struct pawl_app *app);

/*
 * Checks cfg as pawl_app_new would, without side effects: plugins are
 * loaded and their entry point found but not called (they open no file),
 * Redis URLs are parsed, nothing connects. For `check`, and before a start
 * binds its socket.
 */
enum pawl_err pawl_app_check(const struct pawl_config *cfg, struct pawl_error *err);

/*
 * `check --connect` (app/check.c): connects to PostgreSQL (and checks the
 * schema version) and PINGs each Redis listener, one line each on out.
 * Returns 0 when all answered, 1 otherwise.
 */
int pawl_check_connect(const struct pawl_config *cfg, FILE *out);

#endif
