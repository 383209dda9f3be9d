"""Attacks through uploaded files (issue 16, items 1, 5, 6, 7): a page disguised as an image is
refused and nothing stored is ever served as a page, image bombs are refused at upload and
thumbnailed in bounded memory without holding up other requests, a broken image is decoded
once, a crash leaves no unrecorded files, and an export never follows a link out of the media
folder."""
import io
import json
import os
import shutil
import tempfile
import threading
import time
import unittest
import zipfile

from llapi import Server, ServerTest, face_images, multipart, png_bomb, proc_kb

SCRIPT = (b"<script>fetch('/api/current-user/token').then(r => r.json())"
          b".then(t => document.title = 'pwned ' + t.token)</script>")


class Uploads(ServerTest):
    def upload(self, pid, files):
        body, ctype = multipart(files)
        return self.s.post("/api/projects/%d/import" % pid, raw=body, content_type=ctype)

    def upload_dir(self, pid):
        d = os.path.join(self.s.dir, "media", "upload", str(pid))
        return sorted(os.listdir(d)) if os.path.isdir(d) else []


class UploadTest(Uploads):
    def test_page_disguised_as_image_is_refused(self):
        pid = self.s.create_project()
        for name in ("evil.html", "evil.jpg", "evil.svg"):
            j = self.assertError(self.upload(pid, [("file", name, b"\xff\xd8\xff" + SCRIPT)]), 400)
            self.assertIn("is not a JPEG, PNG or WebP image", j["validation_errors"]["file"][0])
        self.assertEqual(self.upload_dir(pid), [])

    def test_stored_files_are_served_as_images_only(self):
        pid = self.s.create_project()
        name, data = face_images(1)[0]
        r = self.upload(pid, [("file", "photo.html", data)])
        self.assertEqual(r.status, 201, r)
        url = self.s.get("/api/tasks?project=%d" % pid).json()["tasks"][0]["data"]["image"]
        self.assertTrue(url.endswith("-photo.jpg"), url)  # named by what it is
        r = self.s.get(url)
        self.assertEqual(r.header("Content-Type"), "image/jpeg")
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.header("Content-Security-Policy"), "sandbox")
        # a stored file that is not an image (as older versions kept them) is only a download
        with open(os.path.join(self.s.dir, "media", url[len("/data/"):]), "wb") as f:
            f.write(b"<html>" + SCRIPT)
        r = self.s.get(url)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/octet-stream")
        self.assertEqual(r.header("Content-Disposition"), "attachment")
        self.assertEqual(r.header("Content-Security-Policy"), "sandbox")

    def test_image_bomb_refused_at_upload(self):
        pid = self.s.create_project()
        j = self.assertError(self.upload(pid, [("file", "bomb.png", png_bomb(10950))]), 400)
        self.assertIn("10950x10950 is over the server's limit of 100 million pixels",
                      j["validation_errors"]["file"][0])
        self.assertEqual(self.upload_dir(pid), [])

    def test_large_png_thumbnail_in_bounded_memory(self):
        pid = self.s.create_project()
        self.assertEqual(self.upload(pid, [("file", "big.png", png_bomb(8000, 200))]).status, 201)
        task = self.s.get("/api/tasks?project=%d" % pid).json()["tasks"][0]["id"]
        before = proc_kb(self.s.proc.pid, "VmHWM")
        r = self.s.get("/api/tasks/%d/thumbnail" % task)
        self.assertEqual((r.status, r.header("Content-Type")), (200, "image/jpeg"))
        grown = (proc_kb(self.s.proc.pid, "VmHWM") - before) / 1024
        self.assertLess(grown, 100, "thumbnail of 8000x8000 grew the peak RSS by %.0f MB" % grown)

    def test_broken_image_decoded_once(self):
        pid = self.s.create_project()
        bomb = png_bomb(3000)
        # IDAT's header with none of its data, IEND kept: not one row decodes (a file cut later
        # keeps the rows it has and is no failure)
        cut = bomb[:41] + bomb[-12:]
        self.assertEqual(self.upload(pid, [("file", "cut.png", cut)]).status, 201)
        t = self.s.get("/api/tasks?project=%d" % pid).json()["tasks"][0]
        first = self.assertError(self.s.get("/api/tasks/%d/thumbnail" % t["id"]), 400)
        marker = os.path.join(self.s.dir, "media", "thumbnails",
                              t["data"]["image"][len("/data/upload/"):] + ".jpg.failed")
        self.assertTrue(os.path.exists(marker), "the failure is not remembered")
        again = self.assertError(self.s.get("/api/tasks/%d/thumbnail" % t["id"]), 400)
        self.assertEqual(first["detail"], again["detail"])

