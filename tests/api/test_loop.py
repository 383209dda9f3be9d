"""The closed loop through the REST API of a real server with training on and short cycles:
annotations trigger a job, a version appears with held-out metrics, every task is predicted,
/next follows the sampling, and the policy's edge cases (coalescing, cancel, a worker killed
with SIGKILL, a server restart during a job, a worse model, a label added mid-project, a project
deleted during training, a corrupt image among the tasks). Faces from seed-faces16."""
import json
import os
import signal
import subprocess
import time
import unittest
import urllib.parse

from llapi import BIN, FACES, Server, face_images, multipart

CONFIG2 = ('<View><Image name="image" value="$image"/>'
           '<RectangleLabels name="label" toName="image"><Label value="face"/>'
           '<Label value="background"/></RectangleLabels></View>')

with open(os.path.join(FACES, "annotations", "train.json")) as f:
    _COCO = json.load(f)
TRUTH = {}
for im in _COCO["images"]:
    for a in _COCO["annotations"]:
        if a["image_id"] == im["id"]:
            TRUTH[im["file_name"]] = (a["bbox"], im["width"], im["height"])


def region(x, y, w, h, label="face", rid="r"):
    return {"id": rid, "type": "rectanglelabels", "from_name": "label", "to_name": "image",
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0,
                      "rectanglelabels": [label]}}


def truth_region(task):
    name = task["data"]["image"].rsplit("/", 1)[1].split("-", 1)[1]
    (x, y, w, h), iw, ih = TRUTH[name]
    return region(x / iw * 100, y / ih * 100, w / iw * 100, h / ih * 100)


