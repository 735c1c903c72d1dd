/*
 * Settings that need more than a type check: trusted_proxies (a list of
 * address blocks) and the secrets the personal default bucket depends on.
 * Pure: no I/O, no environment, no logging.
 */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/config_keys.h"

enum pawl_err pawl_config_check_proxies(struct pawl_config_build *b, struct pawl_config *cfg)
{
	struct pawl_config_entry *e = pawl_config_build_find(b, "trusted_proxies");
	char **items;
	size_t n = 0, i;

	if (e == NULL || e->value == NULL)
		return PAWL_OK;
	if ((items = pawl_config_keys_split(e->value, &n)) == NULL ||
	    (n > 0 && (cfg->trusted_proxies = calloc(n, sizeof(*cfg->trusted_proxies))) == NULL)) {
		pawl_config_keys_strv_free(items);
		return pawl_error_nomem(b->err);
	}
	for (i = 0; i < n; i++) {
		if (pawl_cidr_parse(items[i], &cfg->trusted_proxies[i]))
			continue;
		pawl_config_keys_bad(e, b->source, b->err, "a list of IPv4 or IPv6 addresses or "
		    "CIDR blocks without host bits (e.g. 127.0.0.1 10.0.0.0/8 ::1 fd00::/8)", items[i]);
		pawl_config_keys_strv_free(items);
		return PAWL_ERR_CONFIG;
	}
	cfg->n_trusted_proxies = n;
	pawl_config_keys_strv_free(items);
	return PAWL_OK;
}

bool pawl_config_has_policy(const struct pawl_config *cfg, const char *policy)
{
	char **p;

	for (p = cfg->auth_policies; p != NULL && *p != NULL; p++)
		if (strcmp(*p, policy) == 0)
			return true;
	return false;
}

const char *pawl_config_default_bucket_secret(const struct pawl_config *cfg)
{
	const char *own = pawl_config_get(cfg, "default_bucket_hmac_secret");

	/* Kinto keys the personal bucket id with userid_hmac_secret unless told otherwise. */
	if (own != NULL && *own != '\0')
		return own;
	if (cfg->userid_hmac_secret != NULL && *cfg->userid_hmac_secret != '\0')
		return cfg->userid_hmac_secret;
	return NULL;
}

enum pawl_err pawl_config_check_secrets(const struct pawl_config *cfg, struct pawl_error *err)
{
	/*
	 * User ids are visible to others (ACLs, group members): under an empty
	 * key anyone computes another user's personal bucket id and can stand a
	 * bucket of their own there first. pawl always serves /buckets/default.
	 */
	if (pawl_config_default_bucket_secret(cfg) == NULL)
		return pawl_error_set(err, PAWL_ERR_CONFIG, "settings 'userid_hmac_secret' and "
		    "'default_bucket_hmac_secret' are both empty%s%s: set userid_hmac_secret to a "
		    "long random value (openssl rand -hex 32); the personal default bucket needs a "
		    "secret key", cfg->source_path ? " in " : "",
		    cfg->source_path ? cfg->source_path : "");
	/*
	 * A basicauth user id is the HMAC of "user:password" under this key
	 * (Kinto's basicauth policy): under an empty key anyone who sees an id
	 * in an ACL can test passwords against it offline.
	 */
	if (cfg->auth_policies != NULL && pawl_config_keys_in((const char *const *)cfg->auth_policies,
	    "basicauth") && (cfg->userid_hmac_secret == NULL || *cfg->userid_hmac_secret == '\0'))
		return pawl_error_set(err, PAWL_ERR_CONFIG, "setting 'userid_hmac_secret' is "
		    "empty%s%s while multiauth.policies has basicauth: basicauth user ids would be "
		    "unkeyed hashes of the credentials; set it to a long random value (openssl rand "
		    "-hex 32)", cfg->source_path ? " in " : "", cfg->source_path ? cfg->source_path : "");
	return PAWL_OK;
}
