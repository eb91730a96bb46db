/*
 * memory.c - memory readings (RSS, peak RSS, heap in use) and the process
 * name.  Reads /proc with open/read into stack buffers and asks glibc's
 * allocator for its totals (unless PERFTOP_HEAP=0), at a pace that bounds
 * how long the program's arenas are locked: no tracing, no allocation,
 * nothing changed.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#if defined(PT__ASAN)
/* From the sanitizer runtime (its header is not shipped with every gcc). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* Reads up to len - 1 bytes of path into buf; returns bytes read or -1. */
static ssize_t
read_small(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)got < len - 1) {
		n = read(fd, buf + got, len - 1 - (size_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

/* Finds "key:   N kB" in a /proc status text; returns N * 1024 or 0. */
static uint64_t
status_kb(const char *text, const char *key)
{
	const char *p = text;
	size_t klen = strlen(key);

	while ((p = strstr(p, key)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[klen] == ':')
			return strtoull(p + klen + 1, NULL, 10) * 1024;
		p += klen;
	}
	return 0;
}

int
pt__memory_rss(pt_memory *mem)
{
	char buf[4096];

	if (read_small("/proc/self/status", buf, sizeof buf) <= 0) {
		mem->rss_bytes = mem->peak_rss_bytes = 0;
		return PT_ESYS;
	}
	mem->rss_bytes = status_kb(buf, "VmRSS");
	mem->peak_rss_bytes = status_kb(buf, "VmHWM");
	return 0;
}

/*
 * Whether PERFTOP_HEAP is "0" or "off": then the allocator is never asked
 * and the heap figure is 0.  Read once.
 */
static int
heap_off(void)
{
	static int off = -1;
	int v = __atomic_load_n(&off, __ATOMIC_RELAXED);
	const char *e;

	if (v < 0) {
		e = getenv("PERFTOP_HEAP");
		v = e != NULL && (strcmp(e, "0") == 0 || strcmp(e, "off") == 0);
		__atomic_store_n(&off, v, __ATOMIC_RELAXED);
	}
	return v;
}

uint64_t
pt__memory_heap(void)
{
	if (heap_off())
		return 0;
#if defined(PT__ASAN)
	/* The sanitizer's allocator replaces glibc's; ask it instead. */
	return __sanitizer_get_current_allocated_bytes();
#elif defined(__GLIBC__)
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#else
	return 0;
#endif
}

uint64_t
pt__heap_wait_ns(uint64_t cost_ns)
{
	uint64_t w;

	if (__builtin_mul_overflow(cost_ns, (uint64_t)PT__HEAP_COST_RATIO, &w))
		return UINT64_MAX;
	return w > PT__HEAP_EVERY_NS ? w : PT__HEAP_EVERY_NS;
}

/* The paced reading: its value and when the next may be taken.  Relaxed
 * atomics: two readers at once would only read twice. */
static uint64_t heap_value, heap_next;

uint64_t
pt__heap_next_ns(void)
{
	return __atomic_load_n(&heap_next, __ATOMIC_RELAXED);
}

void
pt__heap_wait_end(void)
{
	__atomic_store_n(&heap_next, 1, __ATOMIC_RELAXED);
}

uint64_t
pt__memory_heap_paced(uint64_t now)
{
	uint64_t next = __atomic_load_n(&heap_next, __ATOMIC_RELAXED), v, end;

	if (next == 0 || now >= next) {
		v = pt__memory_heap();
		end = pt__mono_ns();
		next = now + pt__heap_wait_ns(end > now ? end - now : 0);
		__atomic_store_n(&heap_value, v, __ATOMIC_RELAXED);
		__atomic_store_n(&heap_next, next < now ? UINT64_MAX : next,
		    __ATOMIC_RELAXED);
	}
	return __atomic_load_n(&heap_value, __ATOMIC_RELAXED);
}

int
pt_memory_read(pt_memory *mem)
{
	int rc;

	if (mem == NULL)
		return PT_EINVAL;
	memset(mem, 0, sizeof *mem);
	rc = pt__memory_rss(mem);
	mem->heap_bytes = pt__memory_heap();
	return rc;
}

void
pt__process_name(char *buf, size_t len)
{
	char comm[64];
	ssize_t n;

	if ((n = read_small("/proc/self/comm", comm, sizeof comm)) <= 0) {
		strlcpy(buf, "?", len);
		return;
	}
	if (comm[n - 1] == '\n')
		comm[n - 1] = '\0';
	strlcpy(buf, comm, len);
}
