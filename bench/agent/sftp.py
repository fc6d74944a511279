#!/usr/bin/env python3
"""The agent's SFTP server against OpenSSH's sftp-server.

Usage: bench/agent/sftp.py RELEASE_DIR [MIB] [RUNS]   (default a 1024 MiB file, 3 runs)

Starts the release cap-agent (RELEASE_DIR holds cap-agent) on 127.0.0.1 with SFTP on a
free port and one server defined; the benchmark plays the panel on the agent's event
WebSocket and grants every SFTP login (the panel's own checks are not what is measured).
It also starts OpenSSH's sshd on 127.0.0.1 with a configuration, host key and port of its
own (`Subsystem sftp /usr/lib/openssh/sftp-server`, key login only), and stops it at the
end. The client is OpenSSH's `sftp -b` both times, with the same cipher
(aes256-gcm@openssh.com) and the same key. Then:

1. upload and download of one MIB MiB file (random bytes) through each server, RUNS
   times each, best and median MiB/s (the file is checked by size after each upload and
   removed between runs; reads come from the page cache both times);
2. the agent's peak RSS while 20 transfers run at once (10 uploads, 10 downloads of a
   128 MiB file), sampled every 50 ms, against its RSS just before;
3. the idle agent's RSS 10 s after start with the SFTP server listening and with
   `[sftp] enabled = false` (no panel connected, no servers).

Needs openssh-server (apt-get install openssh-server) and openssh-client; run as root
(sshd and its login). Stops everything at the end. A benchmark: it asserts nothing.
"""
import base64, json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.request, uuid

BIN = sys.argv[1]
MIB = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
CIPHER = "aes256-gcm@openssh.com"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
work = tempfile.mkdtemp(prefix="cap-bench-sftp-")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def start_agent(data, sftp_toml):
    os.makedirs(data, exist_ok=True)
    with open(f"{data}/agent.toml", "w") as f:
        f.write(sftp_toml)
    agent = subprocess.Popen([f"{BIN}/cap-agent", "--data-dir", data, "--listen", "127.0.0.1:0", "--insecure-http"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env={"RUST_LOG": "warn,cap_agent=info", "PATH": os.environ["PATH"]})
    for line in agent.stdout:
        if "listening on " in line:
            base = line.split("listening on ")[1].strip()
            break
    threading.Thread(target=lambda: [None for _ in agent.stdout], daemon=True).start()
    return agent, base, open(f"{data}/token").read().strip()


def call(base, token, method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))