def wait_for(what, cond, timeout=120, every=0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(every)
    raise AssertionError("timed out after %ds waiting for %s" % (timeout, what))


class Loop:
    """A project on a server, with helpers to label it and watch its model."""

    def __init__(self, s, config=None, copies=1, **settings):
        self.s = s
        fields = {"label_config": config} if config else {}
        fields.update(settings)
        self.p = s.create_project(**fields)
        for _ in range(copies):
            body, ctype = multipart([("file", n, d) for n, d in face_images(16)])
            r = s.post("/api/projects/%d/import" % self.p, raw=body, content_type=ctype)
            assert r.status == 201, r
        self.tasks = self.list_tasks()

    def list_tasks(self):
        r = self.s.get("/api/tasks?project=%d&page_size=1000&fields=all" % self.p)
        assert r.status == 200, r
        return r.json()["tasks"]

    def label(self, n=6):
        """Annotates the first n tasks with their true boxes."""
        for t in self.tasks[:n]:
            self.annotate(t)

    def annotate(self, task, result=None, **extra):
        body = {"result": result if result is not None else [truth_region(task)]}
        body.update(extra)
        r = self.s.post("/api/tasks/%d/annotations" % task["id"], body)
        assert r.status == 201, r
        return r.json()

    def model(self):
        r = self.s.get("/api/projects/%d/model" % self.p)
        assert r.status == 200, r
        return r.json()

    def train(self, **params):
        r = self.s.post("/api/projects/%d/model/train" % self.p, params or None)
        assert r.status == 201, r
        return r.json()

    def job(self, jid):
        r = self.s.get("/api/projects/%d/model/jobs/%d" % (self.p, jid))
        assert r.status == 200, r
        return r.json()

    def wait_job(self, jid, states=("done",), timeout=180):
        def ended():
            j = self.job(jid)
            return j if j["state"] in ("done", "failed", "cancelled") else None
        j = wait_for("job %d to end" % jid, ended, timeout)
        assert j["state"] in states, (j["state"], j["error"], j["log"][-2000:])
        return j

    def wait_log(self, jid, text, timeout=10):
        """The server saves a worker's last lines when it reaps it, just after the job ended."""
        return wait_for("'%s' in the log of job %d" % (text, jid),
                        lambda: (lambda j: j if text in j["log"] else None)(self.job(jid)),
                        timeout)

    def wait_running(self, jid, phase="training"):
        return wait_for("job %d to be %s" % (jid, phase),
                        lambda: (lambda j: j if j["state"] == "running" and j["phase"] == phase
                                 and j["pid"] else None)(self.job(jid)))


def training_server(*args, arch="fcos-s", **kw):
    """The loop's mechanics are tested on fcos-s, which trains and predicts several times faster
    under the sanitizers than the default fcos-mv3; test_loop_end_to_end runs the default."""
    return Server("--max-train-s", "4", *args, *(("--arch", arch) if arch else ()), training=True,
                  **kw)


def label_then_restart(start):
    """Labels six tasks on a fcos-s server, runs start(lp) there, stops it and starts the same
    data directory again with the default architecture. Returns (lp, that server, start's value)."""
    s = training_server(data_dir=None)
    s.keep = True
    try:
        lp = Loop(s, loop_min_labeled=100)
        lp.label()
        out = start(lp)
    finally:
        s.stop()
    lp.s = Server("--max-train-s", "2", data_dir=s.dir, training=True)
    return lp, lp.s, out


class EndToEnd(unittest.TestCase):
    def test_loop_end_to_end(self):
        s = training_server(arch=None)
        try:
            lp = Loop(s, loop_min_labeled=10)
            self.assertIsNone(lp.model()["running"])
            for t in lp.tasks[:9]:
                lp.annotate(t)
            m = lp.model()
            self.assertIsNone(m["running"] or m["queued"])  # 9 < K
            self.assertIn("when 10 tasks are labeled (9 now)", m["policy"]["next"])
            lp.annotate(lp.tasks[9])
            m = lp.model()
            job = m["running"] or m["queued"]
            self.assertIsNotNone(job, "the 10th label should queue a training job")
            self.assertEqual(job["reason"], "first")
            job = lp.wait_job(job["id"])
            m = lp.model()
            v = m["current"]
            self.assertIsNotNone(v)
            self.assertEqual(m["model_version"], v["name"])
            self.assertTrue(v["promoted"])
            self.assertEqual(v["train_images"] + v["heldout_images"], 10)
            for k in ("ap", "ap50", "ap75"):
                self.assertGreaterEqual(v["metrics"][k], 0)
            lp.wait_log(job["id"], "predicted 16 of 16 tasks")
            # every task has a prediction of the version, with per-box scores
            tasks = lp.list_tasks()
            for t in tasks:
                preds = [p for p in t["predictions"] if p["model_version"] == v["name"]]
                self.assertEqual(len(preds), 1, t["id"])
                self.assertTrue(0 <= preds[0]["score"] <= 1)
                self.assertAlmostEqual(t["uncertainty"], 1 - preds[0]["score"], places=6)
                for item in preds[0]["result"]:
                    self.assertEqual(item["type"], "rectanglelabels")
                    self.assertIn("score", item)
            # a rollback to the version already current: its predict job has nothing to do
            r = s.post("/api/projects/%d/model/versions/%d/rollback" % (lp.p, v["id"]))
            self.assertEqual(r.status, 200, r)
            pj = wait_for("the predict job", lambda: next(
                (j for j in s.get("/api/projects/%d/model/jobs" % lp.p).json()
                 if j["kind"] == "predict" and j["state"] not in ("queued", "running")), None))
            self.assertEqual(pj["state"], "done", pj)
            lp.wait_log(pj["id"], "predicted 0 of 0 tasks")
            # Label Studio's view of it
            ml = s.get("/api/ml?project=%d" % lp.p).json()
            self.assertEqual(len(ml), 1)
            self.assertEqual(ml[0]["model_version"], v["name"])
            self.assertEqual(ml[0]["state"], "CO")
            self.assertEqual(s.get("/api/ml/%d/versions" % ml[0]["id"]).json()["versions"],
                             [v["name"]])
            # /next follows the sampling: Uncertainty gives the least sure unlabeled task
            unlabeled = [t for t in tasks if not t["is_labeled"]]
            r = s.patch("/api/projects/%d" % lp.p, {"sampling": "Uncertainty sampling"})
            self.assertEqual(r.status, 200, r)
            most = max(unlabeled, key=lambda t: (t["uncertainty"], -t["id"]))
            self.assertEqual(s.get("/api/projects/%d/next" % lp.p).json()["id"], most["id"])
            s.patch("/api/projects/%d" % lp.p, {"sampling": "Sequential sampling"})
            # another annotator: the admin's task lock keeps `most` from it
            other = s.user_token("seq@example.com", "seq-password-1")
            self.assertEqual(s.get("/api/projects/%d/next" % lp.p, token=other).json()["id"],
                             min(t["id"] for t in unlabeled if t["id"] != most["id"]))
            q = urllib.parse.quote(json.dumps({"ordering": ["-tasks:uncertainty"]}))
            r = s.get("/api/tasks?project=%d&query=%s" % (lp.p, q))
            # highest first; equal uncertainties (empty predictions) by id, descending
            got = [(t["uncertainty"], t["id"]) for t in r.json()["tasks"]]
            self.assertEqual(got, sorted(((t["uncertainty"], t["id"]) for t in tasks),
                                         reverse=True))
            # the help metrics: accept the shown boxes of a prediction as they are
            t = most
            pred = [p for p in t["predictions"] if p["model_version"] == v["name"]][0]
            shown = [i for i in pred["result"] if i["score"] >= v["score_threshold"]]
            lp.annotate(t, shown, parent_prediction=pred["id"], lead_time=3.0)
            h = lp.model()["help"]
            row = [b for b in h["by_version"] if b["model_version"] == v["name"]][0]
            self.assertEqual(row["accepted"], len(shown))
            self.assertEqual(row["drawn"] + row["adjusted"] + row["deleted"], 0)
            self.assertEqual(h["without_prediction"]["annotations"], 10)
            # the Data Manager's "Retrieve Predictions" predicts again what was deleted
            two = {"selectedItems": {"all": False, "included": [u["id"] for u in unlabeled[:2]]}}
            url = "/api/dm/actions?id=%s&project=" + str(lp.p)
            r = s.post(url % "delete_tasks_predictions", two)
            self.assertEqual(r.json()["processed_items"], 2, r)
            r = s.post(url % "retrieve_tasks_predictions", two)
            self.assertEqual(r.json()["processed_items"], 2, r)
            for u in unlabeled[:2]:
                preds = s.get("/api/predictions?task=%d" % u["id"]).json()  # no predict-on-open
                self.assertEqual([p["model_version"] for p in preds], [v["name"]])
        finally:
            s.stop()


class Policy(unittest.TestCase):
    def test_coalescing_and_cancel_while_queued(self):
        s = Server()  # --no-training: jobs stay queued
        try:
            lp = Loop(s, loop_min_labeled=3, loop_retrain_every=2)
            lp.label()
            m = lp.model()
            self.assertEqual(m["queued"]["reason"], "first")
            jobs = s.get("/api/projects/%d/model/jobs" % lp.p).json()
            self.assertEqual(len(jobs), 1, "more labels while a job waits must not queue more")
            j1 = lp.train()
            j2 = lp.train(max_train_s=2)
            self.assertEqual(j1["id"], m["queued"]["id"])  # a newer trigger replaces it
            self.assertEqual(j2["id"], j1["id"])
            self.assertEqual(j2["reason"], "manual")
            self.assertEqual(j2["params"], {"max_train_s": 2})
            r = s.post("/api/projects/%d/model/jobs/%d/cancel" % (lp.p, j1["id"]))
            self.assertEqual(r.json()["state"], "cancelled")
            r = s.post("/api/projects/%d/model/jobs/%d/cancel" % (lp.p, j1["id"]))
            self.assertEqual(r.status, 409, r)
            r = s.post("/api/projects/%d/model/train" % lp.p, {"max_train_s": -1})
            self.assertEqual(r.status, 400, r)
            r = s.post("/api/projects/%d/model/jobs/999/cancel" % lp.p)
            self.assertEqual(r.status, 404, r)
            # off: no backend listed, no training on demand
            s.patch("/api/projects/%d" % lp.p, {"loop_enabled": False})
            self.assertEqual(s.get("/api/ml?project=%d" % lp.p).json(), [])
            self.assertEqual(s.post("/api/projects/%d/model/train" % lp.p).status, 409)
            r = s.patch("/api/projects/%d" % lp.p, {"loop_min_labeled": -3})
            self.assertEqual(r.status, 400, r)
            # a config without boxes gets no detector
            other = s.create_project(label_config='<View><Text name="t" value="$t"/>'
                                     '<Choices name="c" toName="t"><Choice value="a"/></Choices>'
                                     '</View>')
            m = s.get("/api/projects/%d/model" % other).json()
            self.assertFalse(m["eligible"])
            self.assertIn("RectangleLabels", m["message"])
        finally:
            s.stop()

    def test_cancel_running_job(self):
        s = training_server()
        try:
            lp = Loop(s, loop_min_labeled=100)
            lp.label()
            j = lp.train(max_train_s=120)
            lp.wait_running(j["id"])
            r = s.post("/api/projects/%d/model/jobs/%d/cancel" % (lp.p, j["id"]))
            self.assertEqual(r.status, 200, r)
            j = lp.wait_job(j["id"], ("cancelled",), timeout=30)
            self.assertEqual(lp.model()["versions"], [])
            self.assertEqual(s.get("/api/health").status, 200)
        finally:
            s.stop()

    def test_second_server_on_the_same_data(self):
        """A second server starting on the same data dir leaves the first one's running job alone
        (its lease is live), and a cancel sent to the second reaches the first one's worker
        through the job row."""
        s = training_server()
        try:
            lp = Loop(s, loop_min_labeled=100)
            lp.label()
            j = lp.wait_running(lp.train(max_train_s=120)["id"])
            s2 = Server(data_dir=s.dir)  # --no-training: its start still recovers jobs
            try:
                time.sleep(1)
                self.assertEqual(lp.job(j["id"])["state"], "running")
                r = s2.post("/api/projects/%d/model/jobs/%d/cancel" % (lp.p, j["id"]),
                            token=s.token)
                self.assertEqual(r.status, 200, r)
                j = lp.wait_job(j["id"], ("cancelled",), timeout=30)
                self.assertEqual(j["attempt"], 1)
            finally:
                s2.stop()
        finally:
            s.stop()

    def test_worker_killed(self):
        s = training_server()
        try:
            lp = Loop(s, loop_min_labeled=100)
            lp.label()
            j = lp.wait_running(lp.train(max_train_s=120)["id"])
            os.kill(j["pid"], signal.SIGKILL)
            j = lp.wait_job(j["id"], ("failed",), timeout=30)
            self.assertIn("killed by signal 9", j["error"])
            self.assertIn("killed by signal 9", s.stderr())
            self.assertEqual(s.get("/api/health").status, 200)
            lp.wait_job(lp.train(max_train_s=1)["id"])  # the next job runs as usual
        finally:
            s.stop()

    def test_restart_during_job(self):
        # a 30 s cap: the poll sees the job training even when a loaded machine loads it slowly
        lp, s2, j = label_then_restart(
            lambda lp: lp.wait_running(lp.train(max_train_s=30)["id"]))
        try:
            # the stopped server gave its lease up: the new one queues the same job again
            jobs = s2.get("/api/projects/%d/model/jobs" % lp.p).json()
            self.assertEqual([x["id"] for x in jobs], [j["id"]])
            again = lp.wait_job(j["id"])
            self.assertEqual(again["attempt"], 2)
            self.assertIsNone(again["error"])
            self.assertIsNotNone(lp.model()["current"])
        finally:
            s2.keep = False
            s2.stop()

    def test_architecture_switch(self):
        """A server started with another --arch trains that architecture from its own start
        next, and the registry compares it with the current model of the old one."""
        def first(lp):
            lp.wait_job(lp.train(max_train_s=1)["id"])
            return lp.model()["current"]["arch"]
        lp, s2, arch = label_then_restart(first)
        self.assertEqual(arch, "fcos-s")
        try:
            j = lp.wait_job(lp.train(max_train_s=1)["id"])
            self.assertEqual(j["state"], "done", j)
            lp.wait_log(j["id"], "is a fcos-s model; training a fcos-mv3 from its own start")
            versions = s2.get("/api/projects/%d/model/versions" % lp.p).json()
            self.assertEqual(sorted(v["arch"] for v in versions), ["fcos-mv3", "fcos-s"])
        finally:
            s2.keep = False
            s2.stop()

        self.assertIn("unknown architecture 'fcos-x'",
                      subprocess.run([BIN, "serve", "--arch", "fcos-x"], capture_output=True,
                                     text=True).stderr)


class Registry(unittest.TestCase):
    def test_worse_model_not_promoted_and_rollback(self):
        s = training_server()
        try:
            # every task labeled with the same large box: a pattern a detector learns in seconds,
            # so the first model is good on the held-out tasks and an untrained one is not
            lp = Loop(s, copies=2, loop_min_labeled=1000)
            for t in lp.tasks:
                lp.annotate(t, [region(5, 5, 90, 90)])
            # counted in epochs, not seconds, so a loaded machine gets the same model
            v1 = lp.wait_job(lp.train(epochs=25, input_size=160, max_train_s=900)["id"], timeout=600)
            m = lp.model()
            good = m["current"]
            self.assertEqual(good["id"], v1["version"])
            self.assertGreaterEqual(good["heldout_images"], 5)
            self.assertGreater(good["metrics"]["ap50"], 0.2, good)
            j2 = lp.wait_job(lp.train(from_scratch=True, epochs=1, input_size=160)["id"])
            m = lp.model()
            bad = [v for v in m["versions"] if v["id"] == j2["version"]][0]
            self.assertFalse(bad["promoted"], bad)
            self.assertIn("<", bad["reason"])
            self.assertEqual(bad["current_metrics"]["ap"], good["metrics"]["ap"])
            self.assertEqual(m["model_version"], good["name"])
            lp.wait_log(j2["id"], "not promoted")
            self.assertNotIn("predicted", lp.job(j2["id"])["log"])  # kept aside: predicts nothing
            # rollback to the worse one by hand, then delete the good one? refused while current
            r = s.post("/api/projects/%d/model/versions/%d/rollback" % (lp.p, bad["id"]))
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.json()["is_current"])
            self.assertEqual(s.get("/api/projects/%d" % lp.p).json()["model_version"], bad["name"])
            r = s.delete("/api/projects/%d/model/versions/%d" % (lp.p, bad["id"]))
            self.assertEqual(r.status, 409, r)
            r = s.delete("/api/projects/%d/model/versions/%d" % (lp.p, good["id"]))
            self.assertEqual(r.status, 204, r)
            self.assertFalse(os.path.exists(os.path.join(s.dir, "models", str(lp.p),
                                                         "job-%d.safetensors" % v1["id"])))
            # the rollback queued predictions of the bad version for every task
            pj = wait_for("the rollback's predictions",
                          lambda: next((j for j in s.get("/api/projects/%d/model/jobs" % lp.p)
                                        .json() if j["kind"] == "predict"
                                        and j["state"] == "done"), None))
            lp.wait_log(pj["id"], "predicted 32 of 32 tasks")
        finally:
            s.stop()

    def test_label_added_mid_project(self):
        s = training_server()
        try:
            lp = Loop(s, loop_min_labeled=1000)
            lp.label()
            lp.wait_job(lp.train(max_train_s=1)["id"])
            r = s.patch("/api/projects/%d" % lp.p, {"label_config": CONFIG2})
            self.assertEqual(r.status, 200, r)
            for t in lp.tasks[6:10]:
                lp.annotate(t, [truth_region(t), region(0, 0, 10, 10, "background", "b")])
            j = lp.wait_job(lp.train(max_train_s=1)["id"])
            v = [x for x in lp.model()["versions"] if x["id"] == j["version"]][0]
            self.assertEqual(v["classes"], ["face", "background"])
            lp.wait_log(j["id"], "warm start")
        finally:
            s.stop()


