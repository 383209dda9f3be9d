"""`labelloop ml-backend` as Label Studio sees it (spec section 3): every endpoint with the request
bodies of the spec (seed-era and current), their status codes and error paths; task media from a
small test server that checks the token (refused, missing, foreign host, size and time limits,
the cache); local files under LOCAL_FILES_DOCUMENT_ROOT and the attempts to escape it; and the
whole loop with a labelloop server in Label Studio's place: a webhook makes the backend pull the
annotations through the export API, train, lay out <model_dir>/<uid>/<version>/ and predict."""
import calendar
import http.client
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import llapi
from llapi import BIN, CONFIG, FACES, Child, Server, face_images, multipart

UID = "8.1669198467"
TOKEN = "0123456789abcdef0123456789abcdef01234567"
FACE = sorted(f for f in os.listdir(os.path.join(FACES, "images")) if f.endswith(".jpg"))[0]
with open(os.path.join(FACES, "images", FACE), "rb") as f:
    FACE_BYTES = f.read()


class Backend(Child):
    """`labelloop ml-backend` on a free port with a temporary model directory."""

    def __init__(self, *args, env=None, training=False, model_dir=None):
        self.dir = model_dir or tempfile.mkdtemp(prefix="llmlb-")
        self.log = open(os.path.join(self.dir, "backend.log"), "w+")
        cmd = [BIN, "ml-backend", "--port", "0", "--model-dir", self.dir] + list(args)
        if not training:
            cmd.append("--no-training")
        e = llapi.db_env(self.dir)  # its own database on PostgreSQL
        for k in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY", "LOCAL_FILES_DOCUMENT_ROOT"):
            e.pop(k, None)
        e.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=e)
        line = self.proc.stdout.readline()
        if "serving on http://" not in line:
            self.stop(check=False)
            raise RuntimeError("backend did not start: %r %s" % (line, self.stderr()))
        self.port = int(line.split("http://")[1].split()[0].rsplit(":", 1)[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self, check=True):
        _, err = self.terminate(60)
        shutil.rmtree(self.dir, ignore_errors=True)
        llapi.drop_db(self.dir)
        if check and self.proc.returncode != 0:
            raise AssertionError("ml-backend exited with %d:\n%s" % (self.proc.returncode,
                                                                     err[-20000:]))

    def call(self, method, path, body=None, raw=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            data = raw if raw is not None else (json.dumps(body).encode()
                                                if body is not None else None)
            conn.request(method, path, body=data,
                         headers={"Content-Type": "application/json"} if data else {})
            r = conn.getresponse()
            text = r.read()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, text
        finally:
            conn.close()

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def get(self, path):
        return self.call("GET", path)


class Media(http.server.ThreadingHTTPServer):
    """A stand-in for Label Studio's media: /data/upload/... needs "Token <TOKEN>"; /plain/...
    records the Authorization header it got; /big is 3 MiB; /slow answers after 5 s; every path
    is counted."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), MediaHandler)
        self.hits = {}
        self.auth_seen = {}
        self.files = {}  # more images by name (the benchmark's), besides FACE
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d" % self.server_address[1]

    def stop(self):
        self.shutdown()
        self.server_close()


class MediaHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="image/jpeg"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the backend stopped reading (a size limit): what the test wants

    def do_GET(self):
        path = self.path
        self.server.hits[path] = self.server.hits.get(path, 0) + 1
        self.server.auth_seen[path] = self.headers.get("Authorization")
        if path.startswith("/data/upload/"):
            if self.headers.get("Authorization") != "Token " + TOKEN:
                return self.send(401, b'{"detail": "Invalid token."}', "application/json")
            name = path.rsplit("/", 1)[1]
            if name in self.server.files:
                return self.send(200, self.server.files[name])
            return self.send(200, FACE_BYTES) if path.endswith(FACE) else self.send(404, b"")
        if path.startswith("/plain/"):
            return self.send(200, self.server.files.get(path.rsplit("/", 1)[1], FACE_BYTES))
        if path == "/big":
            return self.send(200, b"\0" * (3 << 20))
        if path == "/slow":
            time.sleep(5)
            return self.send(200, FACE_BYTES)
        if path.startswith("/api/projects/"):
            if self.headers.get("Authorization") != "Token " + TOKEN:
                return self.send(401, b'{"detail": "Invalid token."}', "application/json")
            return self.send(200, b'{"id": 8}', "application/json")
        self.send(404, b"")


def setup_body(host, token=TOKEN, era="1.6"):
    body = {"project": UID, "schema": CONFIG, "hostname": host, "access_token": token}
    if era in ("1.6", "new"):
        body["model_version"] = "1669280112"
    if era == "new":
        body["extra_params"] = {"any": "json"}
    return body


def export_task(tid, image, result=True):
    """A task of Label Studio's JSON export as the seed-era /train sends it (predictions are
    ids there)."""
    region = {"id": "a1", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
              "original_width": 500, "original_height": 281, "image_rotation": 0,
              "value": {"x": 42.37, "y": 18.6, "width": 15.09, "height": 43.74, "rotation": 0,
                        "rectanglelabels": ["face"]}}
    return {"id": tid, "data": {"image": image}, "meta": {},
            "annotations": [{"id": 100 + tid, "completed_by": 1, "result": [region] if result
                             else [], "was_cancelled": False, "ground_truth": False,
                             "created_at": "2022-11-24T07:35:05.224656Z",
                             "updated_at": "2022-11-24T07:35:05.225195Z", "lead_time": 32.9,
                             "prediction": {}, "result_count": 0, "task": tid,
                             "parent_prediction": 86, "parent_annotation": None}],
            "predictions": [86, 87], "created_at": "2022-11-23T10:14:41.560169Z",
            "updated_at": "2022-11-24T07:35:05.238340Z", "inner_id": tid,
            "total_annotations": 1, "cancelled_annotations": 0, "total_predictions": 2,
            "project": 8, "file_upload": "50233092-000003.jpg"}


def train_body(tasks):
    return {"annotations": tasks, "project": UID, "label_config": CONFIG,
            "params": {"login": None, "password": None}}


class Protocol(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.media = Media()
        cls.root = tempfile.mkdtemp(prefix="llroot-")
        cls.outside = tempfile.mkdtemp(prefix="lloutside-")
        os.makedirs(os.path.join(cls.root, "pics"))
        with open(os.path.join(cls.root, "pics", "face.jpg"), "wb") as f:
            f.write(FACE_BYTES)
        with open(os.path.join(cls.outside, "secret.jpg"), "wb") as f:
            f.write(FACE_BYTES)
        os.symlink(os.path.join(cls.outside, "secret.jpg"),
                   os.path.join(cls.root, "pics", "link.jpg"))
        os.symlink(cls.outside, os.path.join(cls.root, "dirlink"))
        cls.b = Backend("--max-media-mb", "1", "--media-timeout-s", "1",
                        env={"LOCAL_FILES_DOCUMENT_ROOT": cls.root})

    @classmethod
    def tearDownClass(cls):
        cls.b.stop()
        cls.media.stop()
        shutil.rmtree(cls.root, ignore_errors=True)
        shutil.rmtree(cls.outside, ignore_errors=True)

    def setUp(self):
        st, body = self.b.post("/setup", setup_body(self.media.url))
        self.assertEqual(st, 200, body)

    def train_one(self, image, tid=1):
        return self.b.post("/train", train_body([export_task(tid, image)]))

    def assertFails(self, res, status, *words):
        st, body = res
        self.assertEqual(st, status, body)
        for w in words:
            self.assertIn(w, body["detail"])

    def test_health_and_root(self):
        for path in ("/", "/health", "/health/"):
            st, body = self.b.get(path)
            self.assertEqual(st, 200)
            self.assertEqual(body["status"], "UP")
            self.assertEqual(body["model_dir"], self.b.dir)
            self.assertIs(body["v2"], False)
            self.assertIn(UID, body["projects"])
            self.assertTrue(any("no model trained yet" in p for p in body["problems"]), body)
        self.assertEqual(self.b.get("/metrics"), (200, {}))

    def test_setup_every_era(self):
        for era in ("old", "1.6", "new"):
            st, body = self.b.post("/setup", setup_body(self.media.url, era=era))
            self.assertEqual((st, body), (200, {"model_version": "untrained"}), era)

    def test_setup_errors(self):
        self.assertFails(self.b.post("/setup", {"project": UID}), 400, "schema")
        bad = '<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="a"/>' \
              '</Choices></View>'
        self.assertFails(self.b.post("/setup", {"project": "9.1", "schema": bad}), 400,
                         "cannot serve this labeling config")
        self.assertFails(self.b.post("/setup", {"project": UID, "schema": "<View"}), 400,
                         "labeling config")
        self.assertFails(self.b.post("/setup", raw=b"{not json"), 400, "JSON")
        self.assertFails(self.b.post("/setup", raw=b"[1]"), 400, "JSON object")
        self.assertFails(self.b.post("/setup", {"schema": CONFIG}), 400, "project uid")

    def test_predict_untrained_and_errors(self):
        tasks = [{"id": 17, "data": {"image": "/data/upload/8/" + FACE}, "meta": {},
                  "annotations": [], "predictions": []}]
        body = {"tasks": tasks, "model_version": "1669273968", "project": UID,
                "label_config": CONFIG, "params": {"login": None, "password": None,
                                                   "context": None}}
        self.assertEqual(self.b.post("/predict", body), (200, {"results": [],
                                                               "model_version": "untrained"}))
        del body["model_version"]  # current Label Studio
        self.assertEqual(self.b.post("/predict", body)[0], 200)
        self.assertFails(self.b.post("/predict", {"tasks": tasks, "project": "77.1"}), 404,
                         "unknown project 77.1", "/setup")
        self.assertFails(self.b.post("/predict", {"tasks": {}, "project": UID}), 400, "tasks")
        self.assertEqual(self.b.get("/predict")[0], 405)
        self.assertEqual(self.b.get("/nothing")[0], 404)

    def test_train_seed_era(self):
        st, body = self.b.post("/train", train_body([]))
        self.assertEqual((st, body), (400, "No annotations found."))
        st, body = self.b.post("/train", {"project": UID})
        self.assertEqual((st, body), (400, "No annotations found."))
        st, body = self.train_one("/data/upload/8/" + FACE)
        self.assertEqual(st, 201, body)
        self.assertEqual(body["labelloop"]["tasks"], 1)
        self.assertGreater(body["labelloop"]["training_job"], 0)
        st, body = self.b.get("/is_training?project=" + UID)
        self.assertEqual((st, body), (200, {"is_training": True}))  # queued: --no-training
        st, body = self.b.post("/versions", {"project": UID})
        self.assertEqual(st, 200)
        self.assertEqual(body["versions"], [])
        self.assertFails(self.b.post("/versions", {}), 400, "project")
        self.assertEqual(self.b.get("/versions")[0], 200)

    def test_upload_token(self):
        url = "/data/upload/9/" + FACE  # not cached by another test
        self.b.post("/setup", setup_body(self.media.url, token="wrong"))
        self.assertFails(self.train_one(url, tid=2), 500, url, "HTTP 401", "refused the token")
        self.b.post("/setup", setup_body(self.media.url, token=""))
        self.assertFails(self.train_one(url, tid=3), 500,
                         "no API token is known")
        st, health = self.b.get("/health")
        self.assertTrue(any("no API token" in p for p in health["problems"]), health)
        self.b.post("/setup", setup_body(self.media.url))
        self.assertEqual(self.train_one(url, tid=3)[0], 201)
        self.assertFails(self.train_one("/data/upload/8/missing.jpg", tid=4), 500,
                         "HTTP 404", "missing.jpg")
        self.assertFails(self.train_one("s3://bucket/x.jpg", tid=5), 500, "s3://bucket/x.jpg",
                         "not supported")

    def test_host_check_in_health(self):
        self.b.post("/setup", setup_body(self.media.url, token="refused"))
        time.sleep(1)
        st, health = self.b.get("/health")
        self.assertTrue(any("refused the token" in p for p in health["problems"]), health)
        self.b.post("/setup", setup_body("http://127.0.0.1:1"))
        time.sleep(1)
        st, health = self.b.get("/health")
        self.assertTrue(any("cannot connect" in p for p in health["problems"]), health)

    def test_plain_urls_limits_and_cache(self):
        foreign = self.media.url.replace("127.0.0.1", "localhost") + "/plain/" + FACE
        st, body = self.train_one(foreign, tid=6)
        self.assertEqual(st, 201, body)
        self.assertIsNone(self.media.auth_seen["/plain/" + FACE], "token sent to another host")
        self.train_one(foreign, tid=7)
        self.assertEqual(self.media.hits["/plain/" + FACE], 1, "the cache should hold it")
        self.assertFails(self.train_one(self.media.url + "/big", tid=8), 500, "/big",
                         "larger than the 1 MiB limit")
        self.assertFails(self.train_one(self.media.url + "/slow", tid=9), 500, "/slow",
                         "timed out")
        self.assertFails(self.train_one("http://127.0.0.1:1/x.jpg", tid=10), 500,
                         "http://127.0.0.1:1/x.jpg", "cannot connect")

    def test_local_files_root(self):
        ok = "/data/local-files/?d=pics/face.jpg"
        self.assertEqual(self.train_one(ok, tid=20)[0], 201)
        self.assertEqual(self.train_one("/data/local-files/?d=pics%2Fface.jpg", tid=21)[0], 201)
        escapes = ["../" + os.path.basename(self.outside) + "/secret.jpg",
                   "pics/../../" + os.path.basename(self.outside) + "/secret.jpg",
                   "pics/link.jpg", "dirlink/secret.jpg",
                   "%2e%2e%2f" + os.path.basename(self.outside) + "%2fsecret.jpg",
                   "..%2F" + os.path.basename(self.outside) + "%2Fsecret.jpg"]
        for i, d in enumerate(escapes):
            self.assertFails(self.train_one("/data/local-files/?d=" + d, tid=30 + i), 500,
                             "outside LOCAL_FILES_DOCUMENT_ROOT")
        # an absolute path is taken relative to the root, as Label Studio does
        self.assertFails(self.train_one("/data/local-files/?d=" + self.outside + "/secret.jpg",
                                        tid=40), 500, "no file")
        self.assertFails(self.train_one("/data/local-files/?d=pics/nope.jpg", tid=41), 500,
                         "no file pics/nope.jpg")
        self.assertFails(self.train_one("/data/local-files/?d=%00x", tid=42), 500,
                         "bad local-files path")

    def test_webhook_events(self):
        project = {"id": 8, "title": "test", "label_config": CONFIG, "model_version": "",
                   "created_at": "2022-11-23T10:14:27.636114Z"}
        st, body = self.b.post("/webhook", {"action": "PROJECT_CREATED", "project": project})
        self.assertEqual((st, body), (200, {"status": "Unknown event"}))
        self.assertFails(self.b.post("/webhook", {"project": project}), 400, "action")
        self.assertFails(self.b.post("/webhook", {"action": "START_TRAINING", "project": 8}),
                         400, "project object")
        ann = export_task(50, "/data/upload/8/" + FACE)["annotations"][0]
        task = {"id": 50, "data": {"image": "/data/upload/8/" + FACE}, "meta": {},
                "is_labeled": True, "project": 8}
        for action in ("ANNOTATION_CREATED", "ANNOTATION_UPDATED"):
            st, body = self.b.post("/webhook", {"action": action, "annotation": ann,
                                                "task": task, "project": project})
            self.assertEqual(st, 201, body)
            self.assertEqual(body["status"], "ok")
            self.assertTrue(body["job_id"].isdigit())
        st, body = self.b.post("/webhook", {"action": "ANNOTATIONS_DELETED",
                                            "annotations": [{"id": ann["id"]}],
                                            "project": project})
        self.assertEqual(st, 201, body)
        st, body = self.b.post("/webhook", {"action": "START_TRAINING", "project": project})
        self.assertEqual(st, 201, body)


class WholeLoop(unittest.TestCase):
    """A labelloop server plays Label Studio: the backend is set up with its host and token, a
    START_TRAINING webhook makes it pull the annotations through the export API, train with the
    loop's policy, evaluate on held-out tasks, lay out the version folder, and predict."""

    def test_loop_through_the_protocol(self):
        s = Server()
        b = Backend("--max-train-s", "4", "--min-labeled", "6", "--arch", "fcos-s", training=True)
        try:
            p = s.create_project()
            files = multipart([("file", n, d) for n, d in face_images(10)])
            self.assertEqual(s.post("/api/projects/%d/import" % p, raw=files[0],
                                    content_type=files[1]).status, 201)
            tasks = s.get("/api/tasks?project=%d&page_size=100" % p).json()["tasks"]
            for t in tasks[:8]:
                region = {"id": "r", "type": "rectanglelabels", "from_name": "label",
                          "to_name": "image", "value": {"x": 30, "y": 20, "width": 40,
                                                        "height": 50, "rectanglelabels": ["face"]}}
                self.assertEqual(s.post("/api/tasks/%d/annotations" % t["id"],
                                        {"result": [region]}).status, 201)
            proj = s.get("/api/projects/%d" % p).json()
            created = proj["created_at"]
            host = "http://127.0.0.1:%d" % s.port
            uid = "%d.%d" % (p, calendar.timegm(time.strptime(created[:19],
                                                              "%Y-%m-%dT%H:%M:%S")))
            st, body = b.post("/setup", {"project": uid, "schema": CONFIG, "hostname": host,
                                         "access_token": s.token})
            self.assertEqual((st, body), (200, {"model_version": "untrained"}))
            st, body = b.post("/webhook", {"action": "START_TRAINING", "project": proj})
            self.assertEqual(st, 201, body)
            deadline = time.time() + 600
            versions = []
            while time.time() < deadline and not versions:
                time.sleep(1)
                versions = b.post("/versions", {"project": uid})[1]["versions"]
            self.assertTrue(versions, b.stderr()[-3000:])
            v = versions[-1]
            vdir = os.path.join(b.dir, uid, v)
            deadline = time.time() + 60
            while time.time() < deadline and not os.path.exists(
                    os.path.join(vdir, "job_result.json")):
                time.sleep(0.5)
            with open(os.path.join(vdir, "job_result.json")) as f:
                jr = json.load(f)
            self.assertEqual((jr["status"], jr["project"], jr["version"]), ("ok", uid, v))
            self.assertIn("heldout_images", jr["train_output"])
            with open(os.path.join(vdir, "train_data.json")) as f:
                td = json.load(f)
            self.assertEqual(len(td), 8)
            self.assertTrue(all(t["annotations"][0]["result"] for t in td))
            self.assertTrue(os.path.getsize(os.path.join(vdir, "model.safetensors")) > 1000)
            st, setup = b.post("/setup", {"project": uid, "schema": CONFIG, "hostname": host,
                                          "access_token": s.token})
            self.assertEqual(setup["model_version"], v if jr["train_output"]["promoted"]
                             else setup["model_version"])
            st, pred = b.post("/predict", {"tasks": [{"id": t["id"], "data": t["data"]}
                                                     for t in tasks], "project": uid,
                                           "label_config": CONFIG, "params": {}})
            self.assertEqual(st, 200, pred)
            self.assertEqual(len(pred["results"]), len(tasks))
            for r in pred["results"]:
                self.assertIsInstance(r["result"], list)
                self.assertTrue(0 <= r["score"] <= 1)
                self.assertEqual(r["model_version"], pred["model_version"])
            self.assertNotIn("errors", pred)
        finally:
            b.stop()
            s.stop()


if __name__ == "__main__":
    unittest.main()
