/*
 * ipc.h - internal declarations of the socket between a target and perftop:
 * the socket directory rules, framing, the wire format of snapshots, the
 * agent and the client.  A section per file.
 *
 * Wire format (all integers little-endian in the header, LEB128 varints in
 * payloads, signed values zigzag-encoded, doubles as their IEEE-754 bits in a
 * fixed 8-byte little-endian field):
 *
 *   frame   = u32 length (whole frame, header included, 8 .. PT__FRAME_MAX)
 *             u16 type (PT__MSG_*) u16 reserved (must be 0)
 *             payload (length - 8 bytes)
 *
 * A connection starts with HELLO from the viewer and WELCOME (or ERROR) from
 * the agent; the agent drops a peer that has not said HELLO within the
 * handshake deadline.  Names travel once per connection; snapshots carry a
 * sequence number, the reset epoch and, after the first, only what changed.
 */
#ifndef PT_IPC_H
#define PT_IPC_H

#include "core.h"

#include <sys/types.h>

/* ------------------------------------------------------------------------ */
/* Protocol constants                                                        */
/* ------------------------------------------------------------------------ */

#define PT__PROTO_MAGIC		0x504f5450u	/* "PTOP" little-endian */
#define PT__PROTO_VERSION	4	/* 2: predicted buckets; 3: adaptive, header deltas; 4: sparse */
#define PT__FRAME_HDR		8
#define PT__FRAME_MAX		(16u << 20)	/* 16 MiB, header included */

#define PT__HANDSHAKE_MS	2000	/* HELLO must arrive within this */
#define PT__VIEWER_BUF_MAX	(8u << 20)	/* unsent bytes per viewer */
/* How long a viewer's socket may take no byte before the agent drops it
 * (ms; 60,000; tests shorten it). */
extern int pt__agent_stall_ms;
#define PT__VIEWERS_MAX		64
#define PT__INTERVAL_MIN_MS	10
#define PT__INTERVAL_MAX_MS	60000

enum pt__msg {
	PT__MSG_HELLO = 1,	/* viewer: u32 magic, u32 version */
	PT__MSG_WELCOME = 2,	/* agent: u32 version, i32 pid, str process,
				   u64 start_real_ns, u64 uptime_ns */
	PT__MSG_ERROR = 3,	/* either: i32 code (PT_E*), str message */
	PT__MSG_SUBSCRIBE = 4,	/* viewer: u32 interval_ms (0 stops) */
	PT__MSG_SNAPSHOT_REQ = 5, /* viewer: empty; one snapshot now */
	PT__MSG_SNAPSHOT = 6,	/* agent: see codec.h */
	PT__MSG_RESET = 7,	/* viewer: empty; reset the target */
	PT__MSG_RESET_OK = 8,	/* agent: u64 new epoch */
	PT__MSG_BYE = 9,	/* viewer: empty; closing */
};

/* ------------------------------------------------------------------------ */
/* frame.c: bounded buffers, varints and frames                              */
/* ------------------------------------------------------------------------ */

/* A growable byte buffer that refuses to grow past max bytes. */
struct pt__buf {
	uint8_t		*data;
	size_t		 len;	/* bytes held, from data[off] */
	size_t		 off;	/* bytes already consumed at the front */
	size_t		 cap;
	size_t		 max;
};

void	pt__buf_init(struct pt__buf *b, size_t max);
void	pt__buf_free(struct pt__buf *b);
/* Makes room for more bytes; 0, PT_ENOMEM or PT_ERANGE (past max). */
int	pt__buf_reserve(struct pt__buf *b, size_t more);
int	pt__buf_append(struct pt__buf *b, const void *p, size_t n);
/* Drops n bytes from the front. */
void	pt__buf_consume(struct pt__buf *b, size_t n);
static inline const uint8_t *
pt__buf_head(const struct pt__buf *b)
{
	return b->data + b->off;
}

