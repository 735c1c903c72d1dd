/* The pawl-fcgi supervisor under spawn-fcgi: a killed worker is replaced,
 * SIGHUP replaces every worker, and nginx never notices either; a reload
 * that could not serve is refused or rolled back, and SIGUSR1 is harmless. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "events_util.h"
#include "resource_util.h"

#define MAX_KIDS 64
#define RESPAWN_MS 10000

static bool contains(const pid_t *set, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == pid)
			return true;
	return false;
}

/* n requests in a row, alternating two endpoints; returns how many got 200. */
static int requests_ok(int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += http_status(i % 2 ? "/v1/" : "/v1/__lbheartbeat__") == 200;
	return ok;
}

static void test_killed_worker_respawns(void)
{
	pid_t sup = supervisor_pid(), before[MAX_KIDS], after[MAX_KIDS], victim;
	size_t nb, na = 0;
	long waited = 0;
	bool replaced = false;
	int ok;

	CU_ASSERT_FATAL(sup > 0 && pid_alive(sup));
	nb = children_of(sup, before, MAX_KIDS);
	CHECK(nb >= (size_t)harness_workers(), "supervisor %ld has %zu children, expected %d",
	      (long)sup, nb, harness_workers());
	CU_ASSERT_FATAL(nb > 0);
	victim = before[0];
	CU_ASSERT_FATAL(kill(victim, SIGKILL) == 0);

	while (waited < RESPAWN_MS && !replaced) {
		bool fresh = false, victim_gone;

		sleep_ms(100);
		waited += 100;
		victim_gone = !pid_alive(victim); /* before sampling: then it cannot be in `after` */
		na = children_of(sup, after, MAX_KIDS);
		for (size_t i = 0; i < na; i++)
			fresh = fresh || !contains(before, nb, after[i]);
		replaced = victim_gone && fresh && na == nb;
	}
	CHECK(!pid_alive(victim), "killed worker %ld still there", (long)victim);
	CHECK(replaced, "no replacement worker within %d ms (%zu children before, %zu now)",
	      RESPAWN_MS, nb, na);
	CHECK(pid_alive(sup), "the supervisor died with its worker");
	ok = requests_ok(20);
	CHECK(ok == 20, "%d of 20 requests succeeded after the respawn", ok);
}

static void test_sighup_replaces_workers(void)
{
	pid_t sup = supervisor_pid(), before[MAX_KIDS], after[MAX_KIDS];
	size_t nb, na = 0, old_left = 0;
	long waited = 0;
	int ok;

	CU_ASSERT_FATAL(sup > 0 && pid_alive(sup));
	nb = children_of(sup, before, MAX_KIDS);
	CU_ASSERT_FATAL(nb > 0);
	CU_ASSERT_FATAL(kill(sup, SIGHUP) == 0);

	/* Requests keep succeeding while the workers are being replaced. */
	ok = requests_ok(10);
	CHECK(ok == 10, "%d of 10 requests succeeded during the reload", ok);
	while (waited < RESPAWN_MS) {
		/* Old pids first: once none is alive, none can be in `after`. */
		old_left = 0;
		for (size_t i = 0; i < nb; i++)
			old_left += pid_alive(before[i]);
		na = children_of(sup, after, MAX_KIDS);
		if (old_left == 0 && na >= nb)
			break;
		sleep_ms(100);
		waited += 100;
	}
	CHECK(old_left == 0, "%zu old workers still running %d ms after SIGHUP", old_left,
	      RESPAWN_MS);
	CHECK(na >= nb, "%zu workers after SIGHUP, %zu before", na, nb);
	for (size_t i = 0; i < na; i++)
		CHECK(!contains(before, nb, after[i]), "worker %ld survived SIGHUP", (long)after[i]);
	CHECK(pid_alive(sup) && supervisor_pid() == sup, "the supervisor was replaced by SIGHUP");
	ok = requests_ok(20);
	CHECK(ok == 20, "%d of 20 requests succeeded after SIGHUP", ok);
}

