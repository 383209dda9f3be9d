"""Test harness for the API tests: starts `labelloop serve` (LL_BIN) on a free port with a
temporary data directory, reads the admin token it prints on first start, and offers small
HTTP helpers. Standard library only.

On PostgreSQL when LL_DB names a server's database (postgresql://...) or LL_DB_FILE a file holding
such a URL (the `pg` ctest fixture's pg.url): each data directory then gets a database of its own,
created on its first server start and dropped when the server that made the directory stops, so
the tests stay as independent as with a SQLite file per directory. The URL reaches labelloop as
LABELLOOP_DB in its environment (db_env)."""
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import zlib

BIN = os.environ.get("LL_BIN", "build/labelloop")
SHARED = os.environ.get("LL_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))
FACES = os.path.join(SHARED, "datasets", "seed-faces16")
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"



def pg_base():
    """The PostgreSQL URL the tests run on, or None for SQLite."""
    url = os.environ.get("LL_DB")
    if not url and os.environ.get("LL_DB_FILE"):
        with open(os.environ["LL_DB_FILE"]) as f:
            url = f.read().strip()
    return url or None


PG = pg_base()


def psql(url, sql):
    out = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("psql: %s" % out.stderr)
    return out.stdout.strip()


def db_url(data_dir, create=True):
    """The URL of data_dir's own database on PG (created when missing), or None on SQLite."""
    if not PG:
        return None
    name = "ll_" + hashlib.sha1(os.path.abspath(data_dir).encode()).hexdigest()[:20]
    parts = urllib.parse.urlsplit(PG)
    url = urllib.parse.urlunsplit(parts._replace(path="/" + name))
    if create and not psql(PG, "SELECT 1 FROM pg_database WHERE datname = '%s'" % name):
        psql(PG, "CREATE DATABASE %s" % name)
    return url


def drop_db(data_dir):
    if PG:
        name = urllib.parse.urlsplit(db_url(data_dir, create=False)).path[1:]
        psql(PG, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


def db_env(data_dir, env=None):
    """The environment of a labelloop command on data_dir: env (default ours) with LABELLOOP_DB
    naming its database on PG, without it on SQLite."""
    e = dict(os.environ if env is None else env)
    e.pop("LABELLOOP_DB", None)
    url = db_url(data_dir)
    if url:
        e["LABELLOOP_DB"] = url
    return e


CONFIG = ('<View><Image name="image" value="$image"/>'
          '<RectangleLabels name="label" toName="image"><Label value="face"/></RectangleLabels>'
          '</View>')


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


class Child:
    """A labelloop process (self.proc, stdout piped) whose stderr goes to the file self.log."""

    def stderr(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def terminate(self, timeout):
        """SIGTERM (SIGKILL after timeout seconds); closes its pipes and log and returns the rest
        of its stdout and its whole stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rest = self.proc.stdout.read()
        self.proc.stdout.close()
        err = self.stderr()
        self.log.close()
        return rest, err


class Server(Child):
    """training=False starts the server with --no-training: the loop queues jobs but runs none,
    so tests that label ten tasks do not train a detector in the background. zoo=False starts it
    with --no-zoo: the tests' `face` projects (a zoo class) start without a model, as they did
    before the zoo knew faces; test_zoo.py turns it on."""
    def __init__(self, *args, data_dir=None, training=False, zoo=False, port=0, db_of=None):
        """port: 0 for any free one; db_of: on PG, serve the database of that data directory
        from this one (a second machine on the same database); on SQLite the database is the
        data directory's own file, so share data_dir instead."""
        self.keep = data_dir is not None
        self.dir = data_dir or tempfile.mkdtemp(prefix="llapi-")
        self.log = open(os.path.join(self.dir, "server.log"), "w+")
        cmd = [BIN, "serve", "--data-dir", self.dir, "--port", str(port), "--admin-email",
               ADMIN_EMAIL, "--admin-password", ADMIN_PASSWORD] + list(args)
        if not training:
            cmd.append("--no-training")
        if not zoo:
            cmd.append("--no-zoo")
        self.env = db_env(db_of or self.dir)  # for the CLI commands a test runs on the same data
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=self.env)
        self.token = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.strip().startswith("token:"):
                self.token = line.split()[1]
            if "API token" in line:
                self.token = line.split()[-1]
            if "serving on http://" in line:
                self.port = int(line.split("http://")[1].split()[0].rsplit(":", 1)[1])
                return
        self.stop(check=False)
        raise RuntimeError("server did not start: " + self.stderr())

    def stop(self, check=True):
        """SIGTERM, then the exit status must be 0 (sanitizers report leaks with non-zero)."""
        rest, err = self.terminate(30)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
            drop_db(self.dir)
        if check and self.proc.returncode != 0:
            raise AssertionError("server exited with %d:\n%s\n%s" % (self.proc.returncode, rest,
                                                                     err[-20000:]))
        return rest

    def request(self, method, path, body=None, token="admin", headers=None, raw=None,
                content_type="application/json"):
        """body: a Python value sent as JSON; raw: bytes sent as they are."""
        h = dict(headers or {})
        if token == "admin":
            token = self.token
        if token:
            h["Authorization"] = "Token " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type and "Content-Type" not in h:
            h["Content-Type"] = content_type
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def create_project(self, **fields):
        fields.setdefault("title", "test project")
        fields.setdefault("label_config", CONFIG)
        r = self.post("/api/projects", fields)
        assert r.status == 201, r
        return r.json()["id"]

    def user_token(self, email, password):
        """Makes a user (as the admin), logs it in and returns its API token."""
        r = self.post("/api/users", {"email": email, "password": password})
        assert r.status == 201, r
        r = self.post("/api/auth/login", {"email": email, "password": password}, token=None)
        cookie = r.header("Set-Cookie").split(";")[0]
        return self.get("/api/current-user/token", token=None,
                        headers={"Cookie": cookie}).json()["token"]

    def import_tasks(self, project, tasks):
        r = self.post("/api/projects/%d/import?return_task_ids=true" % project, tasks)
        assert r.status == 201, r
        return r.json()["task_ids"]


def multipart(files, fields=None):
    """files: [(field, filename, bytes)] -> (body, content type)."""
    boundary = "llboundary7MA4YWxkTrZu0gW"
    out = []
    for name, value in (fields or {}).items():
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                    % (boundary, name, value)).encode())
    for field, filename, data in files:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                    "Content-Type: application/octet-stream\r\n\r\n"
                    % (boundary, field, filename)).encode() + data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def png_bomb(side, value=0):
    """A valid PNG of side x side RGB pixels all of one grey `value`: a few hundred KB that inflate
    to side * side * 3 bytes."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    z = zlib.compressobj(9)
    row = b"\0" + bytes([value]) * (side * 3)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def proc_kb(pid, field):
    """A field of /proc/PID/status in kB (VmHWM: peak resident memory)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def face_images(n=3):
    folder = os.path.join(FACES, "images")
    names = sorted(f for f in os.listdir(folder) if f.endswith(".jpg"))[:n]
    return [(name, read_bytes(os.path.join(folder, name))) for name in names]


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