/* Encoder: appends to a buffer; the first error sticks in err. */
struct pt__enc {
	struct pt__buf	*b;
	int		 err;
};
void	pt__put_u64(struct pt__enc *e, uint64_t v);	/* varint */
void	pt__put_i64(struct pt__enc *e, int64_t v);	/* zigzag varint */
void	pt__put_f64(struct pt__enc *e, double v);	/* 8 bytes */
void	pt__put_u32le(struct pt__enc *e, uint32_t v);	/* 4 bytes */
void	pt__put_str(struct pt__enc *e, const char *s);	/* varint len, bytes */

/* Decoder over a payload; the first error (PT_EPROTO) sticks in err. */
struct pt__dec {
	const uint8_t	*p;
	const uint8_t	*end;
	int		 err;
};
uint64_t pt__get_u64(struct pt__dec *d);
/* A varint that must be <= max, else PT_EPROTO. */
uint64_t pt__get_u64max(struct pt__dec *d, uint64_t max);
int64_t	 pt__get_i64(struct pt__dec *d);
double	 pt__get_f64(struct pt__dec *d);
uint32_t pt__get_u32le(struct pt__dec *d);
/* Copies a string of at most maxlen bytes (NUL added) into buf[maxlen+1]. */
void	 pt__get_str(struct pt__dec *d, char *buf, size_t maxlen);
/* Fails with PT_EPROTO unless every byte was consumed; returns d->err. */
int	 pt__dec_finish(struct pt__dec *d);

/* Starts a frame of type in b; returns the frame's offset for _end. */
size_t	pt__frame_begin(struct pt__enc *e, uint16_t type);
/* Fills in the frame's length; PT_ERANGE if it grew past PT__FRAME_MAX. */
int	pt__frame_end(struct pt__enc *e, size_t start);

/*
 * Looks for one complete frame at the head of data[0..len).  Returns 1 and
 * fills type, payload, payload_len and frame_len when one is there; 0 when
 * more bytes are needed; PT_EPROTO for a length below the header or above
 * PT__FRAME_MAX, or a non-zero reserved field.
 */
int	pt__frame_parse(const uint8_t *data, size_t len, uint16_t *type,
	    const uint8_t **payload, size_t *payload_len, size_t *frame_len);

/* ------------------------------------------------------------------------ */
/* wire.c, snapenc.c, bucketenc.c, snapdec.c: messages and snapshots       */
/* ------------------------------------------------------------------------ */

struct pt__welcome {
	uint32_t	version;
	int32_t		pid;
	char		process[64];
	uint64_t	start_real_ns;
	uint64_t	uptime_ns;
};

int	pt__msg_hello(struct pt__buf *out);
int	pt__msg_welcome(struct pt__buf *out, const struct pt__welcome *w);
int	pt__msg_error(struct pt__buf *out, int code, const char *msg);
int	pt__msg_u64(struct pt__buf *out, uint16_t type, uint64_t v);
int	pt__msg_empty(struct pt__buf *out, uint16_t type);

/* Decoders of the small messages: 0 or PT_EPROTO / PT_EVERSION. */
int	pt__parse_hello(const uint8_t *p, size_t n, uint32_t *version);
int	pt__parse_welcome(const uint8_t *p, size_t n, struct pt__welcome *w);
int	pt__parse_error(const uint8_t *p, size_t n, int *code, char *msg,
	    size_t msglen);
int	pt__parse_u64(const uint8_t *p, size_t n, uint64_t *v);

/*
 * Sender state of one connection: which names the peer knows and the last
 * snapshot it was sent (deltas are against it).
 */
struct pt__wire_tx {
	uint32_t	 op_names;	/* op ids 1..op_names were sent */
	uint32_t	 ctr_names;
	uint64_t	 seq;
	pt_snapshot	*prev;		/* owned; NULL before the first */
	uint64_t	*sent_ver;	/* by op index: version prev holds */
	/*
	 * By op index: 1 when prev holds no buckets for the op, the viewer
	 * having those of the cache share_id (0: the last snapshot was not
	 * a cache's, none is shared) at version sent_ver (snapenc.c, "Shared
	 * operations").  lost: one is gone, the next snapshot is FULL.
	 */
	uint8_t		*shared;
	uint64_t	 share_id;
	int		 lost;
	void		*scratch;	/* owned: the encoder's work space */
	/* The last encode: operations sent from a cache's change lists,
	 * and of those the ones whose buckets the viewer shared with the
	 * cache (tests, benchmarks). */
	size_t		 st_list;
	size_t		 st_shared;
};

