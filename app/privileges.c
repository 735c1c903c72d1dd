/*
 * Privileges: the socket file's owner and group, then the drop from root to
 * the configured user in the process that binds, before it forks anything,
 * so every worker and the relay inherit the unprivileged ids. Never keeps a
 * way back to root.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privileges.h"

/* A name, or all digits for an id (as chown(1) takes them). */
static bool numeric(const char *s, long *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && *end == '\0' && *out >= 0;
}

/* A system user as found by name or id; gid and login only from a passwd entry. */
struct user {
	uid_t uid;
	gid_t gid;
	char login[256]; /* "" when none, or too long to keep */
};

/*
 * need_entry: the user is to be become (by name, with its groups), so an id
 * with no passwd entry will not do.
 */
static enum pawl_err find_user(const char *setting, const char *name, bool need_entry,
    struct user *out, struct pawl_error *err)
{
	struct passwd *pw;
	long id;

	memset(out, 0, sizeof(*out));
	errno = 0;
	pw = numeric(name, &id) ? getpwuid((uid_t)id) : getpwnam(name);
	if (pw == NULL && numeric(name, &id) && !need_entry) {
		out->uid = (uid_t)id; /* an id with no passwd entry still owns a file */
		return PAWL_OK;
	}
	if (pw == NULL)
		return pawl_error_set(err, PAWL_ERR_CONFIG, "setting '%s': no user '%s' on this "
		    "system%s%s", setting, name, errno ? ": " : "", errno ? strerror(errno) : "");
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	if (strlen(pw->pw_name) < sizeof(out->login))
		memcpy(out->login, pw->pw_name, strlen(pw->pw_name) + 1);
	return PAWL_OK;
}

static enum pawl_err find_group(const char *setting, const char *name, gid_t *gid,
    struct pawl_error *err)
{
	struct group *gr;
	long id;

	if (numeric(name, &id)) {
		*gid = (gid_t)id;
		return PAWL_OK;
	}
	errno = 0;
	if ((gr = getgrnam(name)) == NULL)
		return pawl_error_set(err, PAWL_ERR_CONFIG, "setting '%s': no group '%s' on this "
		    "system%s%s", setting, name, errno ? ": " : "", errno ? strerror(errno) : "");
	*gid = gr->gr_gid;
	return PAWL_OK;
}

enum pawl_err pawl_privileges_socket_opts(const struct pawl_config *cfg,
    struct pawl_fcgi_socket_opts *o, struct pawl_error *err)
{
	struct user u;

	o->mode = cfg->socket_mode;
	o->owner = (uid_t)-1;
	o->group = (gid_t)-1;
	o->backlog = 1024;
	if (cfg->socket_owner != NULL) {
		if (find_user("socket_owner", cfg->socket_owner, false, &u, err) != PAWL_OK)
			return err->code;
		o->owner = u.uid;
	} else if (cfg->user != NULL && geteuid() == 0) {
		/* By default the socket is the serving user's: it can then remove it at stop. */
		if (find_user("user", cfg->user, false, &u, err) != PAWL_OK)
			return err->code;
		o->owner = u.uid;
	}
	if (cfg->socket_group != NULL &&
	    find_group("socket_group", cfg->socket_group, &o->group, err) != PAWL_OK)
		return err->code;
	return PAWL_OK;
}

/* setgroups, setgid, setuid in that order: once the uid is gone the rest is refused. */
static enum pawl_err become(const char *login, uid_t uid, gid_t gid, struct pawl_error *err)
{
	if (initgroups(login, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
		return pawl_error_set(err, PAWL_ERR_CONFIG, "cannot run as user '%s' (uid %ld, "
		    "gid %ld): %s", login, (long)uid, (long)gid, strerror(errno));
	/* Paranoia, as OpenSSH does: the way back must be closed. */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return pawl_error_set(err, PAWL_ERR_CONFIG, "could regain root after becoming '%s'",
		    login);
	return PAWL_OK;
}

enum pawl_err pawl_privileges_drop(const struct pawl_config *cfg, struct pawl_error *err)
{
	struct user u;

	if (cfg->user != NULL) {
		if (find_user("user", cfg->user, true, &u, err) != PAWL_OK ||
		    (cfg->group != NULL && find_group("group", cfg->group, &u.gid, err) != PAWL_OK))
			return err->code;
		if (geteuid() == 0) {
			if (become(u.login, u.uid, u.gid, err) != PAWL_OK)
				return err->code;
		} else if (getuid() != u.uid || geteuid() != u.uid) {
			return pawl_error_set(err, PAWL_ERR_CONFIG, "setting 'user = %s' needs "
			    "pawl-fcgi started as root, or as that user (running as uid %ld)",
			    cfg->user, (long)geteuid());
		}
	} else if (cfg->group != NULL) {
		return pawl_error_set(err, PAWL_ERR_CONFIG, "setting 'group' needs 'user' too");
	}
	if ((getuid() == 0 || geteuid() == 0) && !cfg->allow_root)
		return pawl_error_set(err, PAWL_ERR_CONFIG, "refusing to serve as root: set 'user' "
		    "(e.g. user = pawl) so pawl-fcgi drops privileges after binding, start it "
		    "unprivileged (spawn-fcgi -u/-g), or set allow_root = true");
	return PAWL_OK;
}
