#!/usr/bin/env python3
"""Backup and restore throughput and memory of a release cap-agent (Python 3, no packages).

    bench/agent/backup.py RELEASE_DIR [--mib 1024] [--work DIR] [--json FILE]

Generates a server directory of mixed files (text and JSON that compress well, world
regions that compress somewhat, archives that do not, thousands of small configs), then
measures with a fresh agent per run, so each peak is that run's own:

* local backup, tar + zstd (the default) and tar + gzip;
* S3 backup as a multipart upload through presigned URLs to `s3s-fs` on 127.0.0.1
  (signatures checked; `cargo install s3s-fs@0.14.1 --features binary`);
* restore of the local zstd backup and of the S3 one (emptying the directory first);
* `tar czf` of the same directory, the baseline a host would use by hand.

Throughput is server bytes read (or written, for restores) per second of wall time from
the request to the completed record. Memory is the agent's peak RSS (VmHWM) minus its RSS
when idle with the server defined. It asserts nothing.
"""

import argparse
import datetime
import hashlib
import hmac
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

MIB = 1024 * 1024
ACCESS, SECRET, REGION, BUCKET = "bench-access", "bench-secret-key", "us-east-1", "backups"
PART_SIZE = 8 * MIB

WORDS = ("player joined left the game chunk saved world tick took ms server overloaded "
         "inventory spawn entity zombie skeleton creeper block placed broken at x y z "
         "INFO WARN ERROR [Server thread] true false null id name uuid health level").split()


def generate(root, total):
    """A mixed server directory of about `total` bytes."""
    rng = random.Random(42)
    made = 0

    def put(path, data):
        nonlocal made
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
        made += len(data)

    def text(size):
        out, n = [], 0
        while n < size:
            line = " ".join(rng.choices(WORDS, k=12)) + " %d\n" % rng.randrange(1 << 30)
            out.append(line)
            n += len(line)
        return "".join(out).encode()[:size]

    for i in range(2000):  # small configs and plugin data
        put("plugins/p%d/config%d.yml" % (i % 50, i), text(rng.randrange(1024, 64 * 1024)))
    i = 0
    while made < total:
        share = made / total
        if share < 0.35:  # logs and JSON
            put("logs/%d.log" % i, text(4 * MIB))
        elif share < 0.70:  # world regions: random sectors with zeroed padding
            sectors = [os.urandom(4096) if rng.random() < 0.5 else bytes(4096) for _ in range(1024)]
            put("world/region/r.%d.mca" % i, b"".join(sectors))
        else:  # jars and zips: incompressible
            put("libraries/lib%d.jar" % i, os.urandom(8 * MIB))
        i += 1
    return made


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, limit=30):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nothing listens on %d" % port)


