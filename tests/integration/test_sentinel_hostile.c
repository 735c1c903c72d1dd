/*
 * The sentinel suite's hostile cases (sentinel_util.h for the topology):
 * Sentinels that answer garbage, never answer, name a replica, or sit on a
 * closed port -- false, bounded, no crash, and delivery once a real one is
 * reached; and a Sentinel with a password of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "harness.h"
#include "sentinel_util.h"
#include "resource_util.h"

enum fake_kind { FAKE_GARBAGE, FAKE_SILENT, FAKE_LIAR };

struct fake {
	enum fake_kind kind;
	int fd, port, named; /* named: the port a liar names */
	int held[64];
	size_t n_held;
	volatile bool stop;
	pthread_t thread;
};

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	char buf[512], reply[128];

	while (!f->stop) {
		struct pollfd p = { f->fd, POLLIN, 0 };
		int c;

		if (poll(&p, 1, 100) <= 0 || (c = accept(f->fd, NULL, NULL)) < 0)
			continue;
		if (f->kind == FAKE_SILENT && f->n_held < 64) {
			f->held[f->n_held++] = c; /* reads nothing, answers nothing */
			continue;
		}
		(void)!read(c, buf, sizeof buf);
		if (f->kind == FAKE_GARBAGE)
			snprintf(reply, sizeof reply, "HTTP/1.0 200 OK\r\n\r\n\x01\x02garbage");
		else
			snprintf(reply, sizeof reply, "*2\r\n$9\r\n127.0.0.1\r\n$%d\r\n%d\r\n",
				 f->named >= 10000 ? 5 : 4, f->named);
		(void)!write(c, reply, strlen(reply));
		close(c);
	}
	for (size_t i = 0; i < f->n_held; i++)
		close(f->held[i]);
	return NULL;
}

static bool fake_start(struct fake *f, enum fake_kind kind, int named)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;

	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->named = named;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(f->fd, 16) != 0 || getsockname(f->fd, (struct sockaddr *)&sin, &len) != 0)
		return false;
	f->port = ntohs(sin.sin_port);
	return pthread_create(&f->thread, NULL, fake_run, f) == 0;
}

static void fake_stop(struct fake *f)
{
	f->stop = true;
	pthread_join(f->thread, NULL);
	close(f->fd);
}

void test_sentinel_hostile(void)
{
	struct fake garbage, silent, liar;
	char list[512], id[64];
	struct sen_answered a = { NULL, 0, 0 };
	struct events e = { NULL, 0 };
	pid_t sup = supervisor_pid(), relay_before[64], relay_after[64];
	size_t failed = 0, kids_before, kids_after;
	long ms, slowest = 0, deadline;
	int closed[1], master = -1, hb = -1;

	CU_ASSERT_FATAL(harness_free_ports(closed, 1) == 0);
	/* Whoever is master now (after the failover test), where the last step delivers. */
	master = sen_settled_master(FAILOVER_MS);
	CU_ASSERT_FATAL(master >= 0);
	CU_ASSERT_FATAL(fake_start(&garbage, FAKE_GARBAGE, 0));
	CU_ASSERT_FATAL(fake_start(&silent, FAKE_SILENT, 0));
	CU_ASSERT_FATAL(fake_start(&liar, FAKE_LIAR, sen_lone_port));
	snprintf(list, sizeof list, "127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d",
		 closed[0], garbage.port, silent.port, liar.port);
	CU_ASSERT_FATAL(sen_configure(list, 0));
	sen_make_collection();
	kids_before = children_of(sup, relay_before, 64);

	/* No master to be found: false, within the heartbeat's bound; writes still answered. */
	for (int i = 0; i < 5; i++) {
		hb = sen_heartbeat_ha(&ms);
		slowest = ms > slowest ? ms : slowest;
		CHECK(hb == 0, "heartbeat '" LISTENER "' is %d with only hostile Sentinels", hb);
		if (!sen_write_record(id, sizeof id))
			failed++;
		else
			a.n++;
	}
	CHECK(failed == 0, "%zu writes failed with hostile Sentinels", failed);
	CHECK(slowest < 2500, "a heartbeat took %ld ms with hostile Sentinels", slowest);
	sleep_ms(2500); /* relay passes against them */
	kids_after = children_of(sup, relay_after, 64);
	CHECK(kids_after == kids_before, "%zu processes under the supervisor, %zu before",
	      kids_after, kids_before);
	for (size_t i = 0; i < kids_before; i++)
		CHECK(pid_alive(relay_before[i]), "pid %ld died under hostile Sentinels",
		      (long)relay_before[i]);
	CHECK(sen_fetch(sen_node_port[master], &e) && sen_count_of(&e, id) == 0,
	      "an event reached Redis without a Sentinel naming it");
	events_free(&e);

	/* A real Sentinel last in the list: tried in turn, it is reached; the rows arrive. */
	snprintf(list + strlen(list), sizeof list - strlen(list), " 127.0.0.1:%d", sen_sentinel_port[2]);
	CU_ASSERT_FATAL(sen_configure(list, 0));
	deadline = harness_now_ms() + DELIVERY_MS;
	while ((hb = sen_heartbeat_ha(&ms)) != 1 && harness_now_ms() < deadline)
		sleep_ms(200);
	CHECK(hb == 1, "the heartbeat's '" LISTENER "' never became true once a real Sentinel was listed");
	master = sen_settled_master(FAILOVER_MS);
	CU_ASSERT_FATAL(master >= 0);
	do {
		events_free(&e);
		sen_fetch(sen_node_port[master], &e);
	} while (sen_count_of(&e, id) == 0 && harness_now_ms() < deadline && (sleep_ms(200), true));
	CHECK(sen_count_of(&e, id) == 1, "the last write's event reached the master %zu times",
	      sen_count_of(&e, id));
	events_free(&e);
	fake_stop(&garbage);
	fake_stop(&silent);
	fake_stop(&liar);
}

