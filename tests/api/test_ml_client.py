"""External Label Studio ML backends inside labelloop (spec 2.7, 3.2-3.7): /api/ml create, list,
get, patch, delete and train against a fake backend that answers well, cannot batch, or answers
slowly, wrongly (bad JSON, wrong count of results, 500) or not at all. Labeling never waits for a
backend and never loses an annotation; the backend's state and last error are visible. Then the
whole loop with labelloop's own `ml-backend` behind the protocol: annotations reach it as
webhooks, it trains, the server sees the new model version and predicts every task with it."""
import http.server
import json
import os
import threading
import time
import unittest

from llapi import CONFIG, Server, face_images, multipart
from test_loop import wait_for

os.environ.update({"ML_TIMEOUT_PREDICT": "2", "LABELLOOP_ML_POLL_S": "1",
                   "LABELLOOP_ML_BACKOFF_S": "0.1", "LABELLOOP_ML_BREAKER_OPEN_S": "3"})


class Fake(http.server.ThreadingHTTPServer):
    """A Label Studio ML backend whose behaviour the test sets: mode in good, single (answers
    one result whatever the batch), slow, badjson, count (one result too few), error (500),
    badsetup; legacy=True answers /health as label-studio-ml 1.0.8 (no model_class). Every
    request is recorded."""
    daemon_threads = True

    def __init__(self, mode="good", legacy=False):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.mode, self.legacy, self.calls = mode, legacy, []
        self.url = "http://127.0.0.1:%d" % self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self):
        self.shutdown()
        self.server_close()

    def bodies(self, path):
        return [b for p, b in self.calls if p == path]


class FakeHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, body):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self.server.calls.append((self.path, None))
        health = {"status": "UP", "model_dir": "/m", "v2": False} if self.server.legacy \
            else {"status": "UP", "model_class": "Fake"}
        self.reply(200, health)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        self.server.calls.append((self.path, body))
        mode = self.server.mode
        if self.path == "/setup":
            if mode == "badsetup":
                return self.reply(500, {"status": 500, "detail": "model failed to load"})
            return self.reply(200, {"model_version": "fake-1"})
        if self.path == "/predict":
            tasks = body["tasks"]
            if mode == "slow":
                time.sleep(4)
            if mode == "badjson":
                return self.reply(200, b"{not json")
            if mode == "error":
                return self.reply(500, {"status": 500, "detail": "CUDA out of memory"})
            out = [{"result": [{"id": "0", "type": "rectanglelabels", "from_name": "label",
                                "to_name": "image", "value": {"x": 10, "y": 10, "width": 20,
                                                              "height": 20,
                                                              "rectanglelabels": ["face"]},
                                "score": 0.9}],
                    "score": (t["id"] % 5 + 1) * 15.0}  # percent, as the seed's backend
                   for t in tasks]
            if mode == "single":
                out = out[:1]
            if mode == "count":
                out = out[:-1]
            return self.reply(200, {"results": out, "model_version": "fake-1"})
        return self.reply(201, {})


