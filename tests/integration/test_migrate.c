/*
 * `pawl-fcgi migrate` run by several processes at once, as web heads that
 * start together do: on a fresh database, directly and through PgBouncer in
 * transaction mode (docs/deployment.md, PgBouncer). Every process exits 0,
 * each migration is applied once, and no advisory lock is left held: through
 * a transaction pooler a session lock taken by one transaction and released
 * by another can land on two server sessions, and the pool would keep the
 * first one's lock for ever (the next migrate then waits on it).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "resource_util.h"

#define PARALLEL 6
#define MIGRATE_S 60 /* one migrate's bound (timeout(1)): a lock never released hangs */

static char dir[4096];
static pid_t pgb_pid;
static int pgb_port;

/* A fresh database's name (also made), or false. */
static bool fresh_database(char *name, size_t size)
{
	unique_id(name, size, "mig");
	return harness_psql(ru_fmt("CREATE DATABASE %s", name), NULL, 0);
}

/*
 * Runs `n` migrates at once against conninfo (each as `timeout MIGRATE_S`;
 * pooled: with storage_prepared_statements = false), their exit statuses
 * into rc; the output of the first that failed into out.
 */
static void migrate_together(const char *conninfo, bool pooled, int n, int *rc, char *out,
			     size_t size)
{
	pid_t pids[PARALLEL];

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if ((pids[i] = fork()) == 0) {
			char log[4200], ini[4200];

			snprintf(log, sizeof log, "%s/migrate-%d.log", dir, i);
			snprintf(ini, sizeof ini, "%s/pawl.ini", harness_state_dir());
			if (freopen(log, "w", stdout) == NULL || dup2(1, 2) < 0)
				_exit(126);
			setenv("PAWL_STORAGE_URL", conninfo, 1);
			/* As an admin sets it behind a transaction pooler (docs/deployment.md). */
			if (pooled)
				setenv("PAWL_STORAGE_PREPARED_STATEMENTS", "false", 1);
			execlp("timeout", "timeout", ru_fmt("%d", MIGRATE_S), getenv("PAWL_BIN"),
			       "migrate", "-c", ini, (char *)NULL);
			_exit(127);
		}
	}
	for (int i = 0; i < n; i++) {
		int st = 0;

		rc[i] = pids[i] > 0 && waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) ?
			WEXITSTATUS(st) : -1;
		if (rc[i] != 0 && out[0] == '\0') {
			char log[4200];
			FILE *f;

			snprintf(log, sizeof log, "%s/migrate-%d.log", dir, i);
			if ((f = fopen(log, "r")) != NULL) {
				size_t got = fread(out, 1, size - 1, f);

				out[got] = '\0';
				fclose(f);
			}
		}
	}
}

/* SQL on database db of the stack's PostgreSQL (not through PgBouncer): its first line. */
static bool psql_on(const char *db, const char *sql, char *out, size_t size)
{
	char cmd[8192];
	FILE *p;

	snprintf(cmd, sizeof cmd, "psql -X -q -tA -h 127.0.0.1 -p %s -U postgres -d %s -c \"%s\" 2>&1",
		 getenv("PAWL_PG_PORT"), db, sql);
	if ((p = popen(cmd, "r")) == NULL)
		return false;
	if (fgets(out, (int)size, p) == NULL)
		out[0] = '\0';
	while (fgetc(p) != EOF)
		;
	out[strcspn(out, "\n")] = '\0';
	return pclose(p) == 0;
}

/* Each migration once, the latest there; no advisory lock held on db; CHECKs, what names the case. */
static void check_migrated(const char *db, const char *what)
{
	char out[512], locks[512], latest[64] = "";

	/* The stack's own database was migrated by the same binary. */
	CU_ASSERT_FATAL(harness_psql("SELECT max(version) FROM pawl_migrations", latest,
				     sizeof latest));
	CHECK(psql_on(db, ru_fmt("SELECT count(*) = count(DISTINCT version) AND count(*) = %s "
				 "AND max(version) = %s FROM pawl_migrations", latest, latest),
		      out, sizeof out) && strcmp(out, "t") == 0,
	      "%s: pawl_migrations is not each of the %s migrations once: %s", what, latest, out);
	CHECK(harness_psql(ru_fmt("SELECT count(*) FROM pg_locks l JOIN pg_database d ON "
				      "d.oid = l.database WHERE l.locktype = 'advisory' AND "
				      "d.datname = '%s'", db), locks, sizeof locks) &&
	      strcmp(locks, "0") == 0, "%s: %s advisory lock(s) still held after migrate", what, locks);
}

static void test_parallel_direct(void)
{
	char db[64], url[512], out[4096];
	int rc[PARALLEL];

	CU_ASSERT_FATAL(fresh_database(db, sizeof db));
	snprintf(url, sizeof url, "host=127.0.0.1 port=%s user=postgres dbname=%s",
		 getenv("PAWL_PG_PORT"), db);
	migrate_together(url, false, PARALLEL, rc, out, sizeof out);
	for (int i = 0; i < PARALLEL; i++)
		CHECK(rc[i] == 0, "migrate %d of %d at once exited %d: %.600s", i, PARALLEL, rc[i], out);
	check_migrated(db, "direct");
}

