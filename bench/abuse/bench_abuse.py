"""Driver of bench/abuse/run.sh (standard library + the wrk binary). The legitimate clients come
from 127.0.0.1, the attackers from other loopback addresses (127.0.0.0/8 is all loopback), as
they would from other machines."""
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN, SECONDS, QUIET = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
TASKS = 2000
CONFIG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" '
          'toName="image"><Label value="face"/></RectangleLabels></View>')
MIB = 1 << 20
WRK_LUA = r"""
local first, count, token, n
init = function(args)
  first, count, token = tonumber(args[1]), tonumber(args[2]), args[3]
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
request = function()
  local h = {["Authorization"] = "Token " .. token, ["Content-Type"] = "application/json"}
  local r, task = math.random(), math.random(first, first + count - 1)
  if r < 0.02 then
    local body = '{"result": [{"from_name": "label", "to_name": "image", "type": ' ..
      '"rectanglelabels", "value": {"x": 10, "y": 10, "width": 20, "height": 20, ' ..
      '"rectanglelabels": ["face"]}}]}'
    return wrk.format("POST", "/api/tasks/" .. task .. "/annotations", h, body)
  elseif r < 0.12 then
    return wrk.format("GET", "/api/projects/1", h)
  end
  return wrk.format("GET", "/api/tasks/" .. task, h)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d seconds=%f p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99)))
end
"""


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = {}

    def add(self, key):
        with self.lock:
            self.n[key] = self.n.get(key, 0) + 1


def big_bodies(port, stop, counts, source):
    """240 MiB POSTs without a token (and with a wrong one), a megabyte at a time."""
    chunk = b" " * MIB
    rng = random.Random(source)
    while not stop.is_set():
        path, auth = rng.choice([("/api/projects", ""), ("/api/projects/validate", ""),
                                 ("/api/projects/1/import", "Authorization: Token %s\r\n"
                                  % ("0" * 40))])
        s = None
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                         source_address=(source, 0))
            s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\n"
                       "Content-Length: %d\r\n\r\n" % (path, auth, 240 * MIB)).encode())
            for _ in range(240):
                if stop.is_set():
                    break
                s.sendall(chunk)
            counts.add("sent_all")
        except OSError:
            counts.add("cut_off")
        finally:
            if s:
                s.close()


def logins(port, stop, counts, fixed):
    """Wrong passwords: from one address for the admin, or from ever new addresses and accounts
    (what per-address throttling cannot stop; only the hashing pool bounds it)."""
    rng = random.Random(fixed)
    while not stop.is_set():
        src = "127.0.0.5" if fixed else "127.3.%d.%d" % (rng.randrange(256), rng.randrange(1, 255))
        email = "admin@localhost" if fixed else "x%d@example.com" % rng.randrange(1 << 30)
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(src, 0))
            c.request("POST", "/api/auth/login", json.dumps({"email": email, "password": "guess"}),
                      headers={"Content-Type": "application/json"})
            counts.add("login_%d" % c.getresponse().status)
            c.close()
        except OSError:
            counts.add("login_error")
        time.sleep(0.01)


def slow_connections(port, stop, counts):
    """Connections that trickle a header a byte at a time, 200 from each of four addresses."""
    socks = []
    for a in range(4):
        for _ in range(200):
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=5,
                                                      source_address=("127.0.4.%d" % (a + 1), 0)))
            except OSError:
                counts.add("slow_refused")
    line = b"GET /api/projects HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
    at = 0
    while not stop.is_set():
        alive = []
        for s in socks:
            try:
                s.send(line[at % len(line):at % len(line) + 1])
                alive.append(s)
            except OSError:
                counts.add("slow_closed")
                s.close()
        socks = alive
        at += 1
        stop.wait(5)
    counts.n["slow_held_at_end"] = len(socks)
    for s in socks:
        s.close()


def wrk(port, token, first, seconds, lua):
    out = subprocess.run(["wrk", "-t2", "-c100", "-d%ds" % seconds, "--timeout", "10s", "-s", lua,
                          "http://127.0.0.1:%d" % port, "--", str(first), str(TASKS), token],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"RESULT requests=(\d+) errors=(\d+) seconds=([\d.]+) p50_us=(\d+) p99_us=(\d+)",
                  out)
    return {"requests": int(m[1]), "errors": int(m[2]), "rps": int(m[1]) / float(m[3]),
            "p50_ms": int(m[4]) / 1000.0, "p99_ms": int(m[5]) / 1000.0}


def start(tmp):
    proc = subprocess.Popen([BIN, "serve", "--data-dir", tmp, "--port", "0", "--log-level",
                             "warn"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    token = None
    for line in proc.stdout:
        if "token:" in line:
            token = line.split()[-1]
        if "serving on" in line:
            return proc, token, int(line.rsplit(":", 1)[1].split()[0])
    raise RuntimeError("server did not start")


def setup(port, token):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    h = {"Authorization": "Token " + token, "Content-Type": "application/json"}
    c.request("POST", "/api/projects", json.dumps({"title": "abuse", "label_config": CONFIG}), h)
    project = json.loads(c.getresponse().read())["id"]
    tasks = [{"image": "https://example.com/%d.jpg" % i} for i in range(TASKS)]
    c.request("POST", "/api/projects/%d/import?return_task_ids=true" % project, json.dumps(tasks),
              h)
    return json.loads(c.getresponse().read())["task_ids"][0]


def peak_sampler(pid, stop, peak):
    while not stop.is_set():
        peak[0] = max(peak[0], status_kb(pid, "VmRSS"))
        stop.wait(0.05)


def main():
    tmp = tempfile.mkdtemp(prefix="ll-bench-abuse-")
    proc, token, port = start(tmp)
    lua = os.path.join(tmp, "clients.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)
    try:
        first = setup(port, token)
        quiet = wrk(port, token, first, QUIET, lua)
        stop, counts, peak = threading.Event(), Counts(), [status_kb(proc.pid, "VmRSS")]
        threads = [threading.Thread(target=peak_sampler, args=(proc.pid, stop, peak))]
        threads += [threading.Thread(target=big_bodies, args=(port, stop, counts, "127.0.2.%d" % i))
                    for i in range(1, 7)]
        threads += [threading.Thread(target=logins, args=(port, stop, counts, i < 4))
                    for i in range(16)]
        threads += [threading.Thread(target=slow_connections, args=(port, stop, counts))]
        for t in threads:
            t.start()
        time.sleep(2)  # the attack is under way before the clients start measuring
        loud = wrk(port, token, first, SECONDS, lua)
        stop.set()
        for t in threads:
            t.join()
        extra = " ".join("%s=%d" % kv for kv in sorted(counts.n.items()))
        print("bench abuse: p99_ms=%.1f p99_quiet_ms=%.1f errors=%d peak_rss_mb=%.0f p50_ms=%.1f "
              "p50_quiet_ms=%.1f rps=%.0f rps_quiet=%.0f %s" % (
                  loud["p99_ms"], quiet["p99_ms"], loud["errors"] + quiet["errors"],
                  peak[0] / 1024.0, loud["p50_ms"], quiet["p50_ms"], loud["rps"], quiet["rps"],
                  extra))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