/* Receiver state of one connection: known names and the current totals. */
struct pt__wire_rx {
	char		**op_names;	/* by id - 1 */
	uint32_t	  n_op_names;
	char		**ctr_names;
	uint32_t	  n_ctr_names;
	uint64_t	  seq;
	uint64_t	  n_full;	/* FULL snapshots decoded */
	pt_snapshot	 *cur;		/* owned; the last decoded snapshot */
	int32_t		  pid;
	char		  process[64];
	void		 *scratch;	/* owned: the decoder's work space */
};

void	pt__wire_tx_init(struct pt__wire_tx *tx);
void	pt__wire_tx_done(struct pt__wire_tx *tx);
void	pt__wire_rx_init(struct pt__wire_rx *rx);
void	pt__wire_rx_done(struct pt__wire_rx *rx);

/*
 * Appends one SNAPSHOT frame for s to out: new names, then the operations
 * and counters that changed since tx->prev (everything when there is no
 * prev or the epoch changed).  Updates tx.  Returns 0, PT_ENOMEM or
 * PT_ERANGE.
 */
int	pt__wire_encode_snapshot(struct pt__wire_tx *tx, const pt_snapshot *s,
	    struct pt__buf *out);

/*
 * The same, given ver[i], a version of s->ops[i] that changes whenever the
 * operation does (struct pt__snapcache): operations whose version is the
 * one last sent are skipped without a look at their buckets.
 */
int	pt__wire_encode_snapshot_ver(struct pt__wire_tx *tx,
	    const pt_snapshot *s, const uint64_t *ver, struct pt__buf *out);

/*
 * The same for the snapshot of cache c (c->cur, with c->ver): operations
 * its last refresh updated from the journals are sent from the changes it
 * listed (struct pt__snapop) when the viewer has the version they start
 * from, without comparing buckets.  The viewer keeps no copy of the
 * buckets: it shares the cache's (snapenc.c, "Shared operations").  The
 * bytes are those of pt__wire_encode_snapshot_ver(), unless the viewer
 * missed a refresh it was not kept through (pt__wire_tx_keep()): then
 * they are a FULL snapshot.
 */
int	pt__wire_encode_snapshot_cache(struct pt__wire_tx *tx,
	    const struct pt__snapcache *c, struct pt__buf *out);

/*
 * To be called after each refresh of cache c that tx, fed from c, is not
 * sent a snapshot of: gives tx its own copy of each operation it shared
 * with c that the refresh changed, so that its next snapshot is still a
 * delta.  0, or PT_ENOMEM (the next snapshot is FULL).
 */
int	pt__wire_tx_keep(struct pt__wire_tx *tx, const struct pt__snapcache *c);

/*
 * Decodes a SNAPSHOT payload against rx and stores a new, complete snapshot
 * in *out (the caller frees it).  Rejects anything malformed with PT_EPROTO
 * and leaves rx unchanged then.
 */
int	pt__wire_decode_snapshot(struct pt__wire_rx *rx, const uint8_t *p,
	    size_t n, pt_snapshot **out);

/* Deep copy of a snapshot; NULL when out of memory. */
pt_snapshot *pt__snapshot_copy(const pt_snapshot *s);

/* Test hook: non-zero makes the encoder use only the list form of bucket
 * changes (to measure what the packed form saves).  0 by default. */
extern int pt__wire_force_list;
/* Test hook: non-zero keeps the encoder from the predicted form. */
extern int pt__wire_no_pred;
/* Test hook: non-zero keeps the encoder from the adaptive form. */
extern int pt__wire_no_adapt;
/* Test hook: non-zero keeps the encoder from the sparse form. */
extern int pt__wire_no_sparse;
/* Test hook: non-zero makes pt__wire_tx_keep() find no memory for the
 * copies it makes. */
