/*
 * agent.h - the state of the agent thread, shared by agent.c (the thread,
 * start, stop, exit and fork) and viewer.c (its viewers).  Internal to the
 * library; ipc.h is included for the rest.
 */
#ifndef PT_IPC_AGENT_H
#define PT_IPC_AGENT_H

#include "ipc.h"

#include <pthread.h>
#include <sys/types.h>
#include <sys/un.h>

#define AGENT_MS	1000000ull	/* ns in a millisecond */

enum pt__viewer_state {
	V_FREE = 0,
	V_HELLO,		/* connected, HELLO not seen yet */
	V_READY,		/* WELCOME sent */
};

/* A viewer: a connection, its buffers and what it was last sent. */
struct pt__viewer {
	int		 fd;		/* -1 when free; see pt__viewer_close() */
	int		 state;
	uint64_t	 deadline;	/* V_HELLO: drop at this time (ns) */
	uint32_t	 interval_ms;	/* 0: not streaming */
	uint64_t	 due;		/* next streamed snapshot (ns) */
	int		 want;		/* owed a snapshot now */
	uint64_t	 stall_from;	/* the socket refused bytes since (0: no) */
	struct pt__buf	 in;
	struct pt__buf	 out;
	struct pt__wire_tx tx;
};

/*
 * The agent (one per process).  The fields up to bound_pid are shared with
 * callers under mu (agent.c); the rest belong to the agent thread while it
 * runs.
 */
struct pt__agent {
	pthread_mutex_t	 mu;		/* start, stop and fork */
	int		 running;	/* the thread exists; under mu */
	int		 stop;		/* atomic: asks the thread to leave */
	pthread_t	 thread;
	int		 lfd;		/* listening socket */
	int		 wfd;		/* eventfd that wakes the thread */
	/* The socket we bound, for pt_agent_stop() and the atexit handler. */
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t		 dev;
	ino_t		 ino;
	pid_t		 bound_pid;	/* atomic; 0 when nothing is bound */

	/* Everything below belongs to the agent thread while it runs. */
	uint64_t	 start_mono;	/* when the library started */
	uint64_t	 start_real;
	uint64_t	 accept_pause;	/* do not accept before this (ns) */
	int		 n_viewers;
	struct pt__viewer viewers[PT__VIEWERS_MAX];
	struct pt__snapcache cache;	/* the snapshot every viewer gets */
};

extern struct pt__agent pt__agent;

/* ------------------------------------------------------------------------ */
/* viewer.c (every function on the agent thread)                             */
/* ------------------------------------------------------------------------ */

/* Closes a viewer and frees what it owns (the slot becomes V_FREE). */
void	pt__viewer_close(struct pt__viewer *v);
/* Sends what v's output buffer holds without blocking; -1: broken. */
int	pt__viewer_flush(struct pt__viewer *v);
/* Reads what v sent and handles its complete frames; may close v. */
void	pt__viewer_read(struct pt__viewer *v);
/* Accepts waiting viewers (peers of another user are closed at once). */
void	pt__agent_accept(uint64_t now);
/* Drops late handshakes and stalled viewers; sends the snapshots owed. */
void	pt__agent_run_timers(uint64_t now);
/* Milliseconds until the earliest deadline, for poll(); -1 for none. */
int	pt__agent_poll_timeout(uint64_t now);

#endif /* PT_IPC_AGENT_H */