class Robustness(unittest.TestCase):
    def test_project_deleted_during_training(self):
        s = training_server()
        try:
            lp = Loop(s, loop_min_labeled=100)
            lp.label()
            lp.wait_running(lp.train(max_train_s=120)["id"])
            t0 = time.time()
            self.assertEqual(s.delete("/api/projects/%d" % lp.p).status, 204)
            self.assertLess(time.time() - t0, 15)
            self.assertFalse(os.path.exists(os.path.join(s.dir, "models", str(lp.p))))
            self.assertEqual(s.get("/api/projects/%d/model" % lp.p).status, 404)
            other = Loop(s, loop_min_labeled=100)  # the server goes on training others
            for t in other.tasks[:4]:
                other.annotate(t)
            other.wait_job(other.train(max_train_s=1)["id"])
        finally:
            s.stop()

    def test_corrupt_and_truncated_images(self):
        s = training_server()
        try:
            lp = Loop(s, loop_min_labeled=100)
            for t in lp.tasks[:8]:
                lp.annotate(t)
            media = os.path.join(s.dir, "media")
            bad = os.path.join(media, lp.tasks[0]["data"]["image"][len("/data/"):])
            cut = os.path.join(media, lp.tasks[1]["data"]["image"][len("/data/"):])
            with open(bad, "wb") as f:
                f.write(b"this is not a picture at all")
            with open(cut, "rb") as f:
                data = f.read()
            with open(cut, "wb") as f:
                f.write(data[: len(data) // 2])
            j = lp.wait_job(lp.train(max_train_s=1)["id"])
            j = lp.wait_log(j["id"], "predicted 15 of 16 tasks")
            self.assertIn("task %d skipped" % lp.tasks[0]["id"], j["log"])
            self.assertIn("not a JPEG, PNG or WebP image", j["log"])
            self.assertIn("truncated", j["log"])
            self.assertIsNotNone(lp.model()["current"])
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main()
