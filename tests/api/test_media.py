"""Uploads (multipart images and JSON files), media serving with auth and Range, path
traversal attempts, `labelloop import` and `labelloop user` against a running server."""
import os
import subprocess
import unittest

from llapi import BIN, FACES, ServerTest, face_images, multipart, read_bytes


class MediaTest(ServerTest):
    def upload(self, pid, files, **kw):
        body, ctype = multipart(files)
        return self.s.post("/api/projects/%d/import" % pid, raw=body, content_type=ctype, **kw)

    def test_upload_and_serve(self):
        pid = self.s.create_project()
        images = face_images(3)
        r = self.upload(pid, [("file", n, d) for n, d in images])
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(j["task_count"], 3)
        self.assertEqual(len(j["file_upload_ids"]), 3)
        self.assertEqual(j["found_formats"], {".jpg": 3})
        tasks = self.s.get("/api/tasks?project=%d" % pid).json()["tasks"]
        for t, (name, data) in zip(tasks, images):
            url = t["data"]["image"]
            self.assertRegex(url, r"^/data/upload/%d/[0-9a-f]{8}-%s$" % (pid, name))
            self.assertEqual(t["file_upload"], url.rsplit("/", 1)[1])
            path = os.path.join(self.s.dir, "media", url[len("/data/"):])
            self.assertEqual(read_bytes(path), data)
            r = self.s.get(url)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, data)
            self.assertEqual(r.header("Content-Type"), "image/jpeg")
            self.assertError(self.s.get(url, token=None), 401)
        url, data = tasks[0]["data"]["image"], images[0][1]
        r = self.s.get(url, headers={"Range": "bytes=0-99"})
        self.assertEqual((r.status, r.body), (206, data[:100]))
        self.assertEqual(r.header("Content-Range"), "bytes 0-99/%d" % len(data))
        self.assertEqual(self.s.get(url, headers={"Range": "bytes=-10"}).body, data[-10:])
        self.assertEqual(self.s.get(url, headers={"Range": "bytes=100-"}).body, data[100:])
        r = self.s.get(url, headers={"Range": "bytes=%d-" % len(data)})
        self.assertEqual(r.status, 416)
        self.assertEqual(r.header("Content-Range"), "bytes */%d" % len(data))
        self.assertEqual(self.s.get(url, headers={"Range": "bytes=5-1"}).status, 200)
        # deleting the project deletes its files
        path = os.path.join(self.s.dir, "media", url[len("/data/"):])
        self.assertEqual(self.s.delete("/api/projects/%d" % pid).status, 204)
        self.assertFalse(os.path.exists(path))
        self.assertError(self.s.get(url), 404)

    def test_undefined_key_without_config(self):
        pid = self.s.create_project(label_config="<View></View>")
        self.upload(pid, [("file", n, d) for n, d in face_images(1)])
        t = self.s.get("/api/tasks?project=%d" % pid).json()["tasks"][0]
        self.assertIn("$undefined$", t["data"])
        config = ('<View><Image name="img" value="$picture"/><Choices name="c" toName="img">'
                  '<Choice value="a"/></Choices></View>')
        r = self.s.patch("/api/projects/%d" % pid, {"label_config": config})
        self.assertEqual(r.status, 200, r)
        t = self.s.get("/api/tasks/%d" % t["id"]).json()
        self.assertEqual(list(t["data"].keys()), ["picture"])

    def test_non_image_and_bad_multipart(self):
        pid = self.s.create_project()
        j = self.assertError(self.upload(pid, [("file", "fake.jpg", b"GIF89a not really")]), 400)
        self.assertIn("fake.jpg is not a JPEG, PNG or WebP image",
                      j["validation_errors"]["file"][0])
        good = face_images(1)[0]
        # (a .txt file is a task file now, a task per line, as in Label Studio)
        self.assertError(self.upload(pid, [("file", good[0], good[1]),
                                           ("file", "notes.doc", b"hello")]), 400)
        self.assertEqual(self.s.get("/api/tasks?project=%d" % pid).json()["total"], 0)
        upload_dir = os.path.join(self.s.dir, "media", "upload", str(pid))
        self.assertEqual(os.listdir(upload_dir) if os.path.isdir(upload_dir) else [], [])
        body, ctype = multipart([("file", good[0], good[1])])
        self.assertError(self.s.post("/api/projects/%d/import" % pid, raw=body[:-20],
                                     content_type=ctype), 400)
        self.assertError(self.s.post("/api/projects/%d/import" % pid, raw=body,
                                     content_type="multipart/form-data"), 400)
        self.assertError(self.upload(pid, []), 400)

    def test_json_file_and_hostile_names(self):
        pid = self.s.create_project()
        name, data = face_images(1)[0]
        r = self.upload(pid, [("file", "tasks.json", b'[{"image": "http://x/1.jpg"}]'),
                              ("file", "../../../../evil name.jpg", data),
                              ("file", "/etc/passwd.png", data)])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["task_count"], 3)
        urls = [t["data"]["image"] for t in self.s.get("/api/tasks?project=%d" % pid).json()["tasks"]]
        self.assertEqual(urls[0], "http://x/1.jpg")
        self.assertRegex(urls[1], r"^/data/upload/%d/[0-9a-f]{8}-evil_name\.jpg$" % pid)
        # the stored name takes the extension of what the file is (JPEG data), not the client's
        self.assertRegex(urls[2], r"^/data/upload/%d/[0-9a-f]{8}-passwd\.jpg$" % pid)
        self.assertEqual(self.s.get(urls[1]).body, data)

    def test_path_traversal(self):
        pid = self.s.create_project()
        self.upload(pid, [("file", n, d) for n, d in face_images(1)])
        for path in ["/data/upload/%d/../../labelloop.sqlite3" % pid,
                     "/data/upload/%d/%%2e%%2e/%%2e%%2e/labelloop.sqlite3" % pid,
                     "/data/upload/%d/..%%2f..%%2flabelloop.sqlite3" % pid,
                     "/data/upload/..%2f..%2flabelloop.sqlite3",
                     "/data/upload//etc/passwd", "/data/upload/%2fetc%2fpasswd",
                     "/data/upload/%d/%%2fetc%%2fpasswd" % pid,
                     "/data/upload/%d/.hidden" % pid, "/data/upload/%d/" % pid,
                     "/data/upload/%d/x%%00.jpg" % pid, "/data/../labelloop.sqlite3",
                     "/data/upload/0%d/x.jpg" % pid]:
            r = self.s.get(path)
            self.assertIn(r.status, (400, 404), path)
            self.assertNotIn(b"SQLite", r.body)

    def test_cli_import_and_user(self):
        pid = self.s.create_project()
        folder = os.path.join(FACES, "images")
        out = subprocess.run([BIN, "import", "--project", str(pid), "--data-dir", self.s.dir,
                              folder, os.path.join(FACES, "classes.txt")],
                             env=self.s.env, capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("imported 16 tasks", out.stdout)
        self.assertIn("skipped 1", out.stdout)
        tasks = self.s.get("/api/tasks?project=%d&page_size=100" % pid).json()
        self.assertEqual(tasks["total"], 16)
        url = tasks["tasks"][0]["data"]["image"]
        self.assertTrue(url.endswith("-000001.jpg"), url)
        self.assertEqual(self.s.get(url).status, 200)
        bad = subprocess.run([BIN, "import", "--project", "999", "--data-dir", self.s.dir, folder],
                             env=self.s.env, capture_output=True, text=True, timeout=120)
        self.assertNotEqual(bad.returncode, 0)
        out = subprocess.run([BIN, "user", "create", "--data-dir", self.s.dir, "--email",
                              "ann@example.com"], env=self.s.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        token = out.stdout.split("token: ")[1].split()[0]
        me = self.s.get("/api/current-user/whoami", token=token).json()
        self.assertEqual(me["email"], "ann@example.com")
        out = subprocess.run([BIN, "user", "token", "--data-dir", self.s.dir, "--email",
                              "ann@example.com"], env=self.s.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.stdout.strip(), token)
        out = subprocess.run([BIN, "user", "reset-token", "--data-dir", self.s.dir, "--email",
                              "ann@example.com"], env=self.s.env, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.stdout.strip(), token)
        self.assertError(self.s.get("/api/projects", token=token), 401)
        dup = subprocess.run([BIN, "user", "create", "--data-dir", self.s.dir, "--email",
                              "ann@example.com"], env=self.s.env, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(dup.returncode, 0)
        self.assertIn("already exists", dup.stderr)


if __name__ == "__main__":
    unittest.main()