extern int pt__wire_keep_oom;
/* Test hook: whether the packed form's parameter and size for events in
 * the n buckets idx (ascending), cnt[j] >= 1 in each, are those of trying
 * every parameter (bucketenc.c, packed_best()). */
int	pt__wire_packed_check(const uint32_t *idx, const uint64_t *cnt,
	    size_t n);

/* ------------------------------------------------------------------------ */
/* sockpath.c: where sockets live, and whether that place is safe            */
/* ------------------------------------------------------------------------ */

/*
 * Resolves the socket directory: $PERFTOP_SOCKET_DIR, else
 * $XDG_RUNTIME_DIR/perftop when XDG_RUNTIME_DIR is usable, else
 * /tmp/perftop-UID.  With create, makes it mode 0700 if missing.  Refuses a
 * symlink, a directory not owned by the effective uid or one that group or
 * others can access (PT_EPERM); a missing directory without create is
 * PT_ENOENT.  On failure err (errlen bytes) says why in one line.
 */
int	pt__sockdir(char *buf, size_t len, int create, char *err,
	    size_t errlen);
/* The socket path of pid in dir. */
int	pt__sockpath(const char *dir, pid_t pid, char *buf, size_t len);
/*
 * The directory of pid's agent for a client: pt__sockdir()'s, except for
 * root looking for another user's process (and no PERFTOP_SOCKET_DIR of
 * its own): then the same rules applied to that user's uid and the
 * process's environment, and the same checks against that uid.  0 or a
 * PT_E* code with err filled.
 */
int	pt__sockdir_of(pid_t pid, char *buf, size_t len, char *err,
	    size_t errlen);

/* ------------------------------------------------------------------------ */
/* agent.c                                                                   */
/* ------------------------------------------------------------------------ */

/* (pt_agent_start / pt_agent_stop are public; see perftop.h.) */

/* ------------------------------------------------------------------------ */
/* client.c                                                                  */
/* ------------------------------------------------------------------------ */

struct pt__client;

enum pt__event_type {
	PT__EV_SNAPSHOT = 1,	/* snap is set; the caller frees it */
	PT__EV_RESET_OK,	/* epoch is set */
	PT__EV_ERROR,		/* code and msg are set */
};

struct pt__event {
	int		 type;
	pt_snapshot	*snap;
	uint64_t	 epoch;
	int		 code;
	char		 msg[256];
};

/*
 * Connects to the agent of pid and completes the handshake within
 * timeout_ms.  Returns 0 and *out, or: PT_EINVAL (pid <= 0), PT_ENOENT (no
 * such process, or a process that is not instrumented), PT_EPERM (unsafe
 * socket directory, or refused by the agent), PT_EVERSION, PT_ETIMEDOUT,
 * PT_ECLOSED, PT_EPROTO, PT_ESYS.  err receives one line saying why.
 */
int	pt__client_open(pid_t pid, int timeout_ms, struct pt__client **out,
	    char *err, size_t errlen);
/* The same, asking for a snapshot in the same round trip as the HELLO
 * (for one-shot clients such as perftop dump). */
int	pt__client_open_req(pid_t pid, int timeout_ms,
	    struct pt__client **out, char *err, size_t errlen);
void	pt__client_close(struct pt__client *c);
const struct pt__welcome *pt__client_welcome(const struct pt__client *c);
/* The socket, for poll(); readable means pt__client_next may have news. */
int	pt__client_fd(const struct pt__client *c);
/* How many of the snapshots received were FULL ones (tests). */
uint64_t pt__client_fulls(const struct pt__client *c);

int	pt__client_subscribe(struct pt__client *c, uint32_t interval_ms);
int	pt__client_request(struct pt__client *c);
int	pt__client_reset(struct pt__client *c);

/*
 * Waits up to timeout_ms (0: do not wait, -1: forever) for the next event.
 * Returns 1 with *ev filled, 0 on timeout, or PT_ECLOSED (the target went
 * away), PT_EPROTO (malformed data; the connection is unusable) or PT_ESYS.
 */
int	pt__client_next(struct pt__client *c, int timeout_ms,
	    struct pt__event *ev);

#endif /* PT_IPC_H */
