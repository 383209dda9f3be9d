"""The attacks of issue 16, measured one by one against a real `labelloop serve` (release build):
unauthenticated big bodies (peak RSS), a login flood (an authenticated GET's p50/p99), the
10950 x 10950 PNG bomb's thumbnail (time, RSS) and kill -9 during uploads (files left without a
record). Standard library only. Usage: attacks.py BIN [name...]"""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

BIN = sys.argv[1] if len(sys.argv) > 1 else "build/labelloop"
HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("LL_SHARED", os.path.join(HERE, "../../../shared"))
FACES = os.path.join(SHARED, "datasets", "seed-faces16", "images")
CONFIG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" '
          'toName="image"><Label value="face"/></RectangleLabels></View>')
EMAIL, PASSWORD = "admin@example.com", "admin-password-1"


def png_bomb(side=10950):
    """A valid PNG of side x side black RGB pixels: a few hundred KB that inflate to side^2 * 3."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    z = zlib.compressobj(9)
    row = b"\0" * (side * 3 + 1)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def vm(pid, field="VmHWM"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


class Server:
    def __init__(self, *args, data_dir=None):
        self.dir = data_dir or tempfile.mkdtemp(prefix="ll-attack-")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--data-dir", self.dir, "--port", "0", "--log-level", "warn",
             "--admin-email", EMAIL, "--admin-password", PASSWORD] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in self.proc.stdout:
            if "token:" in line or "API token" in line:
                self.token = line.split()[-1]
            if "serving on" in line:
                self.port = int(line.rsplit(":", 1)[1].split()[0])
                break

    def req(self, method, path, body=None, token=True, headers=None, timeout=120):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Token " + self.token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def stop(self, keep=False):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def multipart(files):
    b = "attackboundary42"
    out = []
    for name, data in files:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                    "Content-Type: application/octet-stream\r\n\r\n" % (b, name)).encode() + data +
                   b"\r\n")
    out.append(("--%s--\r\n" % b).encode())
    return b"".join(out), "multipart/form-data; boundary=" + b


def send_big(port, path, size, out, i):
    """POSTs `size` bytes without a token, in 1 MiB writes; records the status or the error."""
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    try:
        s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (path, size)).encode())
        chunk = b" " * (1 << 20)
        sent = 0
        while sent < size:
            n = min(len(chunk), size - sent)
            s.sendall(chunk[:n])
            sent += n
        out[i] = s.recv(64).split(b"\r\n")[0].decode()
    except OSError as e:
        out[i] = "error after send: %s" % type(e).__name__
        try:
            out[i] += " " + s.recv(64).split(b"\r\n")[0].decode()
        except OSError:
            pass
    finally:
        s.close()


def attack_bigbody():
    s = Server()
    try:
        base = vm(s.proc.pid)
        out = [None] * 13
        ts = [threading.Thread(target=send_big, args=(s.port, "/api/projects", 240 << 20, out, i))
              for i in range(12)]
        ts.append(threading.Thread(target=send_big,
                                   args=(s.port, "/api/projects/validate", 240 << 20, out, 12)))
        t0 = time.time()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print("bigbody: 12 x 240 MiB unauthenticated POST /api/projects + 1 to /validate: "
              "peak_rss_mb=%.0f (start %.0f) in %.1f s; answers %s" %
              (vm(s.proc.pid), base, time.time() - t0, sorted(set(map(str, out)))))
    finally:
        s.stop()


def timed_gets(s, seconds, lat, stop):
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    h = {"Authorization": "Token " + s.token}
    until = time.time() + seconds
    while time.time() < until and not stop.is_set():
        t0 = time.time()
        c.request("GET", "/api/projects/1", headers=h)
        r = c.getresponse()
        r.read()
        lat.append((time.time() - t0) * 1000)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


def login_flood(s, stop, counts, i):
    body = json.dumps({"email": EMAIL, "password": "wrong-password-%d" % i}).encode()
    while not stop.is_set():
        try:
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
            c.request("POST", "/api/auth/login", body=body,
                      headers={"Content-Type": "application/json"})
            st = c.getresponse().status
            counts[st] = counts.get(st, 0) + 1
            c.close()
        except OSError:
            counts["err"] = counts.get("err", 0) + 1


def attack_login():
    s = Server()
    try:
        s.req("POST", "/api/projects", {"title": "attack", "label_config": CONFIG})
        quiet = []
        timed_gets(s, 5, quiet, threading.Event())
        stop, counts = threading.Event(), {}
        flood = [threading.Thread(target=login_flood, args=(s, stop, counts, i)) for i in range(16)]
        for t in flood:
            t.start()
        time.sleep(1)
        loud = []
        timed_gets(s, 10, loud, threading.Event())
        stop.set()
        for t in flood:
            t.join()
        print("login flood (16 clients): GET p50/p99 quiet %.1f/%.1f ms, flooded %.1f/%.1f ms; "
              "login answers %s" % (pct(quiet, 50), pct(quiet, 99), pct(loud, 50), pct(loud, 99),
                                    counts))
    finally:
        s.stop()


def attack_bomb():
    bomb = png_bomb()
    for args in ((), ("--max-image-mpix", "120")):
        s = Server(*args)
        if not hasattr(s, "token"):
            print("bomb: the server does not take %s" % " ".join(args))
            s.stop()
            continue
        try:
            s.req("POST", "/api/projects", {"title": "attack", "label_config": CONFIG})
            body, ctype = multipart([("bomb.png", bomb)])
            st, data = s.req("POST", "/api/projects/1/import", body,
                             headers={"Content-Type": ctype})
            if st != 201:
                print("bomb (%s): upload of %d KB answered %d %s" % (
                    " ".join(args) or "defaults", len(bomb) >> 10, st, data[:200]))
                continue
            base = vm(s.proc.pid)
            t0 = time.time()
            st, data = s.req("GET", "/api/tasks/1/thumbnail")
            dt = time.time() - t0
            print("bomb (%s): upload of %d KB accepted; thumbnail %d in %.2f s, peak RSS %.0f MB "
                  "(before %.0f)" % (" ".join(args) or "defaults", len(bomb) >> 10, st, dt,
                                     vm(s.proc.pid), base))
            # four clients on four more bombs and a truncated one while another client GETs
            cut = bomb[:len(bomb) * 4 // 5] + bomb[-12:]
            body, ctype = multipart([("bomb.png", bomb)] * 4 + [("cut.png", cut)])
            st, data = s.req("POST", "/api/projects/1/import", body,
                             headers={"Content-Type": ctype})
            lat, answers = [], []
            ts = [threading.Thread(target=lambda i=i: answers.extend(
                s.req("GET", "/api/tasks/%d/thumbnail" % t)[0] for t in (2 + i, 6, 6)))
                for i in range(4)]
            t0 = time.time()
            for t in ts:
                t.start()
            timed_gets(s, 2, lat, threading.Event())
            for t in ts:
                t.join()
            print("bomb: 4 clients on 4 bombs + a truncated one: %.1f s, answers %s; meanwhile "
                  "GET p50/p99/max %.0f/%.0f/%.0f ms; peak RSS %.0f MB" % (
                      time.time() - t0, sorted(answers), pct(lat, 50), pct(lat, 99), max(lat),
                      vm(s.proc.pid)))
        finally:
            s.stop()


def upload_loop(port, token, stop, images):
    while not stop.is_set():
        try:
            body, ctype = multipart(random.sample(images, 3))
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", "/api/projects/1/import", body=body,
                      headers={"Content-Type": ctype, "Authorization": "Token " + token})
            c.getresponse().read()
            c.close()
        except OSError:
            time.sleep(0.01)


def attack_crash(rounds=15):
    images = [(n, open(os.path.join(FACES, n), "rb").read())
              for n in sorted(os.listdir(FACES)) if n.endswith(".jpg")]
    data = tempfile.mkdtemp(prefix="ll-crash-")
    try:
        s = Server(data_dir=data)
        s.req("POST", "/api/projects", {"title": "attack", "label_config": CONFIG})
        for i in range(rounds):
            stop = threading.Event()
            ts = [threading.Thread(target=upload_loop, args=(s.port, s.token, stop, images))
                  for _ in range(4)]
            for t in ts:
                t.start()
            time.sleep(random.uniform(0.3, 1.0))
            s.proc.kill()
            s.proc.wait()
            stop.set()
            for t in ts:
                t.join()
            s = Server(data_dir=data)
        st, body = s.req("GET", "/api/projects/1/tasks?page_size=-1")
        assert st == 200, (st, body[:300])
        recorded = {t["data"]["image"].rsplit("/", 1)[1] for t in json.loads(body)}
        folder = os.path.join(data, "media", "upload", "1")
        files = os.listdir(folder)
        left = [f for f in files if f not in recorded]
        print("crash: %d kill -9 during uploads: %d files, %d tasks, %d files without a record" %
              (rounds, len(files), len(recorded), len(left)))
        s.stop(keep=True)
    finally:
        shutil.rmtree(data, ignore_errors=True)


ATTACKS = {"bigbody": attack_bigbody, "login": attack_login, "bomb": attack_bomb,
           "crash": attack_crash}

if __name__ == "__main__":
    for name in sys.argv[2:] or list(ATTACKS):
        ATTACKS[name]()
