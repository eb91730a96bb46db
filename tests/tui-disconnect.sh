#!/usr/bin/env bash
# tui-disconnect.sh - when the connection ends but the target lives on (it
# closes the socket, or sends malformed data), the header says
# "disconnected", the status line says why, the view stays up, and q quits
# with status 0.  The target here is a small fake agent (python3) that
# completes the handshake and then misbehaves.
. "$(dirname "$0")/tui-lib.sh"
need_cmd python3

# fake_agent MODE: serves $PERFTOP_SOCKET_DIR/<its PID>.sock; after the
# first SUBSCRIBE it waits a second, then closes the connection ("close")
# or sends a frame whose length is out of range ("garbage"); it stays alive.
cat >"$PT_WORK/fake-agent.py" <<'EOF'
import os, socket, struct, sys, time

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def frame(msg_type, payload):
    return struct.pack("<IHH", 8 + len(payload), msg_type, 0) + payload

mode = sys.argv[1]
pid = os.getpid()
path = os.path.join(os.environ["PERFTOP_SOCKET_DIR"], "%d.sock" % pid)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(4)
while True:
    conn, _ = srv.accept()
    hello = conn.recv(64)                           # HELLO
    version = hello[12]         # after the header and the magic: speak it
    name = b"fake-agent"
    welcome = (varint(version) + varint(pid << 1) + varint(len(name)) + name +
               varint(time.time_ns()) + varint(5 * 10**9))
    conn.sendall(frame(2, welcome))                 # WELCOME
    conn.recv(64)                                   # SUBSCRIBE
    time.sleep(1)
    if mode == "garbage":
        conn.sendall(b"\xff" * 16)                  # length > maximum
        time.sleep(0.5)
    conn.close()
EOF
fake_agent() {
	python3 "$PT_WORK/fake-agent.py" "$1" &
	BG_PID=$!
	PT_PIDS+=("$BG_PID")
	wait_until 10 test -S "$PERFTOP_SOCKET_DIR/$BG_PID.sock" ||
	    fail "the fake agent does not serve"
}

for mode in close garbage; do
	fake_agent "$mode"
	agent=$BG_PID
	tui_start 100 30 "$PERFTOP" attach "$agent"
	tui_wait 10 "^fake-agent +PID $agent " || tui_fail "$mode: the view did not start"
	tui_wait 10 "^fake-agent +PID $agent .* disconnected " ||
	    tui_fail "$mode: the header does not say disconnected"
	tui_wait 5 'disconnected: ' || tui_fail "$mode: the status line does not say why"
	note "$mode: $(tui_cap | grep 'disconnected: ')"
	pt_alive "$agent" || fail "$mode: the fake agent died"
	# Still "disconnected" (not "process exited") a moment later.
	sleep 1.5
	tui_has ' disconnected ' || tui_fail "$mode: the state changed"
	tui_has 'process exited' && tui_fail "$mode: says exited while the process lives"
	# w has nothing to write (no snapshot came), and says so.
	tui_keys w
	tui_wait 5 'nothing to write' || tui_fail "$mode: w says nothing"
	[ -z "$(tui_dead_status)" ] || tui_fail "$mode: perftop exited by itself"
	tui_keys q
	wait_until 10 tui_exited 0 || tui_fail "$mode: q did not exit with status 0"
	tmux_ kill-session -t main 2>/dev/null
	stop_pid "$agent"
done

# The target goes away after the disconnection: the state follows.
fake_agent close
agent=$BG_PID
tui_start 100 30 "$PERFTOP" attach "$agent"
tui_wait 10 ' disconnected ' || tui_fail "the header does not say disconnected"
stop_pid "$agent" KILL
tui_wait 5 ' process exited ' || tui_fail "the header does not follow the exit"
tui_keys q
wait_until 10 tui_exited 0 || tui_fail "q did not exit with status 0"
pass
