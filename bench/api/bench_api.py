"""Driver of bench/api/run.sh (standard library + the wrk binary)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchlib import Client, cpu_s  # noqa: E402

BIN, NTASKS, SECONDS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
CONFIG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" '
          'toName="image"><Label value="face"/></RectangleLabels></View>')
WRK_LUA = r"""
local first, count, token
init = function(args)
  first, count, token = tonumber(args[1]), tonumber(args[2]), args[3]
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
request = function()
  local path = "/health"
  if count > 0 then path = "/api/tasks/" .. math.random(first, first + count - 1) end
  return wrk.format("GET", path, {["Authorization"] = "Token " .. token})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d seconds=%f p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99)))
end
"""


def rss_mb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def wrk(port, token, first, count, seconds, lua):
    out = subprocess.run(["wrk", "-t2", "-c100", "-d%ds" % seconds, "--timeout", "10s", "-s", lua,
                          "http://127.0.0.1:%d" % port, "--", str(first), str(count), token],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"RESULT requests=(\d+) errors=(\d+) seconds=([\d.]+) p50_us=(\d+) p99_us=(\d+)",
                  out)
    req, errors, secs, p50, p99 = int(m[1]), int(m[2]), float(m[3]), int(m[4]), int(m[5])
    if errors:
        raise RuntimeError("wrk saw %d errors:\n%s" % (errors, out))
    return req / secs, p50 / 1000.0, p99 / 1000.0


def main():
    tmp = tempfile.mkdtemp(prefix="ll-bench-api-")
    # No per-address cap: every wrk connection comes from 127.0.0.1, and a wrk run that starts
    # right after another one finds some of the previous run's connections still counted for a
    # few ms (still closing); with the default cap of 128, the new ones over it were refused
    # and wrk reconnected each at once: 1,249 "connection resets" once (docs/scale.md).
    proc = subprocess.Popen([BIN, "serve", "--data-dir", tmp, "--port", "0", "--log-level", "warn",
                             "--max-conns-per-ip", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        token = port = None
        for line in proc.stdout:
            if line.strip().startswith("token:"):
                token = line.split()[1]
            if "serving on http://" in line:
                port = int(line.split("http://")[1].split()[0].rsplit(":", 1)[1])
                break
        c = Client(port, token)
        pid = c.call("POST", "/api/projects", json.dumps({"title": "bench", "label_config": CONFIG}))["id"]
        tasks = [{"data": {"image": "/data/upload/%d/%08x-%06d.jpg" % (pid, i * 2654435761 % 2**32, i)},
                  "meta": {"batch": i // 1000}} for i in range(NTASKS)]
        body = json.dumps(tasks).encode()
        t0, c0 = time.time(), cpu_s(proc.pid)
        res = c.call("POST", "/api/projects/%d/import?return_task_ids=true" % pid, body)
        import_s, import_cpu = time.time() - t0, cpu_s(proc.pid) - c0
        ids = res["task_ids"]
        assert res["task_count"] == NTASKS
        rss_import = rss_mb(proc.pid, "VmHWM")
        pages, t0, c0 = 0, time.time(), cpu_s(proc.pid)
        page = 1
        while True:
            j = c.call("GET", "/api/tasks?project=%d&page=%d&page_size=100" % (pid, page))
            pages += 1
            if page * 100 >= j["total"]:
                break
            page += 1
        list_s, list_cpu = time.time() - t0, cpu_s(proc.pid) - c0
        lua = os.path.join(tmp, "bench.lua")
        with open(lua, "w") as f:
            f.write(WRK_LUA)
        c0 = cpu_s(proc.pid)
        get_rps, get_p50, p99 = wrk(port, token, ids[0], len(ids), SECONDS, lua)
        get_cpu_us = (cpu_s(proc.pid) - c0) / (get_rps * SECONDS) * 1e6
        health_rps, _, health_p99 = wrk(port, token, 0, 0, max(3, SECONDS // 2), lua)
        rss_now = rss_mb(proc.pid, "VmRSS")
        peak = rss_mb(proc.pid, "VmHWM")
        print("machine load average: %.1f on %d CPUs (other work slows every wall-clock figure)"
              % (os.getloadavg()[0], os.cpu_count()))
        print("import: %d tasks in %.2f s (%.0f tasks/s, %.1f MB of JSON), server CPU %.2f s; "
              "peak RSS during import %.0f MB" % (NTASKS, import_s, NTASKS / import_s,
                                                  len(body) / 1e6, import_cpu, rss_import))
        print("list: %d pages of 100 in %.2f s (%.0f pages/s), server CPU %.2f ms per page"
              % (pages, list_s, pages / list_s, list_cpu / pages * 1e3))
        print("GET /api/tasks/{id}: %.0f req/s, p50 %.2f ms, p99 %.2f ms (100 connections), "
              "server CPU %.0f us per request" % (get_rps, get_p50, p99, get_cpu_us))
        print("GET /health (peer): %.0f req/s, p99 %.2f ms" % (health_rps, health_p99))
        print("server RSS after the load: %.0f MB (peak %.0f MB)" % (rss_now, peak))
        print("bench api: import_s=%.2f import_tasks_per_s=%.0f list_pages_per_s=%.0f get_rps=%.0f "
              "rps=%.0f p99_ms=%.2f get_cpu_us=%.0f health_rps=%.0f get_vs_health=%.2f rss_mb=%.0f "
              "peak_rss_mb=%.0f" % (import_s, NTASKS / import_s, pages / list_s, get_rps, get_rps,
                                    p99, get_cpu_us, health_rps, get_rps / health_rps, rss_now,
                                    peak))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


main()