/* --- reloads that must not take the site down ----------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (len + 4096 + 1 > cap && (buf = realloc(buf, cap = cap * 2 + 8192)) == NULL)
			break;
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}

static bool write_ini(const char *path, const char *text, const char *extra)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return false;
	fprintf(f, "%s%s", text, extra ? extra : "");
	return fclose(f) == 0;
}

/* Every pid of before still a child of the supervisor, and nothing else. */
static bool same_children(const pid_t *before, size_t nb)
{
	pid_t now[MAX_KIDS];
	size_t n = children_of(supervisor_pid(), now, MAX_KIDS);

	for (size_t i = 0; i < nb; i++)
		if (!contains(now, n, before[i]))
			return false;
	return n == nb;
}

/*
 * SIGHUP with a config that parses but cannot start (each the way a typo
 * makes it): refused as a start would refuse it; the running workers are
 * never replaced and every request keeps its answer.
 */
static void test_broken_reload_refused(void)
{
	static const char *const broken[] = {
		"version_json_path = /nonexistent/version.json\n",
		"eos = 2099-13-45\n",
		"resources = clash\nresources.clash.list = /buckets\n"
		"resources.clash.item = /buckets/{id}\n",
	};
	char ini[4096];
	pid_t before[MAX_KIDS];
	size_t nb, refusals = log_count("log/pawl.log", "reload refused");
	char *original;
	int ok;

	snprintf(ini, sizeof ini, "%s/pawl.ini", harness_state_dir());
	original = slurp(ini);
	CU_ASSERT_PTR_NOT_NULL_FATAL(original);
	for (size_t i = 0; i < sizeof broken / sizeof *broken; i++) {
		nb = children_of(supervisor_pid(), before, MAX_KIDS);
		CHECK(write_ini(ini, original, broken[i]), "cannot write %s", ini);
		CU_ASSERT_FATAL(kill(supervisor_pid(), SIGHUP) == 0);
		for (int w = 0; w < 30 && log_count("log/pawl.log", "reload refused") == refusals; w++)
			sleep_ms(100);
		CHECK(log_count("log/pawl.log", "reload refused") == refusals + 1,
		      "reload with [%s] not refused", broken[i]);
		refusals = log_count("log/pawl.log", "reload refused");
		sleep_ms(1500); /* time enough for a new generation to have been started */
		CHECK(same_children(before, nb), "workers replaced by the broken config [%s]",
		      broken[i]);
		ok = requests_ok(20);
		CHECK(ok == 20, "%d of 20 requests succeeded after [%s]", ok, broken[i]);
	}
	CHECK(write_ini(ini, original, NULL), "cannot restore %s", ini);
	free(original);
}

#ifdef PAWL_FAULT_INJECTION
/*
 * A config that loads, but whose workers die at start (here through a test
 * fault point): the old generation keeps serving, the new one goes.
 */
