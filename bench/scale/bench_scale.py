"""Driver of bench/scale/run.sh (standard library, the wrk binary and tests/pg/llpg.py).

PostgreSQL: a throw-away server from tests/pg/llpg.py, two `labelloop serve --db` processes with
data dirs of their own (only the database is shared, as on two machines), BENCH_TASKS tasks
loaded through the import API in chunks, BENCH_CLIENTS annotators (one user and token each) for
BENCH_SECONDS, half on each server. Then the same on SQLite with one server and all the clients.
Each client is one wrk thread with one connection going round /next, the task, an annotation on
it and a page of the task list (annotator.lua). Errors are non-2xx answers and socket errors."""
import concurrent.futures
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchlib import Client, cpu_s  # noqa: E402

BIN = sys.argv[1]
NTASKS = int(os.environ.get("BENCH_TASKS", "1000000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "200"))
# PostgreSQL's import cost per task grows with the size of the request (docs/scale.md), so the
# load goes in chunks of a few thousand tasks.
CHUNK = int(os.environ.get("BENCH_CHUNK", "5000"))
# PostgreSQL syncs its commits as SQLite (synchronous=FULL) does, so that the two compare; 0
# runs it as the tests do (fsync off).
DURABLE = os.environ.get("BENCH_PG_DURABLE", "1") != "0"
# For the ctest smoke run: more errors than this fail the run (default: reported only).
MAX_ERRORS = int(os.environ.get("BENCH_MAX_ERRORS", "-1"))
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LLPG = os.path.join(ROOT, "tests", "pg", "llpg.py")
LUA = os.path.join(HERE, "annotator.lua")
CONFIG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" '
          'toName="image"><Label value="face"/></RectangleLabels></View>')
# What a balancer in front of several servers would pass: every client connects from one
# address here, more than the default per-address cap of 128 (docs/security.md).
SERVE_OPTS = ["--no-training", "--no-zoo", "--max-conns-per-ip", "0", "--log-level", "warn"]


def pg_cpu_s(datadir):
    """CPU seconds of the PostgreSQL server (postmaster and its children, the backends)."""
    try:
        with open(os.path.join(datadir, "postmaster.pid")) as f:
            master = int(f.readline())
    except OSError:
        return 0.0
    total = cpu_s(master)
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == master:
                total += cpu_s(int(d))
    return total


class Server:
    """One `labelloop serve` on a free port; its output goes to a log in its data dir."""

    def __init__(self, data_dir, db=None):
        self.dir = data_dir
        os.makedirs(data_dir, exist_ok=True)
        cmd = [BIN, "serve", "--data-dir", data_dir, "--port", "0"] + SERVE_OPTS
        if db:
            cmd += ["--db", db]
        self.log = open(os.path.join(data_dir, "serve.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.token = self.port = None
        for line in self.proc.stdout:
            self.log.write(line)
            m = re.search(r"token:?\s+([0-9a-f]{20,})", line)
            if m:
                self.token = m[1]
            if "serving on http://" in line:
                self.port = int(line.split("http://")[1].split()[0].rsplit(":", 1)[1])
                break
        if not self.port:
            raise RuntimeError("serve did not start; see %s/serve.log" % data_dir)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.log.write(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Progress:
    """A progress bar on a terminal; a line every 10 % otherwise (a log, CI)."""

    def __init__(self, what, total):
        self.what, self.total, self.done, self.t0 = what, total, 0, time.time()
        self.tty = sys.stderr.isatty()
        self.lock = threading.Lock()
        self.shown = -1

    def add(self, n):
        with self.lock:
            self.done += n
            rate = self.done / max(time.time() - self.t0, 1e-9)
            frac = self.done / self.total
            if self.tty:
                bar = "#" * int(frac * 30)
                sys.stderr.write("\r  load %-10s [%-30s] %3d%% %9d/%d tasks, %6.0f tasks/s"
                                 % (self.what, bar, frac * 100, self.done, self.total, rate))
                if self.done >= self.total:
                    sys.stderr.write("\n")
                sys.stderr.flush()
            elif int(frac * 10) > self.shown:
                self.shown = int(frac * 10)
                print("  load %s: %d/%d tasks, %.0f tasks/s" % (self.what, self.done,
                                                                self.total, rate), flush=True)


def chunk_body(lo, hi):
    return json.dumps([{"data": {"image": "https://img.example.com/bench/%07d.jpg" % i},
                        "meta": {"batch": i // 1000}} for i in range(lo, hi)]).encode()


def load(what, servers, token, pid):
    """NTASKS tasks through the import API in chunks, one loader per server (their imports take
    turns on the database's writers' lock). Returns (seconds, tasks/s)."""
    chunks = [(lo, min(lo + CHUNK, NTASKS)) for lo in range(0, NTASKS, CHUNK)]
    lock, progress, failed = threading.Lock(), Progress(what, NTASKS), []

    def loader(server):
        c = Client(server.port, token)
        while not failed:
            with lock:
                if not chunks:
                    return
                lo, hi = chunks.pop(0)
            try:
                res = c.call("POST", "/api/projects/%d/import" % pid, chunk_body(lo, hi))
                if res["task_count"] != hi - lo:
                    raise RuntimeError("import answered %d tasks for %d" % (res["task_count"],
                                                                           hi - lo))
            except Exception as e:  # noqa: BLE001 - reported below, the load stops
                failed.append(e)
                return
            progress.add(hi - lo)

    t0 = time.time()
    threads = [threading.Thread(target=loader, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise RuntimeError("load failed: %s" % failed[0])
    secs = time.time() - t0
    return secs, NTASKS / secs


def make_users(db_args, n, tag):
    """n annotators through `labelloop user create` (one password hash each); their tokens."""
    def one(i):
        out = subprocess.run([BIN, "user", "create", "--email", "%s%d@bench.example" % (tag, i),
                              "--password", "annotator-%s-%d" % (tag, i)] + db_args,
                             capture_output=True, text=True, check=True).stdout
        return re.search(r"token:\s+(\S+)", out)[1]

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        return list(ex.map(one, range(n)))


def percentile(hist, p):
    total = sum(hist.values())
    need, seen = total * p / 100.0, 0
    for v in sorted(hist):
        seen += hist[v]
        if seen >= need:
            return v
    return 0


def run_clients(servers, tokens, pid, tmp, cpu_probe):
    """wrk against each server in servers (a server may be named twice), the clients split
    evenly; returns one dict per wrk process and the CPU each part used."""
    tokfile = os.path.join(tmp, "tokens")
    with open(tokfile, "w") as f:
        f.write("\n".join(tokens) + "\n")
    n = len(tokens)
    split = [n // len(servers) + (i < n % len(servers)) for i in range(len(servers))]
    procs, first = [], 0
    before, kids0 = cpu_probe(), resource.getrusage(resource.RUSAGE_CHILDREN)
    for s, k in zip(servers, split):
        env = dict(os.environ, BENCH_TOKENS=tokfile, BENCH_TOKEN_FIRST=str(first),
                   BENCH_PROJECT=str(pid))
        procs.append(subprocess.Popen(
            ["wrk", "-t%d" % k, "-c%d" % k, "-d%ds" % SECONDS, "--timeout", "10s", "-s", LUA,
             "http://127.0.0.1:%d" % s.port], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
        first += k
    outs = [p.communicate()[0] for p in procs]
    kids1, after = resource.getrusage(resource.RUSAGE_CHILDREN), cpu_probe()
    results = []
    for p, out, k in zip(procs, outs, split):
        m = re.search(r"RESULT (.*)", out)
        h = re.search(r"HIST ?(.*)", out)
        if p.returncode or not m or not h:
            raise RuntimeError("wrk failed (%d):\n%s" % (p.returncode, out[-3000:]))
        r = dict(kv.split("=", 1) for kv in m[1].split())
        hist = {}
        for pair in h[1].split():
            v, c = pair.split(":")
            hist[int(v)] = hist.get(int(v), 0) + int(c)
        errors = sum(int(r[e]) for e in ("non2xx", "connect", "read", "write", "timeout"))
        results.append({"clients": k, "requests": int(r["requests"]), "seconds": float(r["seconds"]),
                        "errors": errors, "posted": int(r["posted"]),
                        "mismatch": int(r["mismatch"]), "codes": r["codes"], "hist": hist,
                        "detail": "non-2xx %s (%s), connect %s, read %s, write %s, timeout %s"
                        % (r["non2xx"], r["codes"].rstrip(",") or "-", r["connect"], r["read"],
                           r["write"], r["timeout"])})
    cpu = {k: after[k] - before[k] for k in before}
    cpu["clients (wrk)"] = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    return results, cpu


def check(server, token, pid, results, name):
    """No task annotated twice (the task locks held across servers), every acknowledged
    annotation stored, every GET of a task answered with that task."""
    p = Client(server.port, token).call("GET", "/api/projects/%d" % pid)
    total, tasks = p["total_annotations_number"], p["num_tasks_with_annotations"]
    posted = sum(r["posted"] for r in results)
    mismatch = sum(r["mismatch"] for r in results)
    print("  check %s: %d annotations acknowledged (201), %d stored (the others were in flight "
          "when the clients stopped), on %d distinct tasks; %d task reads answered with another "
          "task" % (name, posted, total, tasks, mismatch))
    if tasks != total or total < posted or mismatch:
        raise RuntimeError("%s: a task was handed to two annotators, an acknowledged annotation "
                           "is missing or a read answered the wrong task" % name)


def merge(rs):
    hist = {}
    for r in rs:
        for v, n in r["hist"].items():
            hist[v] = hist.get(v, 0) + n
    return hist


def report(name, servers_named, results, cpu):
    """One line per server and one for all; returns {server: (rps, p99 ms)} and the totals."""
    by_server, per = {}, {}
    for s, r in zip(servers_named, results):
        by_server.setdefault(s, []).append(r)
    for s, rs in by_server.items():
        hist = merge(rs)
        rps, err = sum(r["requests"] / r["seconds"] for r in rs), sum(r["errors"] for r in rs)
        per[s] = (rps, percentile(hist, 99) / 1e3)
        print("  %s: %d clients, %.0f req/s, p50 %.1f ms, p99 %.1f ms, %d errors (%s)"
              % (s, sum(r["clients"] for r in rs), rps, percentile(hist, 50) / 1e3, per[s][1],
                 err, "; ".join(r["detail"] for r in rs)))
    print("  CPU during the %d s: %s (%.0f of %d core-seconds)"
          % (SECONDS, ", ".join("%s %.0f s" % kv for kv in cpu.items()), sum(cpu.values()),
             SECONDS * os.cpu_count()))
    rps, p99 = sum(v[0] for v in per.values()), percentile(merge(results), 99) / 1e3
    errors = sum(r["errors"] for r in results)
    print("  %s, all servers: %.0f req/s, p99 %.1f ms, %d errors" % (name, rps, p99, errors))
    return rps, p99, errors, per


def bench_pg(tmp):
    state = os.path.join(tmp, "pg")
    subprocess.run([sys.executable, "-B", LLPG, "start", state] + (["--durable"] if DURABLE else []),
                   check=True)
    servers = []
    try:
        with open(state) as f:
            url = f.read().strip()
        with open(state + ".dir") as f:
            pgdata = os.path.join(f.read().strip(), "data")
        # one after the other: the first creates the schema and the admin user
        servers.append(Server(os.path.join(tmp, "pg-a"), url))
        servers.append(Server(os.path.join(tmp, "pg-b"), url))
        a, b = servers
        token = a.token
        c = Client(a.port, token)
        pid = c.call("POST", "/api/projects", json.dumps({"title": "bench scale",
                                                          "label_config": CONFIG}))["id"]
        print("postgresql (%s): two servers on ports %d and %d (data dirs of their own), one "
              "database; loading %d tasks in chunks of %d over both"
              % ("durable: fsync and synchronous commit on" if DURABLE else "fsync off", a.port,
                 b.port, NTASKS, CHUNK), flush=True)
        load_s, load_rate = load("postgresql", servers, token, pid)
        print("  loaded %d tasks in %.1f s (%.0f tasks/s)" % (NTASKS, load_s, load_rate))
        t0 = time.time()
        tokens = make_users(["--db", url, "--data-dir", a.dir], CLIENTS, "pg")
        print("  %d annotators created in %.1f s; %d clients for %d s, %d on each server"
              % (CLIENTS, time.time() - t0, CLIENTS, SECONDS, CLIENTS // 2), flush=True)
        results, cpu = run_clients(servers, tokens, pid, tmp, lambda: {
            "server A": cpu_s(a.proc.pid), "server B": cpu_s(b.proc.pid),
            "PostgreSQL": pg_cpu_s(pgdata)})
        rps, p99, errors, per = report("postgresql", ["server A", "server B"], results, cpu)
        check(b, token, pid, results, "postgresql")
        return {"rps": rps, "p99": p99, "errors": errors, "per": per, "load_s": load_s,
                "load_rate": load_rate}
    finally:
        for s in servers:
            s.stop()
        subprocess.run([sys.executable, "-B", LLPG, "stop", state])


def bench_sqlite(tmp):
    s = Server(os.path.join(tmp, "sqlite"))
    try:
        c = Client(s.port, s.token)
        pid = c.call("POST", "/api/projects", json.dumps({"title": "bench scale",
                                                          "label_config": CONFIG}))["id"]
        print("sqlite (WAL, synchronous=FULL): one server on port %d; loading %d tasks in chunks "
              "of %d"
              % (s.port, NTASKS, CHUNK), flush=True)
        load_s, load_rate = load("sqlite", [s], s.token, pid)
        print("  loaded %d tasks in %.1f s (%.0f tasks/s)" % (NTASKS, load_s, load_rate))
        t0 = time.time()
        tokens = make_users(["--data-dir", s.dir], CLIENTS, "sq")
        print("  %d annotators created in %.1f s; %d clients for %d s on the one server"
              % (CLIENTS, time.time() - t0, CLIENTS, SECONDS), flush=True)
        # two wrk processes as for PostgreSQL, both on the one server: the same clients
        results, cpu = run_clients([s, s], tokens, pid, tmp,
                                   lambda: {"server": cpu_s(s.proc.pid)})
        rps, p99, errors, _ = report("sqlite", ["server", "server"], results, cpu)
        check(s, s.token, pid, results, "sqlite")
        return {"rps": rps, "p99": p99, "errors": errors, "load_s": load_s,
                "load_rate": load_rate}
    finally:
        s.stop()


def main():
    ncpu = os.cpu_count()
    print("machine: %d cores, load average %.1f; PostgreSQL, both servers and the %d clients "
          "(wrk threads) all share these %d cores, so every figure is a lower bound for "
          "separate machines" % (ncpu, os.getloadavg()[0], CLIENTS, ncpu))
    print("mix per client: GET /api/projects/P/next, GET /api/tasks/ID, POST an annotation, "
          "GET a page of 30 tasks (one of the first 20); %d tasks, %d clients, %d s"
          % (NTASKS, CLIENTS, SECONDS), flush=True)
    tmp = tempfile.mkdtemp(prefix="ll-bench-scale-")
    try:
        pg = bench_pg(tmp)
        sq = bench_sqlite(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    (a_rps, a_p99), (b_rps, b_p99) = pg["per"]["server A"], pg["per"]["server B"]
    print("bench scale: pg_rps=%.0f pg_p99_ms=%.1f sqlite_rps=%.0f errors=%d sqlite_p99_ms=%.1f "
          "pg_a_rps=%.0f pg_a_p99_ms=%.1f pg_b_rps=%.0f pg_b_p99_ms=%.1f pg_errors=%d "
          "sqlite_errors=%d pg_vs_sqlite=%.2f pg_load_s=%.1f pg_load_tasks_per_s=%.0f "
          "sqlite_load_s=%.1f sqlite_load_tasks_per_s=%.0f tasks=%d clients=%d seconds=%d "
          "cores=%d" % (pg["rps"], pg["p99"], sq["rps"], pg["errors"] + sq["errors"], sq["p99"],
                        a_rps, a_p99, b_rps, b_p99, pg["errors"], sq["errors"],
                        pg["rps"] / sq["rps"], pg["load_s"], pg["load_rate"], sq["load_s"],
                        sq["load_rate"], NTASKS, CLIENTS, SECONDS, ncpu))
    if 0 <= MAX_ERRORS < pg["errors"] + sq["errors"]:
        sys.exit("bench scale: %d errors, more than BENCH_MAX_ERRORS=%d"
                 % (pg["errors"] + sq["errors"], MAX_ERRORS))


main()