class Client(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def setUp(self):
        self.fakes = []

    def tearDown(self):
        for f in self.fakes:
            f.stop()

    def project(self, n=3):
        p = self.s.create_project()
        body, ctype = multipart([("file", n_, d) for n_, d in face_images(n)])
        self.assertEqual(self.s.post("/api/projects/%d/import" % p, raw=body,
                                     content_type=ctype).status, 201)
        return p

    def fake(self, mode="good", **kw):
        f = Fake(mode, **kw)
        self.fakes.append(f)
        return f

    def add(self, p, f, status=201):
        r = self.s.post("/api/ml", {"url": f.url, "project": p, "title": "fake"})
        self.assertEqual(r.status, status, r)
        return r.json()

    def backend(self, bid):
        r = self.s.get("/api/ml/%d" % bid)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def tasks(self, p):
        return self.s.get("/api/tasks?project=%d&page_size=100&fields=all" % p).json()["tasks"]

    def predictions(self, p, version="fake-1"):
        return [pr for t in self.tasks(p) for pr in t.get("predictions", [])
                if pr["model_version"] == version]

    def annotate(self, task_id):
        region = {"id": "r", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
                  "value": {"x": 5, "y": 5, "width": 30, "height": 30,
                            "rectanglelabels": ["face"]}}
        t0 = time.time()
        r = self.s.post("/api/tasks/%d/annotations" % task_id, {"result": [region]})
        self.assertEqual(r.status, 201, r)
        return time.time() - t0

    def test_add_good_backend_predicts_in_one_batch(self):
        p, f = self.project(3), self.fake()
        b = self.add(p, f)
        self.assertEqual((b["state"], b["model_version"], b["error_message"]),
                         ("CO", "fake-1", ""))
        self.assertEqual([c[0] for c in f.calls[:2]], ["/health", "/setup"])
        setup = f.bodies("/setup")[0]
        self.assertEqual(setup["project"].split(".")[0], str(p))
        self.assertEqual(setup["schema"], CONFIG)
        self.assertEqual(setup["access_token"], self.s.token)
        self.assertTrue(setup["hostname"].startswith("http://127.0.0.1:"))
        preds = wait_for("predictions", lambda: len(self.predictions(p)) == 3 and
                         self.predictions(p))
        batches = f.bodies("/predict")
        self.assertEqual(len(batches[0]["tasks"]), 3)
        self.assertEqual(batches[0]["project"], setup["project"])
        self.assertIn("image", batches[0]["tasks"][0]["data"])
        for pr in preds:
            self.assertTrue(0 < pr["score"] <= 0.75)  # percent became a fraction
        # the queue follows the backend's uncertainty: lowest score first
        self.s.patch("/api/projects/%d" % p, {"sampling": "Uncertainty sampling"})
        nxt = self.s.get("/api/projects/%d/next" % p).json()
        lowest = min(self.tasks(p), key=lambda t: t["predictions"][0]["score"])
        self.assertEqual(nxt["id"], lowest["id"])
        # the help metrics count what an annotation kept of the backend's prediction
        pred = lowest["predictions"][0]
        r = self.s.post("/api/tasks/%d/annotations" % lowest["id"],
                        {"result": pred["result"], "parent_prediction": pred["id"],
                         "lead_time": 2.0})
        self.assertEqual(r.status, 201, r)
        help_ = self.s.get("/api/projects/%d/model" % p).json()["help"]
        row = [h for h in help_["by_version"] if h["model_version"] == "fake-1"]
        self.assertEqual((row[0]["annotations"], row[0]["accepted"]), (1, 1), help_)
        listed = self.s.get("/api/ml?project=%d" % p).json()
        self.assertIn(b["id"], [m["id"] for m in listed])

    def test_errors_when_adding(self):
        p = self.project(1)
        r = self.s.post("/api/ml", {"url": "http://127.0.0.1:1", "project": p})
        self.assertEqual(r.status, 400, r)
        self.assertIn("Can't connect to ML backend http://127.0.0.1:1, health check failed",
                      r.body.decode())
        r = self.s.post("/api/ml", {"url": self.fake("badsetup").url, "project": p})
        self.assertEqual(r.status, 400, r)
        self.assertIn("doesn't look like a valid ML backend", r.body.decode())
        self.assertIn("model failed to load", r.body.decode())
        self.assertEqual(self.s.post("/api/ml", {"url": "ftp://x", "project": p}).status, 400)
        self.assertEqual(self.s.post("/api/ml", {"url": "http://x", "project": 999}).status, 404)

    def test_backend_that_cannot_batch(self):
        p, f = self.project(3), self.fake("single")
        self.add(p, f)
        wait_for("predictions", lambda: len(self.predictions(p)) == 3)
        sizes = [len(b["tasks"]) for b in f.bodies("/predict")]
        self.assertEqual(sizes, [3, 1, 1, 1])

    def check_broken(self, mode, words):
        p, f = self.project(3), self.fake(mode)
        b = self.add(p, f)
        got = wait_for("state ER", lambda: (lambda x: x if x["state"] == "ER" else None)(
            self.backend(b["id"])))
        for w in words:
            self.assertIn(w, got["error_message"])
        self.assertEqual(self.predictions(p), [])
        # labeling goes on, the annotation is kept
        t = self.tasks(p)[0]
        self.assertLess(self.annotate(t["id"]), 1.0)
        self.assertEqual(self.tasks(p)[0]["total_annotations"], 1)
        return f, b

    def test_bad_json(self):
        self.check_broken("badjson", ["not JSON", "/predict"])

    def test_wrong_count(self):
        self.check_broken("count", ["2 results for 3 tasks"])

    def test_500_is_retried_then_breaker_opens(self):
        f, b = self.check_broken("error", ["HTTP 500", "CUDA out of memory"])
        self.assertGreaterEqual(len(f.bodies("/predict")), 3)  # 1 + 2 retries
        task = self.tasks(b["project"])[0]["id"]
        for _ in range(3):  # opening a task asks for its prediction
            self.assertEqual(self.s.get("/api/tasks/%d" % task).status, 200)
        circuit = wait_for("circuit open", lambda: self.backend(b["id"])["circuit"]["open"] and
                           self.backend(b["id"])["circuit"])
        self.assertGreaterEqual(circuit["failures"], 3)

    def test_slow_backend_never_blocks_labeling(self):
        p, f = self.project(3), self.fake("slow")
        b = self.add(p, f)
        wait_for("a /predict in flight", lambda: f.bodies("/predict"))
        for t in self.tasks(p):
            self.assertLess(self.annotate(t["id"]), 1.0)
        got = wait_for("state ER", lambda: (lambda x: x if x["state"] == "ER" else None)(
            self.backend(b["id"])), timeout=60)
        self.assertIn("timed out", got["error_message"])

    def test_dead_backend(self):
        p, f = self.project(2), self.fake()
        b = self.add(p, f)
        wait_for("predictions", lambda: len(self.predictions(p)) == 2)
        f.stop()
        self.fakes.remove(f)
        for t in self.tasks(p):
            self.assertLess(self.annotate(t["id"]), 1.0)
        got = wait_for("state DI", lambda: (lambda x: x if x["state"] == "DI" else None)(
            self.backend(b["id"])))
        self.assertIn("health check failed", got["error_message"])
        self.assertEqual(sum(t["total_annotations"] for t in self.tasks(p)), 2)

    def test_webhooks_train_patch_delete(self):
        p, f = self.project(2), self.fake()
        b = self.add(p, f)
        t = self.tasks(p)[0]
        self.annotate(t["id"])
        hook = wait_for("webhook", lambda: f.bodies("/webhook"))[0]
        self.assertEqual(hook["action"], "ANNOTATION_CREATED")
        self.assertEqual(hook["task"]["id"], t["id"])
        self.assertEqual(hook["project"]["id"], p)
        self.assertEqual(hook["annotation"]["result"][0]["value"]["rectanglelabels"], ["face"])
        self.assertEqual(self.s.post("/api/ml/%d/train" % b["id"]).status, 200)
        start = wait_for("START_TRAINING", lambda: [h for h in f.bodies("/webhook")
                                                    if h["action"] == "START_TRAINING"])
        self.assertEqual(start[0]["project"]["id"], p)
        r = self.s.patch("/api/ml/%d" % b["id"], {"title": "renamed", "timeout": 5})
        self.assertEqual((r.status, r.json()["title"]), (200, "renamed"))
        r = self.s.patch("/api/ml/%d" % b["id"], {"url": "http://127.0.0.1:1"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(self.s.get("/api/ml/%d/versions" % b["id"]).json()["versions"],
                         ["fake-1"])
        self.assertEqual(self.s.delete("/api/ml/%d" % b["id"]).status, 204)
        self.assertEqual(self.s.get("/api/ml/%d" % b["id"]).status, 404)

    def test_legacy_backend_trains_through_train(self):
        p, f = self.project(2), self.fake(legacy=True)
        b = self.add(p, f)
        self.annotate(self.tasks(p)[0]["id"])
        self.assertEqual(self.s.post("/api/ml/%d/train" % b["id"]).status, 200)
        body = wait_for("/train", lambda: f.bodies("/train"))[0]
        self.assertEqual(len(body["annotations"]), 1)
        self.assertEqual(body["annotations"][0]["annotations"][0]["result"][0]["type"],
                         "rectanglelabels")
        self.assertEqual(body["params"], {"login": None, "password": None})


class OwnBackend(unittest.TestCase):
    """labelloop's server with labelloop's own ml-backend behind the protocol."""

    def test_whole_loop(self):
        from test_ml_backend import Backend
        os.environ["ML_TIMEOUT_PREDICT"] = "300"  # the detector under the sanitizers is slow
        try:
            s = Server()
        finally:
            os.environ["ML_TIMEOUT_PREDICT"] = "2"
        b = Backend("--max-train-s", "4", "--min-labeled", "6", "--arch", "fcos-s", training=True)
        try:
            p = s.create_project()
            body, ctype = multipart([("file", n, d) for n, d in face_images(10)])
            self.assertEqual(s.post("/api/projects/%d/import" % p, raw=body,
                                    content_type=ctype).status, 201)
            r = s.post("/api/ml", {"url": b.url, "project": p, "title": "own"})
            self.assertEqual((r.status, r.json()["model_version"]), (201, "untrained"))
            bid = r.json()["id"]
            tasks = s.get("/api/tasks?project=%d&page_size=100" % p).json()["tasks"]
            region = {"id": "r", "type": "rectanglelabels", "from_name": "label",
                      "to_name": "image", "value": {"x": 30, "y": 20, "width": 40, "height": 50,
                                                    "rectanglelabels": ["face"]}}
            for t in tasks[:8]:
                self.assertEqual(s.post("/api/tasks/%d/annotations" % t["id"],
                                        {"result": [region]}).status, 201)
            version = wait_for("a trained version", lambda: (lambda v: v if v != "untrained"
                                                             else None)(
                s.get("/api/ml/%d" % bid).json()["model_version"]), timeout=600, every=1)
            self.assertTrue(version.startswith("fcos-"), version)
            wait_for("predictions of %s on every task" % version, lambda: all(
                any(pr["model_version"] == version for pr in t.get("predictions", []))
                for t in s.get("/api/tasks?project=%d&page_size=100&fields=all" % p)
                .json()["tasks"]), timeout=120, every=1)
            uids = wait_for("the version folder", lambda: [d for d in os.listdir(b.dir)
                                                           if d[0].isdigit()])
            wait_for("job_result.json", lambda: os.path.exists(
                os.path.join(b.dir, uids[0], version, "job_result.json")), timeout=120)
        except AssertionError:
            print(b.stderr()[-4000:], s.stderr()[-4000:])
            raise
        finally:
            b.stop()
            s.stop()


if __name__ == "__main__":
    unittest.main()
