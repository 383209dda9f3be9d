#!/usr/bin/env python3
"""The command line as a new user meets it (issue 17): `user token` without --data-dir refuses
instead of making an empty data dir; `serve` on a busy port fails before it creates the admin;
`export --format coco --no-images --out x.json` writes the JSON; `train --help` lists the
architectures; progress bars of unknown length show no "0%" and "/0", fit an 80-column terminal
and come before the result line; `user reset-password`; and `labelloop predict`'s output imports
as the README says: its tasks with their images, or its predictions onto tasks the project
already has (by file name), from the command line and over HTTP.
Usage: test_cli_workflow.py PATH/TO/labelloop (LL_SHARED: the shared data sets)."""
import fcntl
import json
import os
import pty
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import unittest

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LL_BIN", "build/labelloop"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../api"))
os.environ.setdefault("LL_BIN", BIN)
import llapi  # noqa: E402

FACES = llapi.FACES


def run(*args, cwd=None):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=240, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def run_tty(args, cols=80, cwd=None):
    """Runs with stdout and stderr on one pseudo-terminal of `cols` columns; returns (rc, text)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    p = subprocess.Popen([BIN, *args], stdin=slave, stdout=slave, stderr=slave, cwd=cwd,
                         close_fds=True)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], 240)
        if not r:
            p.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(), out.decode("utf-8", "replace")


def screen_lines(text):
    """What a terminal shows line by line: each \\r or ESC[K redraw overwrites the line."""
    text = re.sub(r"\x1b\[K", "", text)
    return [seg for line in text.split("\n") for seg in line.split("\r")]


class Workflow(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ll-cli-workflow-")
        cls.s = llapi.Server()
        cls.model = os.path.join(cls.dir, "faces.safetensors")
        cls.train = run_tty(["train", "--data", FACES, "--format", "yolo", "--out", cls.model,
                             "--arch", "fcos-t", "--img-size", "64", "--epochs", "2",
                             "--batch", "4", "--val-split", "0.25", "--threads", "2"], cols=80)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_user_token_without_data_dir_refuses(self):
        empty = tempfile.mkdtemp(dir=self.dir)
        rc, out, err = run("user", "token", "--email", "admin@localhost", cwd=empty)
        self.assertEqual(rc, 1)
        self.assertIn("no labelloop data in ./labelloop-data", err)
        self.assertEqual(os.listdir(empty), [], "nothing was created")

    def test_serve_on_a_busy_port_creates_nothing(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        data = os.path.join(self.dir, "busy-data")
        rc, out, err = run("serve", "--data-dir", data, "--port", str(busy.getsockname()[1]))
        busy.close()
        self.assertEqual(rc, 1)
        self.assertIn("the port is in use", err)
        self.assertNotIn("password", out)
        self.assertFalse(os.path.exists(data), "no data dir and no admin made")

    def test_train_help_lists_architectures(self):
        rc, out, _ = run("train", "--help")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"--arch NAME +architecture: fcos-s, fcos-m, fcos-t, fcos-mv3 or fcos-mv3-ft")

    def test_train_progress_fits_the_terminal(self):
        rc, text = self.train
        self.assertEqual(rc, 0, text)
        lines = screen_lines(text)
        self.assertTrue(any(line.startswith("train") for line in lines), text)
        too_long = [line for line in lines if line.startswith("train") and len(line) > 80]
        self.assertEqual(too_long, [], "progress lines wider than the terminal")

    def test_reset_password(self):
        rc, out, err = run("user", "reset-password", "--data-dir", self.s.dir, "--email",
                           llapi.ADMIN_EMAIL, "--password", "a-new-password-2")
        self.assertEqual(rc, 0, err)
        r = self.s.post("/api/auth/login", {"email": llapi.ADMIN_EMAIL,
                                             "password": "a-new-password-2"}, token=None)
        self.assertEqual(r.status, 200, r)
        rc, out, err = run("user", "reset-password", "--data-dir", self.s.dir, "--email",
                           llapi.ADMIN_EMAIL)
        self.assertEqual(rc, 0, err)
        generated = re.search(r"password: (\S+)", out).group(1)
        r = self.s.post("/api/auth/login", {"email": llapi.ADMIN_EMAIL, "password": generated},
                        token=None)
        self.assertEqual(r.status, 200, r)
        rc, _, err = run("user", "reset-password", "--data-dir", self.s.dir, "--email",
                         "nobody@example.com")
        self.assertEqual((rc, "no user with email 'nobody@example.com'" in err), (1, True))

    def test_dataset_import_progress_and_coco_json_export(self):
        pid = self.s.create_project(title="coco")
        rc, text = run_tty(["import", "--data-dir", self.s.dir, "--project", str(pid),
                            "--format", "coco", os.path.join(FACES, "annotations", "train.json")])
        self.assertEqual(rc, 0, text)
        lines = [x for x in screen_lines(text) if x.strip()]
        self.assertNotRegex(text, r"/0\b", "no total of 0")
        self.assertRegex(lines[-2], r"^import \[#+\] 100% 16/16 ")
        self.assertIn("imported 16 tasks (16 annotations", lines[-1], "the result line comes last")
        out_json = os.path.join(self.dir, "faces-coco.json")
        rc, text = run_tty(["export", "--data-dir", self.s.dir, "--project", str(pid), "--format",
                            "coco", "--no-images", "--out", out_json])
        self.assertEqual(rc, 0, text)
        lines = [x for x in screen_lines(text) if x.strip()]
        self.assertRegex(lines[-2], r"^export \[#+\] 100% 16/16 ")
        self.assertEqual(lines[-1].strip(), out_json)
        with open(out_json) as f:
            coco = json.load(f)
        self.assertEqual((len(coco["images"]), len(coco["annotations"])), (16, 16))
        self.assertEqual(coco["categories"][0]["name"], "face")

    def predict(self, images, cwd):
        out = os.path.join(self.dir, "predict-%d.json" % len(os.listdir(self.dir)))
        rc, _, err = run("predict", "--model", self.model, "--images", images, "--out", out,
                         "--score-thr", "0", "--max-det", "3", cwd=cwd)
        self.assertEqual(rc, 0, err)
        return out

    def test_predict_output_imports_with_images(self):
        # predict run from one folder with a relative --images path, imported from another
        work = tempfile.mkdtemp(dir=self.dir)
        shutil.copytree(os.path.join(FACES, "images"), os.path.join(work, "pimgs"))
        preds = self.predict("pimgs", cwd=work)
        pid = self.s.create_project(title="predicted")
        rc, out, err = run("import", "--data-dir", self.s.dir, "--project", str(pid), "--format",
                           "json", preds, cwd=self.dir)
        self.assertEqual(rc, 0, err)
        self.assertIn("imported 16 tasks (0 annotations, 16 predictions)", out)
        tasks = self.s.get("/api/tasks?project=%d&page_size=100&fields=all" % pid).json()["tasks"]
        self.assertEqual(len(tasks), 16)
        for t in tasks:
            self.assertRegex(t["data"]["image"], r"^/data/upload/%d/[0-9a-f]{8}-\d+\.jpg$" % pid)
            self.assertEqual(self.s.get(t["data"]["image"]).status, 200)
            self.assertEqual(self.s.get("/api/tasks/%d/thumbnail" % t["id"]).status, 200)
            self.assertEqual(len(t["predictions"]), 1)

    def test_predict_output_for_existing_tasks(self):
        pid = self.s.create_project(title="existing")
        rc, _, err = run("import", "--data-dir", self.s.dir, "--project", str(pid),
                         os.path.join(FACES, "images"))
        self.assertEqual(rc, 0, err)
        preds_path = self.predict(os.path.join(FACES, "images"), cwd=self.dir)
        rc, out, err = run("import", "--data-dir", self.s.dir, "--project", str(pid), "--format",
                           "json", "--match-existing", preds_path)
        self.assertEqual(rc, 0, err)
        self.assertIn("imported 16 predictions into existing tasks of project %d" % pid, out)
        with open(preds_path) as f:
            preds = {os.path.basename(t["data"]["image"]): t["predictions"][0] for t in json.load(f)}
        tasks = self.s.get("/api/tasks?project=%d&page_size=100&fields=all" % pid).json()["tasks"]
        self.assertEqual(len(tasks), 16, "no task was added")
        for t in tasks:
            name = t["data"]["image"].rsplit("/", 1)[1][9:]
            self.assertEqual(len(t["predictions"]), 1, name)
            self.assertEqual(t["predictions"][0]["result"], preds[name]["result"], name)
        # over HTTP (the import panel): the JSON alone, once more, with a model version
        body, ctype = llapi.multipart([("file", "preds.json", llapi.read_bytes(preds_path))])
        r = self.s.request("POST", "/api/projects/%d/import/dataset?format=json&match_existing="
                           "true&model_version=again" % pid, raw=body, content_type=ctype)
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json()["task_count"], r.json()["prediction_count"]), (0, 16))
        # by task id, and a task that matches nothing is refused naming it, importing nothing
        ids = [{"id": tasks[0]["id"], "data": {"image": "elsewhere.jpg"},
                "predictions": [{"result": [], "score": 0.5}]},
               {"data": {"image": "unknown.jpg"}, "predictions": [{"result": []}]}]
        body, ctype = llapi.multipart([("file", "ids.json", json.dumps(ids).encode())])
        r = self.s.request("POST", "/api/projects/%d/import/dataset?format=json&match_existing="
                           "true" % pid, raw=body, content_type=ctype)
        self.assertEqual(r.status, 400, r)
        self.assertIn("task 2 matches no task of project %d" % pid, r.json()["detail"])
        body, ctype = llapi.multipart([("file", "ids.json", json.dumps(ids[:1]).encode())])
        r = self.s.request("POST", "/api/projects/%d/import/dataset?format=json&match_existing="
                           "true" % pid, raw=body, content_type=ctype)
        self.assertEqual((r.status, r.json()["prediction_count"]), (201, 1), r)
        t0 = self.s.get("/api/tasks/%d?fields=all" % tasks[0]["id"]).json()
        self.assertEqual(len(t0["predictions"]), 3)

    def test_predict_json_uploaded_with_its_images(self):
        preds_path = self.predict(os.path.join(FACES, "images"), cwd=self.dir)
        pid = self.s.create_project(title="uploaded")
        files = [("file", "preds.json", llapi.read_bytes(preds_path))]
        files += [("file", name, data) for name, data in llapi.face_images(16)]
        body, ctype = llapi.multipart(files)
        r = self.s.request("POST", "/api/projects/%d/import/dataset?format=json" % pid, raw=body,
                           content_type=ctype)
        self.assertEqual(r.status, 201, r)
        tasks = self.s.get("/api/tasks?project=%d&page_size=100" % pid).json()["tasks"]
        self.assertEqual(len(tasks), 16)
        self.assertTrue(all(t["data"]["image"].startswith("/data/upload/") for t in tasks))
        # an image the upload lacks is named, and nothing is imported
        body, ctype = llapi.multipart(files[:2])
        r = self.s.request("POST", "/api/projects/%d/import/dataset?format=json" % pid, raw=body,
                           content_type=ctype)
        self.assertEqual(r.status, 400, r)
        self.assertRegex(r.json()["detail"], r"task \d+: image \S+\.jpg not found")
        self.assertEqual(self.s.get("/api/projects/%d" % pid).json()["task_number"], 16)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
