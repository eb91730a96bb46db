/*
 * agent-test.h - what the files of test-agent (tests/test-agent.c and the
 * tests in tests/agent/) share: the includes, the socket directory of the
 * run, the helpers of helpers.c and the tables of tests of the files.
 */
#ifndef PT_TESTS_AGENT_TEST_H
#define PT_TESTS_AGENT_TEST_H

#include "ipc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include <CUnit/Basic.h>

#include "../cunit.h"

#define PATH_LEN	sizeof(((struct sockaddr_un *)0)->sun_path)

/*
 * The run's socket directory (a fresh mkdtemp directory, also
 * PERFTOP_SOCKET_DIR) and the agent's socket in it (helpers.c, set by
 * suite_init()).
 */
extern char	tmpdir[64];
extern char	sockfile[PATH_LEN];

/* Reader of raw frames. */
struct raw_in {
	int		 fd;
	struct pt__buf	 buf;
	size_t		 consume;
};

/* helpers.c */
uint64_t	 now_ms(void);
void		 sleep_ms(int ms);
int		 exists(const char *path);
pid_t		 find_thread(const char *name);
int		 raw_connect(void);
int		 raw_send(int fd, const void *p, size_t n);
int		 raw_send_buf(int fd, struct pt__buf *b);
void		 raw_in_init(struct raw_in *r, int fd);
int		 raw_frame(struct raw_in *r, int ms, uint16_t *type,
		     const uint8_t **p, size_t *n);
int		 raw_welcomed(struct raw_in *r);
void		 raw_close(struct raw_in *r);
struct pt__client *open_self(void);
pt_snapshot	*next_snapshot(struct pt__client *c, int ms);
pt_snapshot	*fresh_snapshot(struct pt__client *c, int ms);
int		 suite_init(void);
int		 suite_clean(void);

/*
 * The tests of each file, ending with { NULL, NULL }: test-agent.c runs
 * them as one suite, in the order of its tables[].
 */

/* sockdir.c */
extern const struct cunit_test sockdir_tests[];

/* lifecycle.c */
extern const struct cunit_test lifecycle_tests[];

/* client.c */
extern const struct cunit_test client_tests[];

/* protocol.c */
extern const struct cunit_test protocol_tests[];

/* process.c */
extern const struct cunit_test process_tests[];

/* slow-viewer.c */
extern const struct cunit_test slow_viewer_tests[];

#endif /* PT_TESTS_AGENT_TEST_H */
