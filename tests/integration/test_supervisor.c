/* The pawl-fcgi supervisor under spawn-fcgi: a killed worker is replaced,
 * SIGHUP replaces every worker, and nginx never notices either. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

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

void test_supervisor_register(void)
{
	CU_pSuite s = CU_add_suite("supervisor", NULL, NULL);

	CU_add_test(s, "kill -9 a worker: respawned", test_killed_worker_respawns);
	CU_add_test(s, "SIGHUP: workers replaced", test_sighup_replaces_workers);
}
