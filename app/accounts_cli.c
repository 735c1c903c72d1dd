/*
 * `pawl-fcgi accounts create|set-password|delete -c FILE ID`: the first
 * administrator, as Kinto's `create-user`. The password comes from standard
 * input (one line) or a prompt without echo, never from argv, and is hashed
 * before anything else sees it. Writes the account and its ACL in one
 * transaction, as the API does; stages no event (no request made it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>

#include "resource/accounts.h"
#include "accounts_cli.h"
#include "store/acl.h"
#include "core/crypto.h"
#include "core/json.h"
#include "store/objects.h"
#include "store/pg.h"
#include "resource/resource.h"
#include "txn/txn.h"

#define PASSWORD_MAX 1024

/* One line from fd 0 into buf, without echo when it is a terminal. False when empty. */
static bool read_password(char *buf, size_t size)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	size_t len;
	bool ok;

	if (tty) {
		fputs("Password: ", stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	ok = fgets(buf, (int)size, stdin) != NULL;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	len = ok ? strlen(buf) : 0;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	return len > 0;
}

/* The account's data with password set to hash, as JSON text (id and timestamp left out). */
static const char *with_password(struct pawl_arena *arena, const struct pawl_object *old,
    const char *hash, struct pawl_error *err)
{
	json_object *data = NULL;
	size_t len;

	if (old != NULL && pawl_resource_parse_stored(arena, old->id, old->data, &data, err) != PAWL_OK)
		return NULL;
	if (data == NULL && (data = pawl_json_own(arena, json_object_new_object())) == NULL)
		return NULL;
	json_object_object_del(data, "id");
	json_object_object_del(data, "last_modified");
	json_object_object_add(data, "password", json_object_new_string(hash));
	return pawl_json_compact(arena, data, &len);
}

static enum pawl_err apply(struct pawl_pg *pg, struct pawl_arena *arena, const char *verb,
    const char *id, const char *hash, struct pawl_error *err)
{
	struct pawl_list_key key = { "", PAWL_ACCOUNTS_RESOURCE };
	const struct pawl_store_item it = { .key = &key, .id = id, .lock = true };
	const char *uri = pawl_arena_printf(arena, "/accounts/%s", id), *data;
	struct pawl_object old, obj;
	bool found = false, create = strcmp(verb, "create") == 0;
	long long ts;
	enum pawl_err rc;

	if ((rc = pawl_objects_get(pg, arena, &it, &old, &found, err)) != PAWL_OK)
		return rc;
	found = found && !old.deleted;
	if (create && found)
		return pawl_error_set(err, PAWL_ERR_CONFLICT, "account '%s' exists (use set-password)", id);
	if (!create && !found)
		return pawl_error_set(err, PAWL_ERR_NOT_FOUND, "no account '%s'", id);
	if (strcmp(verb, "delete") == 0) {
		if ((rc = pawl_objects_bump(pg, arena, &key, 0, &ts, err)) != PAWL_OK ||
		    (rc = pawl_objects_delete(pg, arena,
		    &(struct pawl_store_item){ .key = &key, .id = id, .ts = ts }, &obj, err)) != PAWL_OK)
			return rc;
		return pawl_acl_delete_tree(pg, arena, uri, err);
	}
	if ((data = with_password(arena, found ? &old : NULL, hash, err)) == NULL)
		return err->code != PAWL_OK ? err->code : pawl_error_nomem(err);
	/* Writable by itself, as an account created through the API. */
	if ((rc = pawl_acl_replace(pg, arena, &(struct pawl_acl_change){ uri, NULL,
	    pawl_accounts_principal(arena, id), false }, err)) != PAWL_OK)
		return rc;
	return pawl_objects_put(pg, arena, &(struct pawl_store_item){ .key = &key, .id = id,
	    .data = data }, &obj, err);
}

int pawl_accounts_cli_run(const struct pawl_config *cfg, const char *verb, const char *id)
{
	char password[PASSWORD_MAX] = "", hash[256] = "";
	struct pawl_arena *arena = NULL;
	struct pawl_pg *pg = NULL;
	struct pawl_txn txn;
	struct pawl_error err;
	int status = 1;

	pawl_error_clear(&err);
	if ((strcmp(verb, "create") != 0 && strcmp(verb, "set-password") != 0 &&
	    strcmp(verb, "delete") != 0) || !pawl_resource_id_valid(id)) {
		fprintf(stderr, "usage: pawl-fcgi accounts create|set-password|delete -c FILE ID "
		    "(ID: letters, digits, '-' and '_')\n");
		return 2;
	}
	if (!pawl_config_has_policy(cfg, "account"))
		fprintf(stderr, "pawl-fcgi accounts: note: multiauth.policies has no `account`: "
		    "the account cannot log in until it does\n");
	if (strcmp(verb, "delete") != 0) {
		if (!read_password(password, sizeof(password))) {
			fprintf(stderr, "pawl-fcgi accounts: no password on standard input\n");
			return 2;
		}
		if (pawl_accounts_hash(password, hash, sizeof(hash), &err) != PAWL_OK)
			goto out;
	}
	if ((arena = pawl_arena_new(16384)) == NULL || (pg = pawl_pg_new(cfg)) == NULL) {
		pawl_error_nomem(&err);
		goto out;
	}
	/* No listeners: an account changed from the command line sends no event. */
	pawl_txn_init(&txn, arena, &(struct pawl_txn_env){ .pg = pg, .relay_wake_fd = -1 });
	if (pawl_pg_connect(pg, true, &err) != PAWL_OK || pawl_txn_begin(&txn, &err) != PAWL_OK)
		goto out;
	if (apply(pg, arena, verb, id, hash, &err) != PAWL_OK) {
		pawl_txn_abort(&txn);
		goto out;
	}
	if (pawl_txn_commit(&txn, &err) != PAWL_OK)
		goto out;
	printf("account:%s %s\n", id, strcmp(verb, "create") == 0 ? "created" :
	    strcmp(verb, "delete") == 0 ? "deleted" : "password changed");
	status = 0;
out:
	if (status != 0)
		fprintf(stderr, "pawl-fcgi accounts %s: %s\n", verb, err.message);
	pawl_secure_zero(password, sizeof(password));
	pawl_pg_free(pg);
	pawl_arena_free(arena);
	return status;
}
