/* memory.c - suite "memory": pt_memory_read. */
#include "core-test.h"

/* Entries of a directory, without "." and "..". */
static size_t
dir_entries(const char *path)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_memory_read_matches_proc_status(void)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t r0, r1, h0, h1;
	pt_memory m;

	r0 = status_kib("VmRSS") * KIB;
	h0 = status_kib("VmHWM") * KIB;
	CHECK_INT_EQ(pt_memory_read(&m), 0);
	r1 = status_kib("VmRSS") * KIB;
	h1 = status_kib("VmHWM") * KIB;
	CU_ASSERT(r0 > 0 && h0 > 0);
	CHECK_RANGE((r0 < r1 ? r0 : r1) - page, m.rss_bytes,
	    (r0 > r1 ? r0 : r1) + page);
	CHECK_RANGE((h0 < h1 ? h0 : h1) - page, m.peak_rss_bytes,
	    (h0 > h1 ? h0 : h1) + page);
	CU_ASSERT(m.peak_rss_bytes >= m.rss_bytes);
	CU_ASSERT(!MEMORY_FIGURES || m.heap_bytes > 0);
	CHECK_INT_EQ(pt_memory_read(NULL), PT_EINVAL);
}

static void *volatile heap_sink;

static void
test_memory_heap_follows_malloc_and_free(void)
{
	const size_t size = 8 * MIB;
	pt_memory m0, m1, m2;
	char *p;

	CHECK_INT_EQ(pt_memory_read(&m0), 0);
	p = malloc(size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(p, 0x5a, size);
	heap_sink = p;
	CHECK_INT_EQ(pt_memory_read(&m1), 0);
	free(heap_sink);
	heap_sink = NULL;
	CHECK_INT_EQ(pt_memory_read(&m2), 0);
	CU_ASSERT(m1.peak_rss_bytes >= m1.rss_bytes);
	if (!MEMORY_FIGURES) {
		skipped("heap and rss sizes");
		return;
	}
	CU_ASSERT(m0.heap_bytes > 0);
	CHECK_RANGE(m0.heap_bytes + size, m1.heap_bytes,
	    m0.heap_bytes + size + 256 * KIB);
	/* The heap may be smaller than 256 KiB (this suite alone). */
	CHECK_RANGE(m1.heap_bytes > size + 256 * KIB ?
	    m1.heap_bytes - size - 256 * KIB : 0, m2.heap_bytes,
	    m1.heap_bytes - size);
	/* The touched block was resident. */
	CU_ASSERT(m1.rss_bytes >= m0.rss_bytes + size - 256 * KIB);
}

static void
test_memory_read_starts_no_threads_and_opens_no_fds(void)
{
	size_t tasks0, fds0, tasks1, fds1;
	pt_memory m;

	tasks0 = dir_entries("/proc/self/task");
	fds0 = dir_entries("/proc/self/fd");
	CHECK_INT_EQ(pt_memory_read(&m), 0);
	CHECK_INT_EQ(pt_memory_read(&m), 0);
	tasks1 = dir_entries("/proc/self/task");
	fds1 = dir_entries("/proc/self/fd");
	CU_ASSERT(tasks0 >= 1 && fds0 >= 3);
	CHECK_U64_EQ(tasks1, tasks0);
	CHECK_U64_EQ(fds1, fds0);
}

const struct test_def memory_tests[] = {
	TEST(test_memory_read_matches_proc_status),
	TEST(test_memory_heap_follows_malloc_and_free),
	TEST(test_memory_read_starts_no_threads_and_opens_no_fds),
	{ NULL, NULL }
};
