/*
 * site.c - call-site registration: names interned once per (kind, name) in a
 * red-black tree, ids handed out densely per kind and cached in the site.
 *
 * Registration has a lock of its own, not pt__lock: a call site's first use
 * does not wait for a snapshot or a reset, which hold pt__lock for
 * milliseconds with thousands of operations.  Readers look names up by id
 * without a lock: the tables by id are chunks that never move, and the
 * count of ids is published after the name.
 */
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/sys/cdefs.h>
#ifndef __unused	/* libbsd leaves it undefined; its tree.h needs it */
#define __unused __attribute__((__unused__))
#endif
#include <bsd/sys/tree.h>


pthread_mutex_t pt__lock = PTHREAD_MUTEX_INITIALIZER;

struct name_node {
	RB_ENTRY(name_node)	 entry;
	struct pt__name		 n;
};

static int
name_cmp(struct name_node *a, struct name_node *b)
{
	if (a->n.kind != b->n.kind)
		return a->n.kind < b->n.kind ? -1 : 1;
	return strcmp(a->n.name, b->n.name);
}

RB_HEAD(name_tree, name_node);
RB_GENERATE_STATIC(name_tree, name_node, entry, name_cmp)

/* The names and the tables below; never held with pt__lock. */
static pthread_mutex_t	 reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct name_tree	 names = RB_INITIALIZER(&names);
/* Per kind (index kind - 1): names by id - 1, in chunks allocated as ids
 * come (PT_SITES_MAX / ID_CHUNK pointers per kind, 4 KiB). */
#define ID_CHUNK	128
_Static_assert(PT_SITES_MAX % ID_CHUNK == 0, "whole chunks of ids");
static struct pt__name	**by_id[2][PT_SITES_MAX / ID_CHUNK];
static uint32_t		  n_ids[2];

static pthread_once_t	 init_once = PTHREAD_ONCE_INIT;
static pid_t		 init_pid;
static int		 autostarted;

/* Around fork(): the library's locks held (in the order they nest), so
 * the child finds them free and the state they guard whole. */
static void
atfork_prepare(void)
{
	pthread_mutex_lock(&reg_lock);
	pthread_mutex_lock(&pt__lock);
	pt__sh_lock();
}

static void
atfork_parent(void)
{
	pt__sh_unlock();
	pthread_mutex_unlock(&pt__lock);
	pthread_mutex_unlock(&reg_lock);
}

/* In the child only the forking thread exists: drop the others' records. */
static void
atfork_child(void)
{
	pt__sh_unlock();
	pthread_mutex_unlock(&pt__lock);
	pthread_mutex_unlock(&reg_lock);
	pt__thread_atfork_child();
	pt__snapshot_atfork_child();
}

static void
init_run(void)
{
	pt__clock_init();
	pt__thread_init();
	pt__snapshot_atfork_child();	/* sets the start time */
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	init_pid = getpid();
}

/*
 * Initialises the library on first use from any entry point.  The agent is
 * started here, once, in the process that initialised the library; a forked
 * child starts one only by calling pt_agent_start().
 */
void
pt__init(void)
{
	pthread_once(&init_once, init_run);
	if (!__atomic_load_n(&autostarted, __ATOMIC_ACQUIRE) &&
	    !__atomic_exchange_n(&autostarted, 1, __ATOMIC_ACQ_REL) &&
	    getpid() == init_pid)
		pt__agent_autostart();
}

/* Checks that name is non-empty, short enough, UTF-8 and free of controls. */
int
pt__name_check(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len = 0;
	int more;

	if (name == NULL || *name == '\0')
		return PT_EINVAL;
	while (*p != '\0') {
		if (++len > PT_NAME_MAX)
			return PT_ENAMETOOLONG;
		if (*p < 0x20 || *p == 0x7f)
			return PT_EINVAL;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			more = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			more = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			more = 3;
		else
			return PT_EINVAL;
		/* Overlongs and surrogates: check the second byte's range. */
		if ((p[0] == 0xe0 && p[1] < 0xa0) ||
		    (p[0] == 0xed && p[1] > 0x9f) ||
		    (p[0] == 0xf0 && p[1] < 0x90) ||
		    (p[0] == 0xf4 && p[1] > 0x8f))
			return PT_EINVAL;
		for (p++; more > 0; more--, p++) {
			if ((*p & 0xc0) != 0x80)
				return PT_EINVAL;
			if (++len > PT_NAME_MAX)
				return PT_ENAMETOOLONG;
		}
	}
	return 0;
}

/* Finds or adds (kind, name); returns the id or a PT_E* code.  Under
 * reg_lock. */
static int
intern(int32_t kind, const char *name)
{
	struct name_node key, *n;
	struct pt__name ***chunk;
	int k = kind - 1;
	uint32_t i = n_ids[k];

	key.n.kind = kind;
	key.n.name = (char *)name;
	if ((n = RB_FIND(name_tree, &names, &key)) != NULL)
		return (int)n->n.id;
	if (i >= PT_SITES_MAX)
		return PT_ELIMIT;
	chunk = &by_id[k][i / ID_CHUNK];
	if (*chunk == NULL && (*chunk = calloc(ID_CHUNK, sizeof **chunk)) ==
	    NULL)
		return PT_ENOMEM;
	if ((n = calloc(1, sizeof *n)) == NULL)
		return PT_ENOMEM;
	if ((n->n.name = strdup(name)) == NULL) {
		free(n);
		return PT_ENOMEM;
	}
	n->n.kind = kind;
	n->n.id = i + 1;
	(*chunk)[i % ID_CHUNK] = &n->n;
	RB_INSERT(name_tree, &names, n);
	/* Publish the count last: lock-free readers see only complete names. */
	__atomic_store_n(&n_ids[k], i + 1, __ATOMIC_RELEASE);
	return (int)n->n.id;
}

/*
 * Resolves a site to its id, registering its name on first use.  Caches the
 * id, or the error for a refused name, in the site.  Slow path.
 */
int
pt__site_resolve(pt_site *site)
{
	int id;

	if (site == NULL)
		return PT_EINVAL;
	if ((id = __atomic_load_n(&site->pt_id, __ATOMIC_ACQUIRE)) != 0)
		return id;
	pt__init();
	if (site->pt_kind != PT_KIND_OP && site->pt_kind != PT_KIND_COUNTER)
		id = PT_EINVAL;
	else if ((id = pt__name_check(site->pt_name)) == 0) {
		pthread_mutex_lock(&reg_lock);
		id = intern(site->pt_kind, site->pt_name);
		pthread_mutex_unlock(&reg_lock);
	}
	if (id != PT_ENOMEM)
		__atomic_store_n(&site->pt_id, id, __ATOMIC_RELEASE);
	return id;
}

int
pt_site_register(pt_site *site)
{
	return pt__site_resolve(site);
}

uint32_t
pt__site_count(int32_t kind)
{
	if (kind != PT_KIND_OP && kind != PT_KIND_COUNTER)
		return 0;
	return __atomic_load_n(&n_ids[kind - 1], __ATOMIC_ACQUIRE);
}

/* Name of id of kind (no lock needed). */
const char *
pt__site_name(int32_t kind, uint32_t id)
{
	if (kind != PT_KIND_OP && kind != PT_KIND_COUNTER)
		return NULL;
	if (id == 0 || id > pt__site_count(kind))
		return NULL;
	return by_id[kind - 1][(id - 1) / ID_CHUNK][(id - 1) % ID_CHUNK]->name;
}