S3RVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "s3rver", "node_modules",
                      "s3rver", "bin", "s3rver.js")
S3RVER_KEY = "S3RVER"  # s3rver's built-in account (key id and secret)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3rver:
    """s3rver on 127.0.0.1 with a temporary directory; unsigned requests (anonymous, which
    s3rver allows) put the test's buckets and objects in place."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="s3rver-")
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "s3rver.log"), "w+")
        # s3rver makes continuation tokens with a cipher OpenSSL 3 keeps in its legacy provider
        self.proc = subprocess.Popen(["node", "--openssl-legacy-provider", S3RVER, "-d",
                                      os.path.join(self.dir, "data"), "-a", "127.0.0.1", "-p",
                                      str(self.port), "-s"], stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("s3rver did not start")

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, urllib.parse.quote(path, safe="/?=&"), body=body)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def put(self, bucket, key, data):
        status, _ = self.request("PUT", "/%s/%s" % (bucket, key), data)
        assert status == 200, status

    def put_many(self, bucket, items):
        """[(key, bytes)] over one connection."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            for key, data in items:
                c.request("PUT", urllib.parse.quote("/%s/%s" % (bucket, key)), body=data)
                r = c.getresponse()
                r.read()
                assert r.status == 200, r.status
        finally:
            c.close()

    def get(self, bucket, key):
        return self.request("GET", "/%s/%s" % (bucket, key))

    def bucket(self, name):
        status, _ = self.request("PUT", "/" + name)
        assert status == 200, status

    def keys(self, bucket, prefix):
        _, body = self.request("GET", "/%s?prefix=%s" % (bucket, prefix))
        text = body.decode()
        return [part.split("</Key>")[0] for part in text.split("<Key>")[1:]]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class ServerTest(unittest.TestCase):
    """One server per test class."""
    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.s = Server(*cls.server_args)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def assertError(self, r, status, detail=None):
        self.assertEqual(r.status, status, r)
        j = r.json()
        self.assertEqual(j["status_code"], status)
        for key in ("id", "version", "detail", "exc_info"):
            self.assertIn(key, j)
        if detail is not None:
            self.assertIn(detail, j["detail"])
        return j