def play_panel(base, token, server_id):
    """Holds the agent's event WebSocket and grants every SFTP question (text frames only)."""
    host, port = base.split("//")[1].split(":")
    sock = socket.create_connection((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /api/events HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(4096)
    buf = buf.split(b"\r\n\r\n", 1)[1]

    def send(text):
        payload, mask = text.encode(), os.urandom(4)
        n = len(payload)
        head = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
        sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def run():
        nonlocal buf
        while True:
            while len(buf) < 2:
                buf += sock.recv(65536)
            length, at = buf[1] & 0x7F, 2
            if length == 126:
                while len(buf) < 4:
                    buf += sock.recv(65536)
                length, at = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                while len(buf) < 10:
                    buf += sock.recv(65536)
                length, at = int.from_bytes(buf[2:10], "big"), 10
            while len(buf) < at + length:
                buf += sock.recv(65536)
            opcode, payload, buf = buf[0] & 0x0F, buf[at:at + length], buf[at + length:]
            if opcode != 1:
                continue
            frame = json.loads(payload)
            if frame.get("type") in ("sftpLogin", "sftpAccess") and "requestId" in frame:
                grant = {"outcome": "granted", "userId": "bench", "serverId": server_id,
                         "read": True, "write": True, "delete": True}
                send(json.dumps({"requestId": frame["requestId"], "verdict": grant}))

    threading.Thread(target=run, daemon=True).start()


def start_sshd(port, key):
    d = f"{work}/sshd"
    os.makedirs(d)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/host_key"], check=True)
    shutil.copy(f"{key}.pub", f"{d}/authorized_keys")
    with open(f"{d}/sshd_config", "w") as f:
        f.write(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n"
                f"AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                f"PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nSubsystem sftp {SFTP_SERVER}\n")
    os.makedirs("/run/sshd", exist_ok=True)
    sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", f"{d}/sshd_config"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return sshd
        except OSError:
            time.sleep(0.1)
    raise SystemExit("sshd did not start")


def sftp(user, port, key, batch, cwd):
    path = f"{cwd}/batch-{uuid.uuid4()}"
    with open(path, "w") as f:
        f.write(batch)
    subprocess.run(["sftp", "-q", "-b", path, "-P", str(port), "-i", key, "-c", CIPHER,
                    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
                    "-o", "LogLevel=ERROR", f"{user}@127.0.0.1"], cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    os.unlink(path)


def throughput(name, user, port, key, remote_dir, remote_prefix):
    up, down = [], []
    for _ in range(RUNS):
        t0 = time.monotonic()
        sftp(user, port, key, f"put big.bin {remote_prefix}big.bin\n", work)
        up.append(MIB / (time.monotonic() - t0))
        assert os.path.getsize(f"{remote_dir}/big.bin") == MIB << 20
        t0 = time.monotonic()
        sftp(user, port, key, f"get {remote_prefix}big.bin back.bin\n", work)
        down.append(MIB / (time.monotonic() - t0))
        assert os.path.getsize(f"{work}/back.bin") == MIB << 20
        os.unlink(f"{remote_dir}/big.bin")
        os.unlink(f"{work}/back.bin")
    row = lambda xs: f"best {max(xs):7.1f} MiB/s, median {statistics.median(xs):7.1f} MiB/s"
    print(f"{name:<30} upload   {row(up)}")
    print(f"{name:<30} download {row(down)}")
    return max(up), max(down)


key = f"{work}/id_ed25519"
subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
with open(f"{work}/big.bin", "wb") as f:
    for _ in range(MIB):
        f.write(os.urandom(1 << 20))

server_id = str(uuid.uuid4())
data = f"{work}/agent"
agent, base, token = start_agent(data, '[sftp]\nlisten = "127.0.0.1:0"\nmax_sessions_per_user = 32\n')
call(base, token, "PUT", f"/api/servers/{server_id}",
     {"id": server_id, "startup": "true", "donePatterns": ["done"], "desiredState": "offline"})
sftp_port = call(base, token, "GET", "/api/system")["data"]["sftp"]["port"]
play_panel(base, token, server_id)
ssh_port = free_port()
sshd = start_sshd(ssh_port, key)
user = f"bench.{server_id[-8:]}"
server_dir = f"{data}/servers/{server_id}"
try:
    print(f"{MIB} MiB file, {RUNS} runs each, sftp -b with {CIPHER}")
    ours = throughput("cap-agent SFTP", user, sftp_port, key, server_dir, "")
    os.makedirs(f"{work}/remote")
    theirs = throughput("OpenSSH sshd + sftp-server", "root", ssh_port, key, f"{work}/remote", f"{work}/remote/")
    print(f"cap-agent / OpenSSH: upload {100 * ours[0] / theirs[0]:.0f} %, download {100 * ours[1] / theirs[1]:.0f} %")

    # 20 transfers at once: 10 uploads and 10 downloads of a 128 MiB file.
    with open(f"{work}/mid.bin", "wb") as f:
        for _ in range(128):
            f.write(os.urandom(1 << 20))
    for i in range(10):
        shutil.copy(f"{work}/mid.bin", f"{server_dir}/down{i}.bin")
    time.sleep(2)
    before = rss_kib(agent.pid)
    jobs = [threading.Thread(target=sftp, args=(user, sftp_port, key, f"put mid.bin up{i}.bin\n", work)) for i in range(10)]
    jobs += [threading.Thread(target=sftp, args=(user, sftp_port, key, f"get down{i}.bin got{i}.bin\n", work)) for i in range(10)]
    t0 = time.monotonic()
    for j in jobs:
        j.start()
    peak = before
    while any(j.is_alive() for j in jobs):
        peak = max(peak, rss_kib(agent.pid))
        time.sleep(0.05)
    took = time.monotonic() - t0
    print(f"20 concurrent transfers (10 up, 10 down, 128 MiB each) in {took:.1f} s ({20 * 128 / took:.0f} MiB/s in all): "
          f"agent RSS {before / 1024:.1f} MiB before, peak {peak / 1024:.1f} MiB (+{(peak - before) / 1024:.1f})")
finally:
    sshd.terminate(); sshd.wait()
    agent.terminate(); agent.wait()

# Idle RSS with and without the SFTP server.
idle = {}
for label, toml in (("disabled", "[sftp]\nenabled = false\n"), ("listening", '[sftp]\nlisten = "127.0.0.1:0"\n')):
    d = f"{work}/idle-{label}"
    a, _, _ = start_agent(d, toml)
    time.sleep(10)
    idle[label] = rss_kib(a.pid)
    a.terminate(); a.wait()
print(f"idle agent RSS: SFTP disabled {idle['disabled'] / 1024:.2f} MiB, listening {idle['listening'] / 1024:.2f} MiB "
      f"({(idle['listening'] - idle['disabled']) / 1024:+.2f} MiB)")
shutil.rmtree(work, ignore_errors=True)