class ThumbnailStallTest(Uploads):
    server_args = ("--threads", "2")

    def test_thumbnails_do_not_hold_up_other_requests(self):
        # more large decodes than server threads: none of them may run on a server thread
        pid = self.s.create_project()
        r = self.upload(pid, [("file", "b%d.png" % i, png_bomb(8000, i)) for i in range(6)])
        self.assertEqual(r.status, 201, r)
        tasks = [t["id"] for t in self.s.get("/api/tasks?project=%d" % pid).json()["tasks"]]
        done = []
        ts = [threading.Thread(target=lambda t=t: (self.s.get("/api/tasks/%d/thumbnail" % t),
                                                   done.append(time.time()))) for t in tasks]
        for t in ts:
            t.start()
        time.sleep(0.2)  # the decodes of 192 MB each are under way
        self.assertEqual(self.s.get("/api/projects/%d" % pid).status, 200)
        answered = time.time()
        for t in ts:
            t.join()
        self.assertEqual(len(done), 6)
        self.assertLess(answered, min(done), "a GET waited for a thumbnail to be decoded")


class CrashTest(unittest.TestCase):
    def test_no_unrecorded_files_after_kill(self):
        data = tempfile.mkdtemp(prefix="llapi-crash-")
        try:
            s = Server(data_dir=data)
            pid = s.create_project()
            images = face_images(8)
            body, ctype = multipart([("file", n, d) for n, d in images])
            for _ in range(3):  # killed while uploads are being written
                stop = threading.Event()

                def upload(s=s):
                    while not stop.is_set():
                        try:
                            s.post("/api/projects/%d/import" % pid, raw=body, content_type=ctype)
                        except OSError:
                            return
                ts = [threading.Thread(target=upload) for _ in range(3)]
                for t in ts:
                    t.start()
                time.sleep(0.4)
                s.proc.kill()
                s.proc.wait()
                stop.set()
                for t in ts:
                    t.join()
                s.stop(check=False)
                s = Server(data_dir=data)
            # and what any crash can leave, planted: an upload without record, a temp file
            folder = os.path.join(data, "media", "upload", str(pid))
            for stray in ("0badf00d-orphan.jpg", "0badf00d-x.jpg.tmp-0123456789abcdef"):
                shutil.copy(os.path.join(folder, os.listdir(folder)[0]),
                            os.path.join(folder, stray))
            s.stop()
            s = Server(data_dir=data)
            tasks = s.get("/api/projects/%d/tasks?page_size=-1" % pid).json()
            recorded = {t["data"]["image"].rsplit("/", 1)[1] for t in tasks}
            self.assertEqual(sorted(f for f in os.listdir(folder) if f not in recorded), [])
            self.assertEqual(len(recorded), len(tasks))
            s.stop()
        finally:
            shutil.rmtree(data, ignore_errors=True)


class ExportLinkTest(ServerTest):
    def export_zip(self, pid):
        r = self.s.get("/api/projects/%d/export?exportType=YOLO&download_resources=true" % pid)
        self.assertEqual(r.status, 200, r)
        z = zipfile.ZipFile(io.BytesIO(r.body))
        return b"".join(z.read(n) for n in z.namelist())

    def test_export_never_follows_a_link(self):
        pid = self.s.create_project()
        folder = os.path.join(self.s.dir, "media", "upload", str(pid))
        os.makedirs(folder, exist_ok=True)
        os.symlink("/etc/passwd", os.path.join(folder, "0badf00d-link.jpg"))  # no record
        box = {"from_name": "label", "to_name": "image", "type": "rectanglelabels",
               "original_width": 100, "original_height": 100,
               "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rectanglelabels": ["face"]}}
        self.s.import_tasks(pid, [{"data": {"image": "/data/upload/%d/0badf00d-link.jpg" % pid},
                                   "annotations": [{"result": [box]}]}])
        body, ctype = multipart([("file", n, d) for n, d in face_images(1)])
        self.s.post("/api/projects/%d/import" % pid, raw=body, content_type=ctype)
        t = self.s.get("/api/tasks?project=%d" % pid).json()["tasks"][1]
        self.s.post("/api/tasks/%d/annotations" % t["id"], {"result": [box]})
        # a recorded upload replaced by a link
        path = os.path.join(self.s.dir, "media", t["data"]["image"][len("/data/"):])
        os.remove(path)
        os.symlink("/etc/passwd", path)
        self.assertNotIn(b"root:", self.export_zip(pid))


class AnnotationRefTest(ServerTest):
    def test_completed_by_must_exist(self):
        pid = self.s.create_project()
        task = self.s.import_tasks(pid, [{"image": "http://x/1.jpg"}])[0]
        for bad in (-1, 0):
            j = self.assertError(self.s.post("/api/tasks/%d/annotations" % task,
                                             {"result": [], "completed_by": bad}), 400)
            self.assertIn("completed_by", j["validation_errors"])
        r = self.s.post("/api/tasks/%d/annotations" % task, {"result": [], "completed_by": None})
        self.assertEqual(r.status, 201, r)


if __name__ == "__main__":
    unittest.main()
