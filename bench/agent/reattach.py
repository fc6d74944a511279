#!/usr/bin/env python3
"""Idle memory of the per-server shims and an agent restart with running games.

Usage: bench/agent/reattach.py RELEASE_DIR [GAMES]   (default 100 games)

Starts the release cap-agent (RELEASE_DIR holds cap-agent and cap-testgame) on
127.0.0.1 with GAMES running test games (one shared user `cap-bench` when run as
root), prints the private memory (Private_* of smaps_rollup) of their idle shims,
SIGKILLs the agent, starts a new one on the same data directory and prints how long
it took to listen and until all games were `running` again, and how many kept their
PID. Stops everything at the end. A benchmark: it asserts nothing.
"""
import json, os, shutil, signal, subprocess, sys, tempfile, time, urllib.request, uuid

BIN = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100
data = tempfile.mkdtemp()
def start():
    p = subprocess.Popen([f"{BIN}/cap-agent", "--data-dir", data, "--listen", "127.0.0.1:0", "--insecure-http", "--shared-user", "cap-bench"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={"RUST_LOG": "info", "PATH": os.environ["PATH"]})
    t0 = time.monotonic()
    for line in p.stdout:
        if "listening on " in line:
            base = line.split("listening on ")[1].strip()
            break
    return p, base, time.monotonic() - t0
def call(base, method, path, body=None):
    token = open(f"{data}/token").read().strip()
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
p, base, _ = start()
ids = [str(uuid.uuid4()) for _ in range(N)]
for i in ids:
    call(base, "PUT", f"/api/servers/{i}", {"id": i, "startup": f"{BIN}/cap-testgame", "donePatterns": [")! For help"], "desiredState": "running",
         "environment": {"TESTGAME_DELAY_MS": "0"}})
def running(base):
    lst = call(base, "GET", "/api/servers")["data"]
    return {s["definition"]["id"]: s["status"].get("pid") for s in lst if s["status"]["state"] == "running"}
while len(running(base)) < N: time.sleep(0.1)
before = running(base)
shims = subprocess.run(["pgrep", "-f", f"cap-agent shim --socket {data}/shims"], capture_output=True, text=True).stdout.split()
def private(pid):
    return sum(int(l.split()[1]) for l in open(f"/proc/{pid}/smaps_rollup") if l.startswith("Private_"))
priv = sorted(private(s) for s in shims)
print(f"shims: {len(shims)}, private KiB per idle shim: min {priv[0]} median {priv[len(priv)//2]} max {priv[-1]}")
p.send_signal(signal.SIGKILL); p.wait()
t0 = time.monotonic()
p, base, listen = start()
while True:
    r = running(base)
    if len(r) == N: break
    time.sleep(0.02)
total = time.monotonic() - t0
same = sum(1 for k, v in r.items() if before.get(k) == v)
print(f"restart with {N} running games: listening after {listen:.3f} s, all running after {total:.3f} s, same PID: {same}/{N}")
p.send_signal(signal.SIGTERM); p.wait()
shutil.rmtree(data, ignore_errors=True)