/* ACL SETUSER default on a Sentinel: its requirepass, set or (pw NULL) removed. */
static bool sentinel_password(int port, const char *old_pw, const char *pw)
{
	redisContext *c = sen_connect_to(port);
	redisReply *r = NULL;
	bool ok = c != NULL;

	if (ok && old_pw != NULL) {
		r = redisCommand(c, "AUTH %s", old_pw);
		ok = r != NULL && r->type != REDIS_REPLY_ERROR;
		if (r != NULL)
			freeReplyObject(r);
	}
	if (ok) {
		r = pw != NULL ? redisCommand(c, "ACL SETUSER default on resetpass >%s", pw)
			       : redisCommand(c, "ACL SETUSER default on nopass");
		ok = r != NULL && r->type == REDIS_REPLY_STATUS;
		if (r != NULL)
			freeReplyObject(r);
	}
	if (c != NULL)
		redisFree(c);
	return ok;
}

/* Polls the heartbeat's LISTENER until it is want (or DELIVERY_MS passed): its last value. */
static int heartbeat_becomes(int want)
{
	long ms, deadline = harness_now_ms() + DELIVERY_MS;
	int hb;

	while ((hb = sen_heartbeat_ha(&ms)) != want && harness_now_ms() < deadline)
		sleep_ms(200);
	return hb;
}

/*
 * A Sentinel with a requirepass of its own: asked without a password or with
 * a wrong one, it names no master (false, the events wait, the password is in
 * no log line); with sentinels_password, the waiting events arrive, once.
 */
void test_sentinel_auth(void)
{
	static const char good[] = "s3ntinel-Pw", wrong[] = "not-the-pw-7f3a";
	char list[64], id[64], first[64] = "";
	struct events e = { NULL, 0 };
	int master = sen_settled_master(FAILOVER_MS), hb;
	size_t failed = 0, before = log_count("log/pawl.log", "WRONGPASS");

	CU_ASSERT_FATAL(master >= 0);
	snprintf(list, sizeof list, "127.0.0.1:%d", sen_sentinel_port[1]);
	CU_ASSERT_FATAL(sentinel_password(sen_sentinel_port[1], NULL, good));
	for (int attempt = 0; attempt < 2; attempt++) {
		CU_ASSERT_FATAL(sen_configure_auth(list, 0, attempt == 0 ? NULL : wrong));
		sen_make_collection();
		hb = heartbeat_becomes(0);
		CHECK(hb == 0, "heartbeat '" LISTENER "' is %d with %s", hb,
		      attempt == 0 ? "no password for the Sentinel" : "a wrong password");
		if (!sen_write_record(id, sizeof id))
			failed++;
		else if (first[0] == '\0')
			snprintf(first, sizeof first, "%s", id);
		sleep_ms(1500); /* relay passes that ask the Sentinel and are refused */
		CHECK(sen_fetch(sen_node_port[master], &e) && sen_count_of(&e, id) == 0,
		      "an event reached Redis through a Sentinel that refused us");
		events_free(&e);
	}
	CHECK(failed == 0, "%zu writes failed while the Sentinel refused us", failed);
	CHECK(log_count("log/pawl.log", "NOAUTH") > 0, "no log line says the Sentinel wants AUTH");
	CHECK(log_count("log/pawl.log", "WRONGPASS") > before, "no log line says the password is wrong");
	CHECK(log_count("log/pawl.log", wrong) == 0 && log_count("log/pawl.log", good) == 0,
	      "a Sentinel password is in pawl's log");

	CU_ASSERT_FATAL(sen_configure_auth(list, 0, good));
	hb = heartbeat_becomes(1);
	CHECK(hb == 1, "heartbeat '" LISTENER "' is %d with the Sentinel's password", hb);
	for (long deadline = harness_now_ms() + DELIVERY_MS;;) {
		events_free(&e);
		sen_fetch(sen_node_port[master], &e);
		if ((sen_count_of(&e, first) > 0 && sen_count_of(&e, id) > 0) || harness_now_ms() > deadline)
			break;
		sleep_ms(200);
	}
	CHECK(sen_count_of(&e, first) == 1 && sen_count_of(&e, id) == 1,
	      "the events written while the Sentinel refused us arrived %zu and %zu times",
	      sen_count_of(&e, first), sen_count_of(&e, id));
	events_free(&e);
	CHECK(sentinel_password(sen_sentinel_port[1], good, NULL), "the Sentinel's password stays set");
}

