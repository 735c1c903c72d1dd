/*
 * A Redis listener through Redis Sentinel (README, "Redis Sentinel"), over
 * real servers on loopback ports of this test's own: a master, two replicas
 * and three Sentinels (redis-server --sentinel, quorum 2), started here and
 * stopped here. The master is killed (SIGKILL) while writes go on; Sentinel
 * promotes a replica; every answered write's event must reach the new master
 * exactly once, in commit order, the heartbeat must have said false in the
 * gap and true after, and the switch counter must have moved. The hostile
 * and password-protected Sentinels follow (test_sentinel_hostile.c); the
 * topology and helpers are in sentinel_util.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sentinel_util.h"
#include "resource_util.h"

static void test_failover(void)
{
	char list[256], series[128];
	struct sen_answered a = { NULL, 0, 0 };
	struct events e = { NULL, 0 };
	size_t failed = 0, before_kill;
	long deadline, ms, slowest = 0;
	bool saw_false = false, saw_true_after = false;
	int promoted = -1, hb;
	double switches;

	snprintf(list, sizeof list, "127.0.0.1:%d 127.0.0.1:%d,127.0.0.1:%d", sen_sentinel_port[0],
		 sen_sentinel_port[1], sen_sentinel_port[2]);
	CU_ASSERT_FATAL(sen_configure(list, 1));
	sen_make_collection();
	CHECK(sen_heartbeat_ha(&ms) == 1, "the heartbeat's '" LISTENER "' is not true before the failover");

	/* Writes flow to the first master. */
	sen_write_some(&a, 20, &failed);
	deadline = harness_now_ms() + DELIVERY_MS;
	do {
		events_free(&e);
		sen_fetch(sen_node_port[0], &e);
	} while (e.n < a.n && harness_now_ms() < deadline && (sleep_ms(100), true));
	CHECK(e.n == a.n, "%zu of %zu events reached the first master", e.n, a.n);
	events_free(&e);
	snprintf(series, sizeof series, "pawl_redis_master_switches_total{listener=\"" LISTENER "\"}");
	switches = sen_metric(series);
	CHECK(switches == 0, "%s is %g before any failover", series, switches);

	/* The master dies mid-load; writes go on until a replica is promoted and answers. */
	before_kill = a.n;
	sen_reap(&sen_node_pid[0], SIGKILL);
	deadline = harness_now_ms() + FAILOVER_MS;
	while (harness_now_ms() < deadline && !saw_true_after) {
		sen_write_some(&a, 3, &failed);
		hb = sen_heartbeat_ha(&ms);
		slowest = ms > slowest ? ms : slowest;
		if (hb == 0)
			saw_false = true;
		if (promoted < 0) {
			int p = sen_sentinel_says(sen_sentinel_port[1]);

			promoted = p != sen_node_port[0] && sen_node_index(p) > 0 ? sen_node_index(p) : -1;
		}
		saw_true_after = promoted > 0 && saw_false && hb == 1;
	}
	CHECK(promoted > 0, "no replica promoted within %d ms (logs in %s)", FAILOVER_MS, sen_dir);
	CHECK(saw_false, "the heartbeat never said false while the master was gone");
	CHECK(saw_true_after, "the heartbeat did not say true after the promotion");
	CHECK(slowest < 3000, "a heartbeat took %ld ms during the failover", slowest);
	CHECK(a.n > before_kill, "no write answered during the failover");
	CU_ASSERT_FATAL(promoted > 0);
	sen_write_some(&a, 20, &failed);
	CHECK(failed == 0, "%zu writes not answered 2xx (the outbox holds events; writes go on)",
	      failed);

	/* Every answered write's event reaches the new master, once, in order. */
	promoted = sen_settled_master(FAILOVER_MS);
	CU_ASSERT_FATAL(promoted > 0);
	deadline = harness_now_ms() + DELIVERY_MS * 2;
	do {
		events_free(&e);
		sen_fetch(sen_node_port[promoted], &e);
	} while (e.n < a.n && harness_now_ms() < deadline && (sleep_ms(200), true));
	sleep_ms(1500); /* a late duplicate would land now */
	events_free(&e);
	CHECK(sen_fetch(sen_node_port[promoted], &e), "cannot read the new master");
	sen_check_delivered(&e, &a, "list");
	/* The same for the stream listener, through the same Sentinels. */
	do {
		events_free(&e);
		sen_fetch_stream(sen_node_port[promoted], &e);
	} while (e.n < a.n && harness_now_ms() < deadline && (sleep_ms(200), true));
	sen_check_delivered(&e, &a, "stream");
	switches = sen_metric(series);
	CHECK(switches >= 1, "%s is %g after a failover", series, switches);
	printf("\n    sentinel: %zu writes (%zu before the kill), node %d promoted, "
	       "%zu events there, %g master switch(es), slowest heartbeat %ld ms\n",
	       a.n, before_kill, promoted, e.n, switches, slowest);
	events_free(&e);
	free(a.id);
}

void test_sentinel_register(void)
{
	CU_pSuite s = CU_add_suite("sentinel", sen_suite_init, sen_suite_clean);

	CU_add_test(s, "master killed: promoted replica gets every event once", test_failover);
	CU_add_test(s, "hostile Sentinels: false, bounded, no crash", test_sentinel_hostile);
	CU_add_test(s, "Sentinels with a password: refused without it, delivered with it",
		    test_sentinel_auth);
}