static void test_dead_generation_rolled_back(void)
{
	char flag[4096];
	pid_t before[MAX_KIDS];
	size_t nb = children_of(supervisor_pid(), before, MAX_KIDS);
	size_t failures = log_count("log/pawl.log", "reload failed");
	FILE *f;
	int ok;

	snprintf(flag, sizeof flag, "%s/" HARNESS_FAULT_START, harness_state_dir());
	f = fopen(flag, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	CU_ASSERT_FATAL(kill(supervisor_pid(), SIGHUP) == 0);
	ok = requests_ok(10);
	for (int w = 0; w < 100 && log_count("log/pawl.log", "reload failed") == failures; w++)
		sleep_ms(100);
	unlink(flag);
	CHECK(ok == 10, "%d of 10 requests succeeded during the failing reload", ok);
	CHECK(log_count("log/pawl.log", "reload failed") == failures + 1,
	      "a generation that died at start was not rolled back");
	sleep_ms(500);
	for (size_t i = 0; i < nb; i++)
		CHECK(pid_alive(before[i]), "old worker %ld gone after a failed reload", (long)before[i]);
	ok = requests_ok(20);
	CHECK(ok == 20, "%d of 20 requests succeeded after the failed reload", ok);
}
#endif

/*
 * SIGUSR1 (nginx's "reopen logs") to the supervisor and every worker: the
 * workers keep accepting, and so do those started afterwards by a reload
 * and by a respawn (libfcgi's own SIGUSR1 handler would have stopped them).
 */
static void test_sigusr1_harmless(void)
{
	pid_t sup = supervisor_pid(), kids[MAX_KIDS];
	size_t n = children_of(sup, kids, MAX_KIDS), reopened = log_count("log/pawl.log",
	    "nothing to reopen"), accept_errors = log_count("log/pawl.log", "accept failed");
	long waited = 0;
	int ok;

	CU_ASSERT_FATAL(kill(sup, SIGUSR1) == 0);
	for (size_t i = 0; i < n; i++)
		kill(kids[i], SIGUSR1);
	sleep_ms(300);
	ok = requests_ok(20);
	CHECK(ok == 20, "%d of 20 requests succeeded after SIGUSR1", ok);
	CHECK(log_count("log/pawl.log", "nothing to reopen") > reopened, "SIGUSR1 not taken");
	test_sighup_replaces_workers();
	n = children_of(sup, kids, MAX_KIDS);
	CU_ASSERT_FATAL(n > 0);
	kill(kids[0], SIGKILL);
	while (pid_alive(kids[0]) && waited < RESPAWN_MS) {
		sleep_ms(100);
		waited += 100;
	}
	sleep_ms(500);
	ok = requests_ok(20);
	CHECK(ok == 20, "%d of 20 requests succeeded after SIGUSR1, a reload and a respawn", ok);
	CHECK(log_count("log/pawl.log", "accept failed") == accept_errors,
	      "workers failed to accept after SIGUSR1");
}

/* How many lines of the file at path contain needle. */
static size_t file_count(const char *path, const char *needle)
{
	char *text = slurp(path), *p;
	size_t n = 0;

	for (p = text; p != NULL && (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(text);
	return n;
}

/*
 * log_file, set by a reload: every process writes there, text lines carry a
 * timestamp; after logrotate moved the file, SIGUSR1 to the supervisor has
 * it and every worker and the relay reopen it.
 */
static void test_log_file_reopened(void)
{
	char file[4096], moved[4200], extra[4200];
	int ok;

	snprintf(file, sizeof file, "%s/log/pawl-file.log", harness_state_dir());
	snprintf(moved, sizeof moved, "%s.1", file);
	snprintf(extra, sizeof extra, "log_file = %s\n", file);
	unlink(file);
	unlink(moved);
	CU_ASSERT_FATAL(ru_reload(extra));
	ok = requests_ok(10);
	CHECK(ok == 10, "%d of 10 requests succeeded with log_file", ok);
	CHECK(file_count(file, "GET /v1/__lbheartbeat__ -> 200") >= 5,
	      "request lines not in %s", file);
	CHECK(file_count(file, "Z pawl[") >= 5, "text lines without a timestamp in %s", file);
	CU_ASSERT_FATAL(rename(file, moved) == 0);
	CU_ASSERT_FATAL(kill(supervisor_pid(), SIGUSR1) == 0);
	sleep_ms(1500); /* the relay takes it between passes */
	ok = requests_ok(10);
	CHECK(ok == 10, "%d of 10 requests succeeded after SIGUSR1", ok);
	/* The supervisor, each worker and the relay: one "reopened" line each. */
	CHECK(file_count(file, "SIGUSR1: reopened") >= (size_t)harness_workers() + 2,
	      "%zu processes reopened the log, expected %d", file_count(file, "SIGUSR1: reopened"),
	      harness_workers() + 2);
	CHECK(file_count(file, "GET /v1/__lbheartbeat__ -> 200") >= 5,
	      "requests after SIGUSR1 still logged to the moved file");
	CHECK(file_count(moved, "SIGUSR1: reopened") == 0, "reopened into the moved file");
	CU_ASSERT(ru_reload_restore());
	unlink(file);
	unlink(moved);
}

void test_supervisor_register(void)
{
	CU_pSuite s = CU_add_suite("supervisor", NULL, NULL);

	CU_add_test(s, "kill -9 a worker: respawned", test_killed_worker_respawns);
	CU_add_test(s, "SIGHUP: workers replaced", test_sighup_replaces_workers);
	CU_add_test(s, "SIGHUP with a config that cannot start: refused", test_broken_reload_refused);
#ifdef PAWL_FAULT_INJECTION
	CU_add_test(s, "SIGHUP whose workers die at start: old generation kept",
		    test_dead_generation_rolled_back);
#endif
	CU_add_test(s, "SIGUSR1 then reload and respawn: workers keep accepting",
		    test_sigusr1_harmless);
	CU_add_test(s, "log_file: every process writes there, SIGUSR1 reopens it",
		    test_log_file_reopened);
}
