#!/usr/bin/env python3
"""The agent's schedules: cost of 1,000 active cron schedules, and event-trigger latency.

Usage: bench/agent/schedules.py RELEASE_DIR [SERVERS] [SECONDS]   (default 100 servers, 120 s)

Starts the release cap-agent (RELEASE_DIR holds cap-agent and cap-testgame) on 127.0.0.1
with SERVERS running test games (one shared user `cap-bench` when run as root), then:

1. measures the agent's CPU time (utime+stime from /proc) and RSS over SECONDS with no
   schedules, then again with 10 schedules per server (cron `* * * * *`, one task that
   waits a second, so the games print nothing more: SERVERS*10 runs a minute, each
   stored three times and published), and prints
   the difference in % of one core and MiB;
2. on one server, a `console_line` schedule answers `say ping N` with a command task:
   200 times, the time from the `console` event carrying the matching line to the first
   `scheduleRun` event of that run (written when its first task starts), p50 and p99
   (both timestamps are the agent's own).

Stops everything at the end. A benchmark: it asserts nothing.
"""
import base64, json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time, urllib.request, uuid
from datetime import datetime

BIN = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100
WINDOW = int(sys.argv[3]) if len(sys.argv) > 3 else 120
data = tempfile.mkdtemp()
agent = subprocess.Popen([f"{BIN}/cap-agent", "--data-dir", data, "--listen", "127.0.0.1:0", "--insecure-http", "--shared-user", "cap-bench"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={"RUST_LOG": "warn,cap_agent=info", "PATH": os.environ["PATH"]})
for line in agent.stdout:
    if "listening on " in line:
        base = line.split("listening on ")[1].strip()
        break
token = open(f"{data}/token").read().strip()

def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))

def definition(i, schedules):
    return {"id": i, "startup": f"{BIN}/cap-testgame", "donePatterns": [")! For help"], "desiredState": "running",
            "environment": {"TESTGAME_DELAY_MS": "0"}, "schedules": schedules}

def cpu_seconds():
    fields = open(f"/proc/{agent.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def rss_mib():
    for l in open(f"/proc/{agent.pid}/status"):
        if l.startswith("VmRSS:"):
            return int(l.split()[1]) / 1024

def measure():
    time.sleep(5)
    c0, t0 = cpu_seconds(), time.monotonic()
    peak = 0.0
    while time.monotonic() - t0 < WINDOW:
        time.sleep(1)
        peak = max(peak, rss_mib())
    return 100 * (cpu_seconds() - c0) / (time.monotonic() - t0), peak

ids = [str(uuid.uuid4()) for _ in range(N)]
for i in ids:
    call("PUT", f"/api/servers/{i}", definition(i, []))
while sum(1 for s in call("GET", "/api/servers")["data"] if s["status"]["state"] == "running") < N:
    time.sleep(0.1)
cpu0, rss0 = measure()
print(f"{N} running games, no schedules: agent CPU {cpu0:.2f} % of a core, RSS peak {rss0:.1f} MiB")
tick = lambda: {"id": str(uuid.uuid4()), "name": "tick", "trigger": {"type": "cron", "expression": "* * * * *", "timezone": "Europe/Berlin"},
                "tasks": [{"type": "wait", "seconds": 1}]}
for i in ids:
    call("PUT", f"/api/servers/{i}", definition(i, [tick() for _ in range(10)]))
cpu1, rss1 = measure()
runs = sum(len(call("GET", f"/api/servers/{i}/schedule-runs?after=0")["data"]) for i in ids)
print(f"{N * 10} cron schedules (every minute): agent CPU {cpu1:.2f} % of a core (+{cpu1 - cpu0:.2f}), "
      f"RSS peak {rss1:.1f} MiB (+{rss1 - rss0:.1f}); {runs} run records kept")

# Event trigger latency over the event WebSocket (a minimal client: text frames only).
for i in ids:
    call("PUT", f"/api/servers/{i}", definition(i, []))
probe = ids[0]
call("PUT", f"/api/servers/{probe}", definition(probe, [{"id": str(uuid.uuid4()), "name": "answer",
     "trigger": {"type": "console_line", "pattern": "regex:^\\[Server\\] ping \\d+$"}, "tasks": [{"type": "command", "command": "say pong"}]}]))
host, port = base.split("//")[1].split(":")
sock = socket.create_connection((host, int(port)))
key = base64.b64encode(os.urandom(16)).decode()
sock.sendall((f"GET /api/events HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n").encode())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += sock.recv(4096)
buf = buf.split(b"\r\n\r\n", 1)[1]
def frame():
    global buf
    def need(n):
        global buf
        while len(buf) < n:
            buf += sock.recv(65536)
    need(2)
    length, at = buf[1] & 0x7F, 2
    if length == 126:
        need(4); length, at = int.from_bytes(buf[2:4], "big"), 4
    elif length == 127:
        need(10); length, at = int.from_bytes(buf[2:10], "big"), 10
    need(at + length)
    payload, buf = buf[at:at + length], buf[at + length:]
    return json.loads(payload) if payload[:1] == b"{" else None
def stamp(e):
    whole, _, rest = e["timestamp"].rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (rest or "0"))
delays = []
for n in range(200):
    call("POST", f"/api/servers/{probe}/console", {"command": f"say ping {n}"})
    seen = None
    while True:
        e = frame()
        if not e or e.get("serverId", e.get("run", {}).get("serverId")) != probe:
            continue
        if e["type"] == "console" and f"[Server] ping {n}" in e["lines"]:
            seen = stamp(e)
        elif e["type"] == "scheduleRun" and seen is not None and e["run"]["outcome"] == "running":
            delays.append(stamp(e) - seen)
        elif e["type"] == "scheduleRun" and seen is not None and e["run"]["outcome"] != "running":
            break
delays.sort()
print(f"console-line trigger → first task: p50 {1000 * statistics.median(delays):.2f} ms, "
      f"p99 {1000 * delays[int(len(delays) * 0.99) - 1]:.2f} ms ({len(delays)} runs)")
agent.send_signal(signal.SIGTERM); agent.wait()
shutil.rmtree(data, ignore_errors=True)
