"""S3 cloud storages (/api/storages/s3, /api/storages/export/s3, /tasks/<id>/resolve/) against
s3rver, an S3-compatible server (npm, tests/s3rver/) started here on a free loopback port with a
temporary directory. s3rver checks the access key id but not SigV4 signatures (docs/scale.md), so
the signatures themselves are checked by the unit tests against AWS's published examples."""
import base64
import http.client
import json
import os
import sys
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from llapi import S3RVER_KEY, S3rver, Server, face_images  # noqa: E402
from test_loop import Loop, truth_region, training_server  # noqa: E402,F401

KEY = SECRET = S3RVER_KEY  # s3rver's built-in account


def storage(s3, project, **fields):
    body = {"project": project, "title": "faces", "bucket": "media", "prefix": "faces",
            "use_blob_urls": True, "aws_access_key_id": KEY, "aws_secret_access_key": SECRET,
            "region_name": "us-east-1", "s3_endpoint": s3.endpoint}
    body.update(fields)
    return body


class StorageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s3 = S3rver()
        cls.faces = face_images(6)
        cls.s3.bucket("media")
        for name, data in cls.faces:
            cls.s3.put("media", "faces/" + name, data)
        cls.s3.put("media", "faces/sub/deep.jpg", cls.faces[0][1])  # below the prefix's level
        cls.s3.put("media", "faces/notes.txt", b"not an image")
        cls.s3.bucket("out")
        cls.s = Server()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()
        cls.s3.stop()

    def create(self, project, path="/api/storages/s3", **fields):
        r = self.s.post(path, storage(self.s3, project, **fields))
        self.assertEqual(r.status, 201, r)
        return r.json()

    def test_crud_and_validate(self):
        p = self.s.create_project()
        st = self.create(p)
        for secret in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"):
            self.assertNotIn(secret, st)
        self.assertEqual((st["type"], st["bucket"], st["prefix"], st["project"]),
                         ("s3", "media", "faces", p))
        self.assertEqual((st["presign"], st["presign_ttl"], st["status"]), (True, 1, "initialized"))
        r = self.s.get("/api/storages/s3?project=%d" % p)
        self.assertEqual([x["id"] for x in r.json()], [st["id"]])
        self.assertEqual([x["id"] for x in self.s.get("/api/storages?project=%d" % p).json()],
                         [st["id"]])
        r = self.s.patch("/api/storages/s3/%d" % st["id"], {"title": "renamed", "presign_ttl": 5})
        self.assertEqual((r.status, r.json()["title"], r.json()["presign_ttl"]),
                         (200, "renamed", 5))
        self.assertEqual(self.s.get("/api/storages/s3/%d" % st["id"]).json()["title"], "renamed")
        # validate: the stored credentials are used with "id"; a wrong key or bucket is a 400
        v = storage(self.s3, p)
        self.assertEqual(self.s.post("/api/storages/s3/validate", v).status, 200)
        self.assertEqual(self.s.post("/api/storages/s3/validate",
                                     {"id": st["id"], "prefix": "faces"}).status, 200)
        r = self.s.post("/api/storages/s3/validate", dict(v, aws_access_key_id="WRONG"))
        self.assertEqual(r.status, 400, r)
        self.assertIn("Cannot connect to S3 media with specified AWS credentials", r.body.decode())
        r = self.s.post("/api/storages/s3/validate", dict(v, bucket="nosuchbucket", prefix=""))
        self.assertEqual(r.status, 400, r)
        self.assertIn("Cannot find bucket nosuchbucket", r.body.decode())
        r = self.s.post("/api/storages/s3/validate", dict(v, prefix="nothing-here"))
        self.assertIn("s3://media/nothing-here not found.", r.body.decode())
        r = self.s.post("/api/storages/s3/validate", dict(v, aws_secret_access_key=None))
        self.assertEqual(r.status, 400, r)
        self.assertIn("must be provided together", r.body.decode())
        r = self.s.post("/api/storages/s3", dict(v, aws_access_key_id="WRONG"))
        self.assertEqual(r.status, 400, r)
        # another kind's id is not found here; other storage types keep their 404
        self.assertEqual(self.s.get("/api/storages/export/s3/%d" % st["id"]).status, 404)
        self.assertEqual(self.s.get("/api/storages/gcs?project=%d" % p).status, 404)
        self.assertEqual(self.s.delete("/api/storages/s3/%d" % st["id"]).status, 204)
        self.assertEqual(self.s.get("/api/storages/s3/%d" % st["id"]).status, 404)

    def test_sync_presign_and_stream(self):
        p = self.s.create_project()
        st = self.create(p, regex_filter=r".*\.jpg")
        r = self.s.post("/api/storages/s3/%d/sync" % st["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["status"], r.json()["last_sync_count"]), ("completed", 6))
        tasks = self.s.get("/api/tasks?project=%d&page_size=100" % p).json()["tasks"]
        self.assertEqual(len(tasks), 6)  # not sub/deep.jpg (not recursive), not notes.txt
        # a re-sync adds nothing
        r = self.s.post("/api/storages/s3/%d/sync" % st["id"])
        self.assertEqual((r.json()["last_sync_count"], r.json()["meta"]["tasks_existed"]), (0, 6))
        self.assertEqual(len(self.s.get("/api/tasks?project=%d" % p).json()["tasks"]), 6)
        # the UI gets the resolve route; it redirects to a presigned URL giving the same bytes
        by_name = dict(self.faces)
        t = self.s.get("/api/tasks/%d" % tasks[0]["id"]).json()
        url = t["data"]["image"]
        self.assertTrue(url.startswith("/tasks/%d/resolve/?fileuri=" % t["id"]), url)
        uri = base64.urlsafe_b64decode(url.split("fileuri=")[1]).decode()
        self.assertTrue(uri.startswith("s3://media/faces/"), uri)
        r = self.s.get(url)
        self.assertEqual(r.status, 303, r)
        loc = urllib.parse.urlsplit(r.header("Location"))
        q = urllib.parse.parse_qs(loc.query)
        self.assertEqual((q["X-Amz-Algorithm"], q["X-Amz-Expires"]), (["AWS4-HMAC-SHA256"], ["60"]))
        self.assertTrue(q["X-Amz-Credential"][0].startswith(KEY + "/"))
        c = http.client.HTTPConnection(loc.hostname, loc.port, timeout=30)
        c.request("GET", loc.path + "?" + loc.query)
        got = c.getresponse()
        self.assertEqual((got.status, got.read()), (200, by_name[uri.rsplit("/", 1)[1]]))
        c.close()
        # presign = false: the bytes through the server; no credentials, no media
        self.s.patch("/api/storages/s3/%d" % st["id"], {"presign": False})
        r = self.s.get(url)
        self.assertEqual((r.status, r.header("Content-Type")), (200, "image/jpeg"))
        self.assertEqual(r.body, by_name[uri.rsplit("/", 1)[1]])
        self.assertEqual(self.s.get(url, token=None).status, 401)
        # the task list's thumbnail is made from the object too
        r = self.s.get("/api/tasks/%d/thumbnail" % t["id"])
        self.assertEqual((r.status, r.header("Content-Type"), r.body[:2]),
                         (200, "image/jpeg", b"\xff\xd8"))
        self.assertEqual(self.s.get("/tasks/%d/resolve/?fileuri=bm9wZQ" % t["id"]).status, 400)

    def test_concurrent_syncs_import_once(self):
        p = self.s.create_project()
        st = self.create(p)
        out = []
        threads = [threading.Thread(target=lambda: out.append(
            self.s.post("/api/storages/s3/%d/sync" % st["id"]).json())) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(j["last_sync_count"] for j in out), [0, 0, 7])  # notes.txt too
        self.assertEqual(len(self.s.get("/api/tasks?project=%d" % p).json()["tasks"]), 7)

    def test_listing_past_one_page(self):
        # S3 (and s3rver) list 1000 keys a page: the rest comes with continuation tokens
        self.s3.put_many("media", [("many/%04d.jpg" % i, b"x") for i in range(1003)])
        p = self.s.create_project()
        st = self.create(p, prefix="many")
        r = self.s.post("/api/storages/s3/%d/sync" % st["id"]).json()
        self.assertEqual((r["status"], r["last_sync_count"]), ("completed", 1003))
        tasks = self.s.get("/api/tasks?project=%d&page_size=1" % p).json()
        self.assertEqual(tasks["total"], 1003)

    def test_json_tasks_and_corrupt_object(self):
        p = self.s.create_project()
        self.s3.put("media", "tasks/a.json", json.dumps({"image": "s3://media/faces/x.jpg"}))
        self.s3.put("media", "tasks/b.json",
                    json.dumps([{"data": {"image": "s3://media/faces/y.jpg"}},
                                {"data": {"image": "s3://media/faces/z.jpg"}}]))
        self.s3.put("media", "tasks/broken.json", b"{not json")
        st = self.create(p, prefix="tasks/", use_blob_urls=False)
        r = self.s.post("/api/storages/s3/%d/sync" % st["id"])
        j = r.json()
        self.assertEqual((j["status"], j["last_sync_count"]), ("completed_with_errors", 3))
        self.assertIn("tasks/broken.json", j["traceback"])
        images = sorted(t["data"]["image"] for t in
                        self.s.get("/api/tasks?project=%d" % p).json()["tasks"])
        self.assertEqual(len(images), 3)
        self.assertEqual(self.s.post("/api/storages/s3/%d/sync" % st["id"]).json()
                         ["last_sync_count"], 0)

    def test_export(self):
        p = self.s.create_project()
        ids = self.s.import_tasks(p, [{"image": "/x/%d.jpg" % i} for i in range(3)])
        ann = []
        for t in ids[:2]:
            r = self.s.post("/api/tasks/%d/annotations" % t, {"result": []})
            ann.append(r.json()["id"])
        ex = self.create(p, path="/api/storages/export/s3", bucket="out", prefix="ann")
        self.assertNotIn("presign", ex)
        r = self.s.post("/api/storages/export/s3/%d/sync" % ex["id"])
        self.assertEqual((r.status, r.json()["status"], r.json()["last_sync_count"]),
                         (200, "completed", 2))
        self.assertEqual(sorted(self.s3.keys("out", "ann/")), sorted("ann/%d" % a for a in ann))
        status, body = self.s3.get("out", "ann/%d" % ann[0])
        obj = json.loads(body)
        self.assertEqual((obj["id"], obj["task"]["id"], obj["task"]["data"]),
                         (ann[0], ids[0], {"image": "/x/0.jpg"}))
        self.assertEqual(obj["completed_by"]["email"], "admin@example.com")
        self.assertNotIn("annotations", obj["task"])
        # a new annotation is written when it is saved
        r = self.s.post("/api/tasks/%d/annotations" % ids[2], {"result": []})
        self.assertEqual(self.s3.get("out", "ann/%d" % r.json()["id"])[0], 200)


class LoopReadsS3(unittest.TestCase):
    """The detector trains on tasks whose images are only in the bucket."""

    def test_training_on_s3_tasks(self):
        s3 = S3rver()
        s = training_server()
        try:
            s3.bucket("media")
            faces = face_images(6)
            for name, data in faces:
                s3.put("media", "faces/" + name, data)
            s3.put("media", "faces/zz-corrupt.jpg", b"\xff\xd8\xff not a jpeg")
            p = s.create_project(loop_min_labeled=100)
            r = s.post("/api/storages/s3", storage(s3, p))
            self.assertEqual(r.status, 201, r)
            sync = s.post("/api/storages/s3/%d/sync" % r.json()["id"]).json()
            self.assertEqual(sync["last_sync_count"], 7)
            lp = Loop.__new__(Loop)
            lp.s, lp.p = s, p
            tasks = lp.list_tasks()
            for t in tasks:
                key = t["data"]["image"].split("fileuri=")[1]
                name = base64.urlsafe_b64decode(key).decode().rsplit("/", 1)[1]
                if name.startswith("zz-"):
                    region = {"id": "r", "type": "rectanglelabels", "from_name": "label",
                              "to_name": "image", "value": {"x": 1, "y": 1, "width": 5,
                                                            "height": 5,
                                                            "rectanglelabels": ["face"]}}
                else:
                    region = truth_region({"data": {"image": "/x/1-" + name}})
                lp.annotate(t, [region])
            j = lp.wait_job(lp.train(max_train_s=2)["id"])
            v = s.get("/api/projects/%d/model/versions" % p).json()
            v = v[0] if isinstance(v, list) else v["results"][0]
            self.assertEqual(v["train_images"] + v["heldout_images"], 6, v)
            self.assertIn("zz-corrupt.jpg", j["log"] + s.stderr())
        finally:
            s.stop()
            s3.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
