/*
 * pawl-fcgi: argv → config → listening socket → supervisor or single worker;
 * or the `migrate` and `check` commands. Exits 2 on a usage or config error,
 * with a message naming what is wrong; never starts half-configured.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts_cli.h"
#include "app.h"
#include "core/config.h"
#include "http/fcgi.h"
#include "core/log.h"
#include "metrics_shm.h"
#include "store/migrate.h"
#include "store/pg.h"
#include "privileges.h"
#include "events/relay.h"
#include "events/history.h"
#include "core/arena.h"
#include "supervisor.h"
#include "systemd.h"
#include "worker.h"

/* The most --workers accepts: a bound that stops a typo (-w 5000) before it forks. */
#define WORKERS_MAX 512

extern char **environ;

static void usage(FILE *f)
{
	fputs("usage: pawl-fcgi [serve] -c FILE [--listen unix:PATH|HOST:PORT] [--workers N]\n"
	    "       pawl-fcgi migrate -c FILE\n"
	    "       pawl-fcgi relay -c FILE\n"
	    "       pawl-fcgi history-trim -c FILE\n"
	    "       pawl-fcgi check -c FILE [--connect]\n"
	    "       pawl-fcgi accounts create|set-password|delete -c FILE ID  (password on stdin)\n"
	    "       pawl-fcgi help | --help | --version\n"
	    "\n"
	    "-c FILE defaults to the PAWL_CONFIG environment variable; PAWL_<KEY> variables\n"
	    "override single settings (PAWL_USERID_HMAC_SECRET for userid_hmac_secret).\n"
	    "The socket: the one systemd passes (socket activation, LISTEN_FDS: it wins\n"
	    "over --listen), else --listen's, else the one inherited on fd 0 (spawn-fcgi).\n"
	    "With --workers N, preforks N workers and supervises them: respawn on crash,\n"
	    "graceful stop on SIGTERM, config reload and worker replacement on SIGHUP;\n"
	    "it also runs the outbox relay when a Redis listener is configured.\n"
	    "Started as root, it binds, then runs as the `user` setting (or refuses unless\n"
	    "allow_root = true).\n"
	    "`relay` delivers outbox events left behind (for setups without --workers).\n"
	    "`history-trim` trims history as history_max_age_seconds and\n"
	    "history_max_per_bucket say, until nothing is left (the relay does it too).\n"
	    "Started by systemd (NOTIFY_SOCKET), the supervisor and `relay` tell it\n"
	    "READY=1, RELOADING=1, STOPPING=1 and, under WatchdogSec=, WATCHDOG=1.\n"
	    "`check` validates the file without side effects (plugins are loaded, not run);\n"
	    "with --connect it also connects to PostgreSQL (schema version) and Redis.\n", f);
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error: the reason, then the usage, exit 2. */
static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("pawl-fcgi: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	usage(stderr);
	return 2;
}

/* history-trim: bounded passes until nothing is left to trim (README, "History"). */
static int run_history_trim(const struct pawl_config *cfg)
{
	struct pawl_pg *pg = pawl_pg_new(cfg);
	struct pawl_arena *arena = pawl_arena_new(16 * 1024);
	struct pawl_history_trim t = { .more = false };
	struct pawl_error err;
	long long total = 0;
	int status = 0;

	if (!pawl_history_trims(cfg)) {
		fprintf(stderr, "pawl-fcgi history-trim: nothing to do: history_enabled is off or "
		    "neither history_max_age_seconds nor history_max_per_bucket is set\n");
		status = pg != NULL && arena != NULL ? 0 : 1;
	}
	/* One whole round: until no batch is left full and the cursor is back at the start. */
	for (bool first = true; status == 0 && pawl_history_trims(cfg) && pg != NULL && arena != NULL &&
	    (first || t.more || t.cursor[0] != '\0'); first = false) {
		if (pawl_history_trim_step(cfg, pg, arena, &t, &err) != PAWL_OK) {
			fprintf(stderr, "pawl-fcgi history-trim: %s\n", err.message);
			status = 1;
		}
		total += t.removed;
		pawl_arena_reset(arena);
	}
	if (pg == NULL || arena == NULL)
		status = 1;
	if (status == 0)
		printf("history: %lld entries trimmed\n", total);
	pawl_arena_free(arena);
	pawl_pg_free(pg);
	return status;
}

static int run_migrate(const struct pawl_config *cfg)
{
	struct pawl_pg *pg = pawl_pg_new(cfg);
	struct pawl_error err;
	unsigned applied = 0;
	int status = 1;

	if (pg == NULL)
		return 1;
	if (pawl_migrate_run(pg, &applied, &err) != PAWL_OK) {
		fprintf(stderr, "pawl-fcgi migrate: %s\n", err.message);
	} else {
		printf("schema at version %u (%u migration%s applied)\n", pawl_migrate_latest(),
		    applied, applied == 1 ? "" : "s");
		status = 0;
	}
	pawl_pg_free(pg);
	return status;
}

/* The full load, as the user that serves: a plugin's files get that owner. */
static int preload(const struct pawl_config *cfg)
{
	struct pawl_error err;
	struct pawl_app *app = pawl_app_new(cfg, &err);

	if (app == NULL) {
		fprintf(stderr, "pawl-fcgi: %s\n", err.message);
		return 2;
	}
	pawl_app_free(app);
	return 0;
}

/*
 * A server's log goes to log_file once it runs as its own user (the file is
 * then that user's to reopen on SIGUSR1); until then, what stops the start is
 * said on the terminal. The config's warnings go where the log goes.
 */
static int open_log_file(const struct pawl_config *cfg)
{
	if (pawl_log_open(cfg->log_file) != 0) {
		fprintf(stderr, "pawl-fcgi: cannot open log_file '%s': %s\n", cfg->log_file,
		    strerror(errno));
		return 2;
	}
	pawl_config_log_warnings(cfg);
	return 0;
}

/*
 * The counters' block, mapped as the serving user (a metrics_shm_file is
 * created theirs): by the supervisor for all its children, else for this
 * process. An unusable file stops the start, naming it.
 */
static int attach_metrics(const struct pawl_config *cfg, bool for_children)
{
	struct pawl_error err;

	if (pawl_metrics_shm_attach(cfg, for_children, &err) == PAWL_OK)
		return 0;
	fprintf(stderr, "pawl-fcgi: %s\n", err.message);
	return err.code == PAWL_ERR_CONFIG ? 2 : 1;
}

/*
 * The socket to serve on: systemd's (socket activation), else --listen's,
 * else spawn-fcgi's fd 0. *listen becomes NULL unless this process made the
 * socket, which it then removes at the end: a socket systemd holds outlives
 * every restart of the service. Returns 0 or the exit status.
 */
static int take_socket(const struct pawl_config *cfg, const char **listen,
    struct pawl_fcgi_socket *sock)
{
	struct pawl_fcgi_socket_opts o;
	struct pawl_error err;
	int fd;

	if (pawl_systemd_listen_fd(&fd, &err) != PAWL_OK) {
		fprintf(stderr, "pawl-fcgi: %s\n", err.message);
		*listen = NULL;
		return 2;
	}
	if (fd >= 0) {
		if (*listen != NULL)
			fprintf(stderr, "pawl-fcgi: serving on the socket systemd passed; --listen %s "
			    "ignored\n", *listen);
		*listen = NULL;
		sock->fd = fd;
		return 0;
	}
	if (*listen != NULL) {
		if (pawl_privileges_socket_opts(cfg, &o, &err) != PAWL_OK ||
		    pawl_fcgi_listen(*listen, &o, sock, &err) != PAWL_OK) {
			fprintf(stderr, "pawl-fcgi: %s\n", err.message);
			*listen = NULL;
			return err.code == PAWL_ERR_CONFIG ? 2 : 1;
		}
		return 0;
	}
	if (!pawl_fcgi_is_listener(0)) {
		fprintf(stderr, "pawl-fcgi: fd 0 is not a listening socket: start me under "
		    "spawn-fcgi or systemd (a .socket unit), or give --listen\n");
		return 2;
	}
	return 0;
}

/* Takes its socket, drops privileges, then serves; removes its own socket at the end. */
static int serve(const char *path, struct pawl_config *cfg, const char *listen, long workers)
{
	struct pawl_fcgi_socket sock = { .fd = 0 };
	struct pawl_error err;
	int status = 1;

	if (pawl_fcgi_init() != 0) {
		fprintf(stderr, "pawl-fcgi: FastCGI initialisation failed\n");
		listen = NULL;
		goto out;
	}
	if ((status = take_socket(cfg, &listen, &sock)) != 0)
		goto out;
	if (pawl_privileges_drop(cfg, &err) != PAWL_OK) {
		fprintf(stderr, "pawl-fcgi: %s\n", err.message);
		status = 2;
		goto out;
	}
	if ((status = open_log_file(cfg)) != 0 || (status = preload(cfg)) != 0 ||
	    (status = attach_metrics(cfg, workers > 0)) != 0)
		goto out;
	if (workers > 0) {
		status = pawl_supervisor_run(path, cfg, sock.fd, (int)workers);
		cfg = NULL; /* the supervisor's now, freed by it */
	} else {
		status = pawl_worker_run(cfg, sock.fd, -1, -1);
	}
out:
	if (listen != NULL)
		pawl_fcgi_unlisten(&sock);
	pawl_config_free(cfg);
	return status;
}

/* The standalone relay tells systemd it is up, alive and stopping (pawl-relay.service). */
static void relay_report(void *arg, enum pawl_relay_event event)
{
	if (event == PAWL_RELAY_READY)
		pawl_systemd_ready("delivering outbox events");
	else if (event == PAWL_RELAY_ALIVE)
		pawl_systemd_watchdog_kick(arg);
	else
		pawl_systemd_stopping("stopping");
}

static int run_relay(const struct pawl_config *cfg)
{
	struct pawl_systemd_watchdog watchdog;
	struct pawl_relay_report r = { .fn = relay_report, .arg = &watchdog };

	if (cfg->readonly) {
		/* Delivering means deleting outbox rows: a read-only host has none to deliver. */
		fprintf(stderr, "pawl-fcgi relay: readonly = true: nothing to deliver from a "
		    "read-only host; run the relay with a writable host's configuration\n");
		return 1;
	}
	pawl_systemd_watchdog_init(&watchdog);
	r.alive_ms = watchdog.every_ms > INT_MAX ? INT_MAX : (int)watchdog.every_ms;
	return pawl_relay_serve(cfg, -1, &r);
}

static bool known_command(const char *c)
{
	static const char *const commands[] = { "serve", "migrate", "check", "relay", "accounts",
	    "history-trim", NULL };
	size_t i;

	for (i = 0; commands[i] != NULL; i++)
		if (strcmp(c, commands[i]) == 0)
			return true;
	return false;
}

/* What the command does once its config is loaded and checked. */
static int run(const char *command, const char *path, struct pawl_config *cfg,
    const char *listen, long workers, bool connect)
{
	struct pawl_error err;
	int status;

	if (strcmp(command, "serve") == 0)
		return serve(path, cfg, listen, workers);
	if (strcmp(command, "relay") != 0)
		pawl_config_log_warnings(cfg);
	if (strcmp(command, "check") == 0) {
		status = connect ? pawl_check_connect(cfg, stdout) : 0;
		if (status == 0)
			printf("%s: configuration OK\n", path);
	} else if (strcmp(command, "migrate") == 0) {
		status = run_migrate(cfg);
	} else if (strcmp(command, "history-trim") == 0) {
		status = run_history_trim(cfg);
	} else if (pawl_privileges_drop(cfg, &err) != PAWL_OK) {
		fprintf(stderr, "pawl-fcgi: %s\n", err.message);
		status = 2;
	} else if ((status = open_log_file(cfg)) == 0 && (status = attach_metrics(cfg, false)) == 0) {
		status = run_relay(cfg);
	}
	pawl_config_free(cfg);
	return status;
}

/* What the command line asked for. */
struct invocation {
	const char *command;
	const char *path;   /* -c, else PAWL_CONFIG */
	const char *listen; /* --listen */
	long workers;       /* --workers, 0: none */
	bool connect;       /* check --connect */
	char **operands;    /* accounts: verb and id */
};

/* The combinations of command, options and operands that make sense. */
static int check_args(const struct invocation *inv, int n_operands)
{
	bool accounts = strcmp(inv->command, "accounts") == 0;

	/* `accounts` alone takes operands: its verb and the account's id. */
	if (accounts && n_operands != 2)
		return bad_usage("accounts needs a verb and an account id");
	if (!accounts && n_operands != 0)
		return bad_usage("unexpected argument '%s'", inv->operands[0]);
	if (inv->path == NULL || *inv->path == '\0')
		return bad_usage("no configuration file: give -c FILE or set PAWL_CONFIG");
	if (inv->connect && strcmp(inv->command, "check") != 0)
		return bad_usage("--connect goes with check, not with %s", inv->command);
	if ((inv->listen != NULL || inv->workers > 0) && strcmp(inv->command, "serve") != 0)
		return bad_usage("--listen and --workers go with serve, not with %s", inv->command);
	return -1;
}

/* Parses argv into *inv; returns -1 when the program goes on, else its exit status. */
static int parse_args(int argc, char **argv, struct invocation *inv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "connect", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	if (argc > 1 && argv[1][0] != '-') {
		inv->command = argv[1];
		argv++;
		argc--;
	}
	if (strcmp(inv->command, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (!known_command(inv->command))
		return bad_usage("unknown command '%s'", inv->command);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:l:w:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': inv->path = optarg; break;
		case 'l': inv->listen = optarg; break;
		case 'C': inv->connect = true; break;
		case 'w':
			inv->workers = strtol(optarg, &end, 10);
			if (*end != '\0' || inv->workers < 1 || inv->workers > WORKERS_MAX)
				return bad_usage("--workers must be between 1 and %d, got '%s'", WORKERS_MAX,
				    optarg);
			break;
		case 'V': printf("pawl-fcgi %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		case ':': return bad_usage("option '%s' needs a value", argv[optind - 1]);
		default: return bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	inv->operands = argv + optind;
	return check_args(inv, argc - optind);
}

int main(int argc, char **argv)
{
	struct invocation inv = { .command = "serve", .path = getenv("PAWL_CONFIG") };
	struct pawl_config *cfg;
	struct pawl_error err;
	int status;

	if ((status = parse_args(argc, argv, &inv)) >= 0)
		return status;
	if ((cfg = pawl_config_load(inv.path, environ, &err)) == NULL) {
		fprintf(stderr, "pawl-fcgi: %s\n", err.message);
		return 2;
	}
	pawl_log_configure(cfg->log_level, cfg->log_format);
	/*
	 * What only shows when the pieces meet (plugins that must load, the
	 * version file, resource patterns, eos) is checked before anything
	 * binds or connects, so a bad config stops the start instead of
	 * crash-looping the workers. Nothing is opened: as root, a plugin's file
	 * would be created root's before the drop to `user`.
	 */
	if (pawl_app_check(cfg, &err) != PAWL_OK) {
		fprintf(stderr, "pawl-fcgi: %s\n", err.message);
		pawl_config_free(cfg);
		return 2;
	}
	if (strcmp(inv.command, "accounts") == 0) {
		pawl_config_log_warnings(cfg);
		status = pawl_accounts_cli_run(cfg, inv.operands[0], inv.operands[1]);
		pawl_config_free(cfg);
		return status;
	}
	return run(inv.command, inv.path, cfg, inv.listen, inv.workers, inv.connect);
}
