#!/usr/bin/env python3
"""The Docker runtime against the native one, on the local engine.

Usage: bench/agent/docker.py RELEASE_DIR [CYCLES] [CONTAINERS]   (default 30 and 20)

Needs a Docker engine that answers and busybox-static; builds the local test images
with scripts/docker-test-images from RELEASE_DIR/cap-testgame. Starts the release
cap-agent (RELEASE_DIR holds cap-agent and cap-testgame) on 127.0.0.1 with the
console's line-rate limit far above what one game prints, then measures:

1. start -> running: CYCLES starts of one test-game server per runtime, from the
   start command to the `running` state (the done line seen; status polled every 2 ms),
   each followed by a stop; p50 and p99;
2. console throughput: the game prints 200,000 lines (`flood 200000`); lines/s from
   the command until the agent's console history shows `flood done` (every line before
   it went through the runtime's output path: the attach stream for a container, the
   shim for a native game);
3. agent RSS (VmRSS, sampled for 5 s while the agent samples stats every second) with
   CONTAINERS running containers, and with as many native games.

Stops and removes everything at the end. A benchmark: it asserts nothing.
"""
import json, os, shutil, signal, statistics, subprocess, sys, tempfile, threading, time, urllib.request, uuid

BIN = sys.argv[1]
CYCLES = int(sys.argv[2]) if len(sys.argv) > 2 else 30
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 20
IMAGE = "ghcr.io/cap-test/yolks:busybox"
FLOOD = 200_000
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
subprocess.run([f"{ROOT}/scripts/docker-test-images", f"{BIN}/cap-testgame"], check=True)
data = tempfile.mkdtemp()
os.chmod(data, 0o711)
with open(f"{data}/agent.toml", "w") as f:
    f.write("[console]\nlines_per_second = 100000000\nhistory_lines = 1000\n")
agent = subprocess.Popen([f"{BIN}/cap-agent", "--data-dir", data, "--listen", "127.0.0.1:0", "--insecure-http", "--shared-user", "cap-bench"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={"RUST_LOG": "warn,cap_agent=info", "PATH": os.environ["PATH"]})
for line in agent.stdout:
    if "listening on " in line:
        BASE = line.split("listening on ")[1].strip()
        break
threading.Thread(target=lambda: [None for _ in agent.stdout], daemon=True).start()
TOKEN = open(f"{data}/token").read().strip()

def call(method, path, body=None):
    req = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    try:
        return json.load(urllib.request.urlopen(req, timeout=60))
    except urllib.error.HTTPError as e:
        return json.load(e)

def define(runtime, running=False):
    sid = str(uuid.uuid4())
    body = {"id": sid, "startup": f"{BIN}/cap-testgame", "donePatterns": [")! For help"],
            "environment": {"TESTGAME_DELAY_MS": "0"}, "stop": {"type": "command", "value": "stop", "graceSeconds": 10},
            "desiredState": "running" if running else "offline"}
    if runtime == "docker":
        body.update({"runtime": "docker", "image": IMAGE, "startup": "exec cap-testgame"})
    call("PUT", f"/api/servers/{sid}", body)
    return sid

def state(sid):
    return call("GET", f"/api/servers/{sid}")["data"]["status"]["state"]

def wait(sid, wanted, poll=0.002):
    while state(sid) != wanted:
        time.sleep(poll)

def command(action, sid):
    return call("POST", "/api/command", {"action": action, "serverId": sid, "timestamp": "2026-01-01T00:00:00Z",
                                         "metadata": {"requestId": "bench", "userId": "bench"}})

def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

results = {}
for runtime in ["native", "docker"]:
    sid = define(runtime)
    times = []
    for _ in range(CYCLES):
        t0 = time.monotonic()
        command("start", sid)
        wait(sid, "running")
        times.append((time.monotonic() - t0) * 1000)
        command("stop", sid)
        wait(sid, "offline", 0.01)
    call("POST", "/api/command", {"action": "start", "serverId": sid, "timestamp": "2026-01-01T00:00:00Z",
                                  "metadata": {"requestId": "bench", "userId": "bench"}})
    wait(sid, "running")
    t0 = time.monotonic()
    call("POST", f"/api/servers/{sid}/console", {"command": f"flood {FLOOD}"})
    while True:
        lines = call("GET", f"/api/servers/{sid}/console?lines=20")["data"]["lines"]
        if any(l.startswith(f"flood done {FLOOD}") for l in lines):
            break
        time.sleep(0.01)
    rate = FLOOD / (time.monotonic() - t0)
    command("stop", sid)
    wait(sid, "offline", 0.01)
    call("DELETE", f"/api/servers/{sid}?purge=true")
    results[runtime] = (statistics.median(times), pct(times, 99), rate)
    print(f"{runtime:6}: start -> running p50 {results[runtime][0]:.1f} ms, p99 {results[runtime][1]:.1f} ms "
          f"({CYCLES} cycles); console {rate:,.0f} lines/s ({FLOOD} lines)", flush=True)

idle = rss_kib(agent.pid)
for runtime in ["native", "docker"]:
    ids = [define(runtime, running=True) for _ in range(COUNT)]
    for sid in ids:
        wait(sid, "running", 0.05)
    samples = []
    for _ in range(10):
        time.sleep(0.5)
        samples.append(rss_kib(agent.pid))
    print(f"{runtime:6}: agent RSS with {COUNT} running servers: median {statistics.median(samples) / 1024:.1f} MiB, "
          f"max {max(samples) / 1024:.1f} MiB (idle agent {idle / 1024:.1f} MiB)", flush=True)
    for sid in ids:
        call("DELETE", f"/api/servers/{sid}?purge=true")

agent.send_signal(signal.SIGTERM)
agent.wait()
shutil.rmtree(data, ignore_errors=True)
