/*
 * Kinto's accounts plugin (docs/accounts in the README; Kinto's
 * api/1.x/accounts.rst): the `account` resource at /accounts/{id}, whose
 * passwords are stored as yescrypt hashes from the system's libcrypt and
 * never answered, and the `account` authentication policy.
 */
#ifndef PAWL_ACCOUNTS_H
#define PAWL_ACCOUNTS_H

#include <stdbool.h>

#include "core/context.h"
#include "core/config.h"
#include "resource/resource.h"


/*
 * A worker's verified-credentials cache and its dummy hash (checked when
 * the account does not exist, so a missing account costs the same work).
 * NULL when out of memory or libcrypt fails. _free accepts NULL.
 */
struct pawl_accounts_cache;
struct pawl_accounts_cache *pawl_accounts_cache_new(const struct pawl_config *cfg);
void pawl_accounts_cache_free(struct pawl_accounts_cache *cache);

/*
 * "account:<user>" when the Basic Authorization value names an existing
 * account with that password, else NULL (the next policy is tried, as in
 * Kinto). Reads the account row (one keyed read) on every call; the slow
 * hash runs only when the cache holds no entry for these credentials made
 * against the hash stored now, so a password change or a delete takes
 * effect at once on every worker. Refusals are cached too, and past
 * account_failures_per_minute failures of a name a worker stops checking it
 * for the rest of the minute. Never keeps the password.
 */
const char *pawl_accounts_identify(struct pawl_app *app, struct pawl_arena *arena,
    const char *authorization);

/* yescrypt hash of password (a fresh salt), into out[size]. PAWL_ERR_INTERNAL when libcrypt fails. */
enum pawl_err pawl_accounts_hash(const char *password, char *out, size_t size,
    struct pawl_error *err);

/* True for the account resource. */
bool pawl_accounts_is(const struct pawl_resource *res);

/*
 * Before the generic handlers run on an account: replaces data.password of
 * the request body with its hash (400 when it is missing on a create or
 * replace, or not a non-empty string), requires data.id on POST, refuses
 * JSON Patch and filters or sorting on password.
 */
enum pawl_err pawl_accounts_prepare(struct pawl_rctx *c, struct pawl_error *err);

/* The JSON text without any "password" member (at any depth), in the arena. */
const char *pawl_accounts_strip(struct pawl_arena *arena, const char *json);

/* The principal every account holds on itself: "account:<id>". */
const char *pawl_accounts_principal(struct pawl_arena *arena, const char *id);

#endif
