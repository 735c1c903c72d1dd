/*
 * Who pawl-fcgi runs as. Started as root it binds first (or takes
 * spawn-fcgi's socket on fd 0), then becomes `user`/`group` before any
 * worker exists; it refuses to serve as root unless `allow_root = true`.
 */
#ifndef PAWL_PRIVILEGES_H
#define PAWL_PRIVILEGES_H

#include "core/config.h"
#include "core/err.h"
#include "http/fcgi.h"

/*
 * Fills o from socket_mode, socket_owner and socket_group (names or numeric
 * ids); without socket_owner, a root start gives the socket to `user`.
 * PAWL_ERR_CONFIG naming the setting when a name is unknown.
 */
enum pawl_err pawl_privileges_socket_opts(const struct pawl_config *cfg,
    struct pawl_fcgi_socket_opts *o, struct pawl_error *err);

/*
 * Becomes cfg->user (its groups from initgroups, cfg->group or the user's
 * primary group as the group) when started as root; a non-root start may
 * only name itself. Then refuses (PAWL_ERR_CONFIG) to go on as root unless
 * allow_root is set. Irreversible: the saved set-user-ID is dropped too.
 */
enum pawl_err pawl_privileges_drop(const struct pawl_config *cfg, struct pawl_error *err);

#endif
