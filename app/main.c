/*
 * pawl-fcgi: argv → config → listening socket → supervisor or single worker;
 * or the `migrate` and `check` commands. Exits 2 on a usage or config error,
 * with a message naming what is wrong; never starts half-configured.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pawl/accounts_cli.h"
#include "pawl/app.h"
#include "pawl/config.h"
#include "pawl/fcgi.h"
#include "pawl/log.h"
#include "pawl/migrate.h"
#include "pawl/pg.h"
#include "pawl/relay.h"
#include "pawl/supervisor.h"
#include "pawl/worker.h"

extern char **environ;

static void usage(FILE *f)
{
	fputs("usage: pawl-fcgi [serve] -c FILE [--listen unix:PATH|HOST:PORT] [--workers N]\n"
	    "       pawl-fcgi migrate -c FILE\n"
	    "       pawl-fcgi relay -c FILE\n"
	    "       pawl-fcgi check -c FILE\n"
	    "       pawl-fcgi accounts create|set-password|delete -c FILE ID  (password on stdin)\n"
	    "       pawl-fcgi --version\n"
	    "\n"
	    "Without --listen, serves FastCGI on the socket inherited on fd 0 (spawn-fcgi).\n"
	    "With --workers N, preforks N workers and supervises them: respawn on crash,\n"
	    "graceful stop on SIGTERM, config reload and worker replacement on SIGHUP;\n"
	    "it also runs the outbox relay when a Redis listener is configured.\n"
	    "`relay` delivers outbox events left behind (for setups without --workers).\n", f);
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

static int serve(const char *path, struct pawl_config *cfg, const char *listen, long workers)
{
	struct pawl_error err;
	int fd = 0, status;

	if (pawl_fcgi_init() != 0) {
		fprintf(stderr, "pawl-fcgi: FastCGI initialisation failed\n");
		return 1;
	}
	if (listen != NULL) {
		if (pawl_fcgi_listen(listen, cfg->socket_mode, 1024, &fd, &err) != PAWL_OK) {
			fprintf(stderr, "pawl-fcgi: %s\n", err.message);
			return 1;
		}
	} else if (!pawl_fcgi_is_listener(0)) {
		fprintf(stderr, "pawl-fcgi: fd 0 is not a listening socket: start me under "
		    "spawn-fcgi, or give --listen\n");
		return 2;
	}
	if (workers > 0)
		return pawl_supervisor_run(path, cfg, fd, (int)workers);
	status = pawl_worker_run(cfg, fd, -1, -1);
	pawl_config_free(cfg);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("PAWL_CONFIG"), *listen = NULL, *command = "serve";
	struct pawl_config *cfg;
	struct pawl_app *app;
	struct pawl_error err;
	long workers = 0;
	char *end;
	int c, status;

	if (argc > 1 && argv[1][0] != '-') {
		command = argv[1];
		argv++;
		argc--;
	}
	while ((c = getopt_long(argc, argv, "c:l:w:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'l': listen = optarg; break;
		case 'w':
			workers = strtol(optarg, &end, 10);
			if (*end != '\0' || workers < 1 || workers > 512) {
				fprintf(stderr, "pawl-fcgi: --workers must be between 1 and 512\n");
				return 2;
			}
			break;
		case 'V': printf("pawl-fcgi %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	/* `accounts` alone takes operands: its verb and the account's id. */
	if (argc - optind != (strcmp(command, "accounts") == 0 ? 2 : 0) || path == NULL ||
	    (strcmp(command, "serve") != 0 && strcmp(command, "migrate") != 0 &&
	    strcmp(command, "check") != 0 && strcmp(command, "relay") != 0 &&
	    strcmp(command, "accounts") != 0)) {
		usage(stderr);
		return 2;
	}
	if ((cfg = pawl_config_load(path, environ, &err)) == NULL) {
		fprintf(stderr, "pawl-fcgi: %s\n", err.message);
		return 2;
	}
	pawl_log_configure(cfg->log_level, cfg->log_format);
	/* check and migrate write to the terminal; a server to its log file, if any. */
	if ((strcmp(command, "serve") == 0 || strcmp(command, "relay") == 0) &&
	    pawl_log_open(cfg->log_file) != 0) {
		fprintf(stderr, "pawl-fcgi: cannot open log_file '%s': %s\n", cfg->log_file,
		    strerror(errno));
		pawl_config_free(cfg);
		return 2;
	}
	pawl_config_log_warnings(cfg);
	/*
	 * What only shows when the pieces meet (plugins that must load, the
	 * version file, resource patterns, eos) is checked here too, so a bad
	 * config stops the start instead of crash-looping the workers.
	 */
	if ((app = pawl_app_new(cfg, &err)) == NULL) {
		fprintf(stderr, "pawl-fcgi: %s\n", err.message);
		pawl_config_free(cfg);
		return 2;
	}
	pawl_app_free(app);
	if (strcmp(command, "check") == 0) {
		printf("%s: configuration OK\n", path);
		status = 0;
	} else if (strcmp(command, "migrate") == 0) {
		status = run_migrate(cfg);
	} else if (strcmp(command, "accounts") == 0) {
		status = pawl_accounts_cli_run(cfg, argv[optind], argv[optind + 1]);
	} else if (strcmp(command, "relay") == 0) {
		status = pawl_relay_run(cfg, -1);
	} else {
		return serve(path, cfg, listen, workers);
	}
	pawl_config_free(cfg);
	return status;
}