/* PgBouncer (transaction mode, 3 server connections) in front of the stack's PostgreSQL. */
static bool pgb_start(void)
{
	char ini[4200], users[4200], text[16384];
	int port[1];
	FILE *f;

	if (harness_free_ports(port, 1) != 0)
		return false;
	pgb_port = port[0];
	snprintf(ini, sizeof ini, "%s/pgbouncer.ini", dir);
	snprintf(users, sizeof users, "%s/userlist.txt", dir);
	snprintf(text, sizeof text,
		 "[databases]\n* = host=127.0.0.1 port=%s\n[pgbouncer]\n"
		 "listen_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir =\n"
		 "auth_type = trust\nauth_file = %s\npool_mode = transaction\n"
		 "default_pool_size = 3\nmax_client_conn = 50\n"
		 /* libpq's options (pawl's statement_timeout): PgBouncer refuses it otherwise. */
		 "ignore_startup_parameters = options\n"
		 "logfile = %s/pgbouncer.log\npidfile = %s/pgbouncer.pid\n",
		 getenv("PAWL_PG_PORT"), pgb_port, users, dir, dir);
	if ((f = fopen(ini, "w")) == NULL || fputs(text, f) < 0 || fclose(f) != 0 ||
	    (f = fopen(users, "w")) == NULL || fputs("\"postgres\" \"\"\n", f) < 0 || fclose(f) != 0)
		return false;
	if ((pgb_pid = fork()) == 0) {
		/* PgBouncer refuses to run as root. */
		if (geteuid() == 0)
			execlp("runuser", "runuser", "-u", "postgres", "--", "pgbouncer", ini, (char *)NULL);
		else
			execlp("pgbouncer", "pgbouncer", ini, (char *)NULL);
		_exit(127);
	}
	for (long waited = 0; waited < 10000; waited += 100) {
		char cmd[512];

		snprintf(cmd, sizeof cmd, "psql -X -q -tA -h 127.0.0.1 -p %d -U postgres -d pawl "
			 "-c 'SELECT 1' >/dev/null 2>&1", pgb_port);
		if (system(cmd) == 0)
			return true;
		if (!pid_alive(pgb_pid))
			return false;
		sleep_ms(100);
	}
	return false;
}

static void test_parallel_pgbouncer(void)
{
	char db[64], url[512], out[4096];
	int rc[PARALLEL];

	CU_ASSERT_FATAL(fresh_database(db, sizeof db));
	CHECK(pgb_start(), "PgBouncer did not start (tests/setup.sh installs it; see %s)", dir);
	if (pgb_pid <= 0 || !pid_alive(pgb_pid))
		return;
	snprintf(url, sizeof url, "host=127.0.0.1 port=%d user=postgres dbname=%s", pgb_port, db);
	/* Twice: the second round meets whatever the first left in the pool. */
	for (int round = 0; round < 2; round++) {
		migrate_together(url, true, PARALLEL, rc, out, sizeof out);
		for (int i = 0; i < PARALLEL; i++)
			CHECK(rc[i] == 0, "round %d: migrate %d of %d through PgBouncer exited %d "
			      "(124: still waiting after %d s): %.600s", round, i, PARALLEL, rc[i],
			      MIGRATE_S, out);
		check_migrated(db, round == 0 ? "PgBouncer, round 1" : "PgBouncer, round 2");
	}
}

static int suite_init(void)
{
	snprintf(dir, sizeof dir, "%s/migrate", harness_state_dir());
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -1;
	/* PgBouncer runs as postgres when the tests run as root: its folder must be its own. */
	if (geteuid() == 0 && system(ru_fmt("chown postgres '%s'", dir)) != 0)
		return -1;
	return 0;
}

static int suite_clean(void)
{
	char pidfile[4200];
	FILE *f;
	long pid = 0;

	/* PgBouncer itself (runuser's child when the tests run as root), then runuser. */
	snprintf(pidfile, sizeof pidfile, "%s/pgbouncer.pid", dir);
	if ((f = fopen(pidfile, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) == 1 && pid > 1)
			kill((pid_t)pid, SIGTERM);
		fclose(f);
	}
	if (pgb_pid > 0) {
		kill(pgb_pid, SIGTERM);
		waitpid(pgb_pid, NULL, 0);
		pgb_pid = 0;
	}
	return 0;
}

void test_migrate_register(void)
{
	CU_pSuite s = CU_add_suite("migrate", suite_init, suite_clean);

	CU_add_test(s, "six migrates at once on a fresh database: each migration once",
		    test_parallel_direct);
	CU_add_test(s, "six at once through PgBouncer (transaction mode), twice: no lock left",
		    test_parallel_pgbouncer);
}
