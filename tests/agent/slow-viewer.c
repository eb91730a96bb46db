/*
 * slow-viewer.c - a viewer that stops reading is dropped, with what it
 * was sent bounded, while another viewer is still served.
 */
#include "agent-test.h"

/* ------------------------------------------------------------------------ */
/* A viewer that stops reading                                               */
/* ------------------------------------------------------------------------ */

#define BULK_SITES	2000

static pt_site	bulk[BULK_SITES];
static char	bulk_names[BULK_SITES][24];

static void
test_slow_viewer_dropped(void)
{
	struct pt__client *good;
	struct raw_in r;
	struct pollfd pfd;
	struct pt__buf b;
	pt_snapshot *s;
	uint64_t end, total = 0;
	char junk[65536];
	ssize_t got;
	int fd, i, k, round = 0, hup = 0, good_snaps = 0;

	/* A viewer that reads nothing is owed snapshots, not sent them; it
	 * is dropped once its socket took nothing for this long. */
	__atomic_store_n(&pt__agent_stall_ms, 2000, __ATOMIC_RELAXED);
	for (i = 0; i < BULK_SITES; i++) {
		snprintf(bulk_names[i], sizeof bulk_names[i], "bulk.%04d", i);
		bulk[i].pt_name = bulk_names[i];
		bulk[i].pt_kind = PT_KIND_OP;
		CU_ASSERT_FATAL(pt_site_register(&bulk[i]) > 0);
	}
	good = open_self();
	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	CU_ASSERT_EQUAL(pt__client_subscribe(good, 200), 0);

	fd = raw_welcomed(&r);
	CU_ASSERT_FATAL(fd >= 0);
	pt__buf_init(&b, 4096);
	pt__msg_u64(&b, PT__MSG_SUBSCRIBE, 10);
	CU_ASSERT_EQUAL(raw_send_buf(fd, &b), 0);
	pt__buf_free(&b);

	/*
	 * Keep every operation changing, in 64 buckets each by large
	 * amounts, so every snapshot is big (about 0.5 MB) and cheap to take
	 * (one bucket group per operation); never read fd.
	 */
	end = now_ms() + 15000;
	while (now_ms() < end && !hup) {
		for (i = 0; i < BULK_SITES; i++)
			for (k = 0; k < 64; k++)
				pt__test_record_ticks(&bulk[i],
				    4096 + 64 * (uint64_t)k, 1000003);
		round++;
		pfd.fd = fd;
		pfd.events = POLLRDHUP;
		pfd.revents = 0;
		if (poll(&pfd, 1, 5) == 1 &&
		    (pfd.revents & (POLLHUP | POLLRDHUP)))
			hup = 1;
		while ((s = next_snapshot(good, 0)) != NULL) {
			good_snaps++;
			pt_snapshot_free(s);
		}
	}
	CU_ASSERT(hup);
	CU_ASSERT(good_snaps > 0);
	if (getenv("PT_TEST_DEBUG"))
		fprintf(stderr, "\nrounds %d, %d snapshots to the good viewer, "
		    "hup %d\n", round, good_snaps, hup);
	if (!hup) {
		raw_close(&r);
		pt__client_close(good);
		__atomic_store_n(&pt__agent_stall_ms, 60000, __ATOMIC_RELAXED);
		return;
	}
	/* What it had been sent is bounded by its buffer (plus what the
	 * socket itself holds), then EOF. */
	for (;;) {
		got = recv(fd, junk, sizeof junk, 0);
		if (got <= 0)
			break;
		total += (uint64_t)got;
	}
	CU_ASSERT_EQUAL(got, 0);
	/* What the socket held and at most one frame more (the agent makes
	 * no snapshot for a viewer still sending the last). */
	CU_ASSERT(total <= (4u << 20) + (1u << 20));
	if (getenv("PT_TEST_DEBUG"))
		fprintf(stderr, "%llu bytes were queued\n",
		    (unsigned long long)total);
	raw_close(&r);
	__atomic_store_n(&pt__agent_stall_ms, 60000, __ATOMIC_RELAXED);

	/* The well-behaved viewer is still served. */
	s = fresh_snapshot(good, 2000);
	CU_ASSERT_PTR_NOT_NULL(s);
	pt_snapshot_free(s);
	pt__client_close(good);
}

const struct cunit_test slow_viewer_tests[] = {
	{ "slow viewer dropped", test_slow_viewer_dropped },
	{ NULL, NULL }
};