def rss_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Agent:
    def __init__(self, binary, data):
        self.proc = subprocess.Popen(
            [binary, "--data-dir", data, "--listen", "127.0.0.1:0", "--insecure-http"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, RUST_LOG="warn,cap_agent=info"))
        for line in self.proc.stdout:
            if "listening on " in line:
                self.base = line.split("listening on ", 1)[1].strip()
                break
        with open(os.path.join(data, "token")) as f:
            self.token = f.read().strip()

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "authorization": "Bearer " + self.token, "content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)["data"]

    def wait(self, path):
        while True:
            record = self.call("GET", path)
            if record["status"] in ("completed", "failed"):
                return record
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def presign(endpoint, method, key, query, expires=3600):
    """An AWS SigV4 presigned URL (path style, host header only, unsigned payload)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = "%s/%s/s3/aws4_request" % (day, REGION)
    params = dict(query)
    params.update({
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": "%s/%s" % (ACCESS, scope),
        "X-Amz-Date": amz_date, "X-Amz-Expires": str(expires), "X-Amz-SignedHeaders": "host"})
    enc = lambda s: urllib.parse.quote(s, safe="-_.~")
    canonical_query = "&".join("%s=%s" % (enc(k), enc(v)) for k, v in sorted(params.items()))
    host = urllib.parse.urlparse(endpoint).netloc
    path = "/%s/%s" % (BUCKET, urllib.parse.quote(key, safe="/-_.~")) if key else "/" + BUCKET
    canonical = "\n".join([method, path, canonical_query, "host:%s\n" % host, "host",
                           "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + SECRET).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return "%s%s?%s&X-Amz-Signature=%s" % (endpoint, path, canonical_query, signature)


def s3_request(url, method, data=None):
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read().decode()


def timed_backup(agent, server, request):
    start = time.time()
    agent.call("POST", "/api/servers/%s/backups" % server, request)
    record = agent.wait("/api/backups/%s" % request["backupId"])
    return record, time.time() - start


def timed_restore(agent, server, backup, request):
    start = time.time()
    agent.call("POST", "/api/servers/%s/backups/%s/restore" % (server, backup), request)
    record = agent.wait("/api/servers/%s/restore" % server)
    return record, time.time() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("release_dir")
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--work", default="/var/tmp")
    parser.add_argument("--json")
    args = parser.parse_args()
    binary = os.path.join(os.path.abspath(args.release_dir), "cap-agent")
    work = tempfile.mkdtemp(prefix="cap-backup-bench-", dir=args.work)
    results = []
    s3 = None

    def report(name, value, unit, note=""):
        results.append({"metric": name, "value": round(value, 1), "unit": unit, "note": note})
        print("%-44s %10.1f %-6s %s" % (name, value, unit, note), flush=True)

    try:
        data = os.path.join(work, "agent")
        server = str(uuid.uuid4())
        server_dir = os.path.join(data, "servers", server)
        os.makedirs(server_dir)
        size = generate(server_dir, args.mib * MIB)
        subprocess.run(["sync"])
        report("generated server directory", size / MIB, "MiB",
               "%d files" % sum(len(f) for _, _, f in os.walk(server_dir)))

        s3_port = free_port()
        s3_root = os.path.join(work, "s3")
        os.makedirs(s3_root)
        s3s = shutil.which("s3s-fs") or os.path.expanduser("~/.cargo/bin/s3s-fs")
        s3 = subprocess.Popen([s3s, "--host", "127.0.0.1", "--port", str(s3_port),
                               "--access-key", ACCESS, "--secret-key", SECRET, s3_root],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(s3_port)
        endpoint = "http://127.0.0.1:%d" % s3_port
        s3_request(presign(endpoint, "PUT", "", {}), "PUT")

        def fresh_agent():
            agent = Agent(binary, data)
            agent.call("PUT", "/api/servers/" + server, {"id": server, "startup": "sleep 1000"})
            time.sleep(0.5)
            return agent, rss_kib(agent.proc.pid, "VmRSS")

        runs = {}
        # Archives are deleted as soon as they are no longer needed: 1 GiB of server files
        # and two archives of it must fit on the disk.
        for name, request in (
            ("local gzip", {"format": "tar_gz"}),
            ("local zstd", {"format": "tar_zstd"}),
            ("s3 multipart zstd", {"format": "tar_zstd", "s3": True}),
        ):
            agent, idle = fresh_agent()
            backup = str(uuid.uuid4())
            request = dict(request, backupId=backup)
            key = "bench/%s.tar.zst" % backup
            if request.pop("s3", False):
                created = s3_request(presign(endpoint, "POST", key, {"uploads": ""}), "POST")
                upload_id = created.split("<UploadId>")[1].split("</UploadId>")[0]
                parts = (size * 11 // 10) // PART_SIZE + 8
                request["s3"] = {
                    "partSize": PART_SIZE,
                    "partUrls": [presign(endpoint, "PUT", key, {"partNumber": str(n), "uploadId": upload_id})
                                 for n in range(1, parts + 1)],
                    "completeUrl": presign(endpoint, "POST", key, {"uploadId": upload_id}),
                    "abortUrl": presign(endpoint, "DELETE", key, {"uploadId": upload_id}),
                }
            record, seconds = timed_backup(agent, server, request)
            peak = rss_kib(agent.proc.pid, "VmHWM")
            if record["status"] != "completed":
                raise SystemExit("%s failed: %s" % (name, record.get("error")))
            runs[name] = (record, key)
            report("backup %s" % name, record["bytes"] / MIB / seconds, "MiB/s",
                   "%.1f s, archive %.0f MiB" % (seconds, record["size"] / MIB))
            report("agent peak RSS above idle, %s" % name, (peak - idle) / 1024, "MiB",
                   "idle %.1f MiB" % (idle / 1024))
            if name == "local gzip":
                agent.call("DELETE", "/api/backups/" + backup)
            agent.stop()

        for name, source in (
            ("local zstd", {"adapter": "local"}),
            ("s3 multipart zstd", {"adapter": "s3"}),
        ):
            record, key = runs[name]
            if source["adapter"] == "s3":
                source["url"] = presign(endpoint, "GET", key, {})
            agent, idle = fresh_agent()
            restored, seconds = timed_restore(agent, server, record["id"], {
                "source": source, "format": record["format"], "checksum": record["checksum"],
                "truncate": True})
            peak = rss_kib(agent.proc.pid, "VmHWM")
            if restored["status"] != "completed":
                raise SystemExit("restore %s failed: %s" % (name, restored.get("error")))
            report("restore %s (verify + extract)" % name, restored["bytes"] / MIB / seconds,
                   "MiB/s", "%.1f s for %.0f MiB" % (seconds, restored["bytes"] / MIB))
            report("agent peak RSS above idle, restore %s" % name, (peak - idle) / 1024, "MiB")
            if source["adapter"] == "local":
                agent.call("DELETE", "/api/backups/" + record["id"])
            else:
                s3_request(presign(endpoint, "DELETE", key, {}), "DELETE")
            agent.stop()

        archive = os.path.join(work, "baseline.tar.gz")
        start = time.time()
        subprocess.run(["tar", "czf", archive, "-C", server_dir, "."], check=True)
        seconds = time.time() - start
        report("baseline tar czf", size / MIB / seconds, "MiB/s",
               "%.1f s, archive %.0f MiB" % (seconds, os.path.getsize(archive) / MIB))
        os.remove(archive)
    finally:
        if s3:
            s3.terminate()
            s3.wait()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                       "mib": args.mib, "results": results}, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
