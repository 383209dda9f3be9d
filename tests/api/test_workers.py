"""Standing training workers (`labelloop train-worker` without --job) that share nothing with the
server but the database and its HTTP API, as on another machine: the server runs with
--no-training, the worker claims the job, fetches the task images over HTTP with an API token
into its own data dir, keeps the model it trains in the database, and the server then loads that
model from the database to predict a task it never saw the worker train on. Also: SIGTERM hands
a running job back and another worker finishes it (attempt 2); a worker killed with SIGKILL is
noticed when its lease runs out and another worker retries its job; a cancel asked on the server
reaches the worker through the job row; a worker without a token is refused the images and says
so; and on PostgreSQL, a SQLite data dir moved with `db migrate-to` whose model a server with
an empty data dir then loads from the database. Run on SQLite (the worker opens the server's
file) and PostgreSQL (api_pg_test_workers)."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import llapi
from llapi import BIN, Child, Server, face_images, multipart
from test_loop import Loop, training_server, wait_for


class Worker(Child):
    def __init__(self, server, name, *args, token=True):
        self.dir = tempfile.mkdtemp(prefix="llworker-")
        self.log = open(os.path.join(self.dir, "worker.log"), "w+")
        env = dict(server.env)
        env.setdefault("LABELLOOP_DB", os.path.join(server.dir, "labelloop.sqlite3"))
        env.pop("LABELLOOP_TOKEN", None)
        if token:
            env["LABELLOOP_TOKEN"] = server.token
        cmd = [BIN, "train-worker", "--data-dir", self.dir, "--server",
               "http://127.0.0.1:%d" % server.port, "--name", name, "--arch", "fcos-s",
               "--threads", "2"] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=env)

    def stop(self):
        """SIGTERM: the worker must stop by itself, cleanly (status 0: no leak under ASan)."""
        rest, err = self.terminate(60)
        shutil.rmtree(self.dir, ignore_errors=True)
        assert self.proc.returncode == 0, (self.proc.returncode, err[-3000:])
        return err

    def kill(self):
        """SIGKILL: a worker that dies without a word (its lease is all that tells)."""
        self.proc.kill()
        self.proc.wait()
        self.terminate(1)
        shutil.rmtree(self.dir, ignore_errors=True)


def label(lp):
    """Labels six tasks (the projects' loop_min_labeled): the training job that queues."""
    lp.label()
    m = lp.model()
    job = m["running"] or m["queued"]
    assert job is not None, m
    return job


def wait_training(lp, jid, who):
    return wait_for("%s training job %d" % (who, jid), lambda: (
        lambda j: j if j["state"] == "running" and j["phase"] == "training" else None)(
        lp.job(jid)), timeout=120)


class StandingWorker(unittest.TestCase):
    def test_no_shared_disk(self):
        s = Server()  # --no-training: only the worker runs jobs
        w = Worker(s, "remote-1", "--max-train-s", "4")
        try:
            lp = Loop(s, loop_min_labeled=6)
            job = lp.wait_job(label(lp)["id"])
            self.assertEqual(job["owner"], "remote-1")
            # its log, as the server keeps one of the workers it starts
            lp.wait_log(job["id"], "predicted 16 of 16 tasks")
            v = lp.model()["current"]
            self.assertIsNotNone(v, "the worker's model should be the project's version")
            self.assertTrue(v["promoted"])
            # the worker read the images from the server: every labeled one is in its cache
            cached = os.listdir(os.path.join(w.dir, "media", "remote"))
            self.assertGreaterEqual(len(cached), 6, cached)
            # and predicted every task
            preds = wait_for("predictions of every task", lambda: all(
                any(p["model_version"] == v["name"] for p in t["predictions"])
                for t in lp.list_tasks()), timeout=120)
            self.assertTrue(preds)
            werr = w.stop()
            self.assertIn("claimed by remote-1", werr)
            # the server has no copy of the model file until it needs one
            models = os.path.join(s.dir, "models")
            self.assertEqual(sum(len(f) for _, _, f in os.walk(models)), 0)
            body, ctype = multipart([("file", "late-" + n, d) for n, d in face_images(1)])
            r = s.post("/api/projects/%d/import" % lp.p, raw=body, content_type=ctype)
            self.assertEqual(r.status, 201, r)
            late = max(t["id"] for t in lp.list_tasks())
            t = s.get("/api/tasks/%d" % late).json()  # opening it predicts with the model
            self.assertEqual([p["model_version"] for p in t["predictions"]], [v["name"]])
            files = [f for _, _, fs in os.walk(models) for f in fs]
            self.assertEqual(len(files), 1, files)
            self.assertIn("copied from the database", s.stderr())
        finally:
            s.stop()

    def test_handback_and_cancel(self):
        s = Server()
        a = Worker(s, "worker-a", "--max-train-s", "60")
        b = None
        try:
            lp = Loop(s, loop_min_labeled=6)
            jid = label(lp)["id"]
            j = wait_training(lp, jid, "worker-a")
            self.assertEqual(j["owner"], "worker-a")
            self.assertIn("handed back", a.stop())
            b = Worker(s, "worker-b", "--max-train-s", "4")
            j = lp.wait_job(jid)
            self.assertEqual((j["owner"], j["attempt"]), ("worker-b", 2))
            # a cancel on the server reaches worker-b at its next lease renewal
            j2 = lp.train(max_train_s=120)["id"]
            wait_training(lp, j2, "worker-b")
            r = s.post("/api/projects/%d/model/jobs/%d/cancel" % (lp.p, j2))
            self.assertIn(r.status, (200, 202), r)
            j = lp.wait_job(j2, states=("cancelled",), timeout=60)
            self.assertEqual(j["owner"], "worker-b")
        finally:
            if b:
                b.stop()
            s.stop()

    def test_dead_worker_lease_expires(self):
        s = Server()
        a = Worker(s, "dies", "--max-train-s", "60", "--lease-s", "3")
        b = None
        try:
            lp = Loop(s, loop_min_labeled=6)
            jid = label(lp)["id"]
            wait_training(lp, jid, "dies")
            a.kill()
            self.assertEqual(lp.job(jid)["state"], "running")  # nobody has noticed yet
            b = Worker(s, "survivor", "--max-train-s", "4")
            j = lp.wait_job(jid, timeout=120)
            self.assertEqual((j["owner"], j["attempt"]), ("survivor", 2))
            self.assertIn("lost their server (lease expired)", b.stop())
            b = None
        finally:
            if b:
                b.stop()
            s.stop()

    @unittest.skipUnless(llapi.PG, "moves a SQLite data dir into PostgreSQL")
    def test_migrate_then_serve_elsewhere(self):
        src, far = tempfile.mkdtemp(prefix="llapi-src-"), tempfile.mkdtemp(prefix="llapi-far-")
        try:
            s = training_server("--db", os.path.join(src, "labelloop.sqlite3"), data_dir=src)
            try:
                lp = Loop(s, loop_min_labeled=6)
                lp.wait_job(label(lp)["id"])
                v = lp.model()["current"]
            finally:
                s.stop()
            out = subprocess.run([BIN, "db", "migrate-to", llapi.db_url(far), "--data-dir", src],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("model files: 1 kept in the database", out.stdout)
            # a server on another machine: the database, none of the source's files
            f = Server(data_dir=far)
            try:
                body, ctype = multipart([("file", n, d) for n, d in face_images(1)])
                r = f.post("/api/projects/%d/import" % lp.p, raw=body, content_type=ctype)
                self.assertEqual(r.status, 201, r)
                late = r.json()["task_ids"][-1] if "task_ids" in r.json() else None
                if late is None:
                    late = max(t["id"] for t in f.get(
                        "/api/tasks?project=%d&page_size=100" % lp.p).json()["tasks"])
                t = f.get("/api/tasks/%d" % late).json()
                self.assertEqual([p["model_version"] for p in t["predictions"]], [v["name"]])
                self.assertIn("copied from the database", f.stderr())
            finally:
                f.stop()
        finally:
            shutil.rmtree(src, ignore_errors=True)
            shutil.rmtree(far, ignore_errors=True)
            llapi.drop_db(far)

    def test_without_token(self):
        s = Server()
        w = Worker(s, "no-token", "--max-train-s", "4", token=False)
        try:
            lp = Loop(s, loop_min_labeled=6)
            j = lp.wait_job(label(lp)["id"], states=("failed",))
            self.assertIn("no labeled images to train on", j["error"])
            err = w.stop()
            self.assertIn("LABELLOOP_TOKEN is not set", err)
            self.assertIn("skipped", err)
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main()
