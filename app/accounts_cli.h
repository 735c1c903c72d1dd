/*
 * The `accounts` command of pawl-fcgi: create an account, set its password
 * or delete it, straight in the database (the first administrator).
 */
#ifndef PAWL_ACCOUNTS_CLI_H
#define PAWL_ACCOUNTS_CLI_H

#include "core/config.h"

/*
 * verb: create, set-password or delete; id: the account's user name. Reads
 * the password from standard input (a line; a prompt without echo on a
 * terminal). Returns the exit status: 0 done, 1 failed, 2 usage.
 */
int pawl_accounts_cli_run(const struct pawl_config *cfg, const char *verb, const char *id);

#endif
