"""Users (/api/users list, read, create for administrators), the SDK's form login (POST
/user/login, then the token with the session cookie) and export snapshots
(/api/projects/{id}/exports: create with filter and serialization options, list, read, download
in a format, delete)."""
import io
import json
import unittest
import urllib.parse
import zipfile

from llapi import ADMIN_EMAIL, ADMIN_PASSWORD, CONFIG, ServerTest

USER_KEYS = ["id", "first_name", "last_name", "username", "email", "last_activity", "initials",
             "avatar", "phone", "active_organization", "allow_newsletters", "date_joined",
             "is_superuser"]
BOX = [{"id": "b", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
        "original_width": 100, "original_height": 50,
        "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0,
                  "rectanglelabels": ["face"]}}]


def form(**fields):
    return urllib.parse.urlencode(fields).encode()


class UsersTest(ServerTest):
    def test_list_get_create(self):
        users = self.s.get("/api/users").json()
        self.assertEqual([u["email"] for u in users], [ADMIN_EMAIL])
        self.assertEqual(list(users[0].keys()), USER_KEYS)
        self.assertEqual(self.s.get("/api/users/%d" % users[0]["id"]).json(), users[0])
        self.assertError(self.s.get("/api/users/999"), 404)
        r = self.s.post("/api/users", {"username": "ann", "email": "ann@example.com",
                                       "first_name": "Ann", "last_name": "Lee", "phone": ""})
        self.assertEqual(r.status, 201, r)
        ann = r.json()
        self.assertEqual((ann["username"], ann["first_name"], ann["last_name"], ann["initials"],
                          ann["is_superuser"]), ("ann", "Ann", "Lee", "AL", False))
        r = self.s.post("/api/users", {"email": "ANN@example.com"})
        self.assertIn("already exists", r.body.decode())
        self.assertError(r, 400)
        self.assertError(self.s.post("/api/users", {"first_name": "x"}), 400)
        self.assertError(self.s.post("/api/users", {"email": "x@y.z", "password": "short"}), 400)
        # a user with a password can log in; an annotator may not create users
        r = self.s.post("/api/users", {"email": "bob@example.com", "password": "bob-password-1"})
        self.assertEqual(r.json()["username"], "bob@example.com")
        r = self.s.post("/api/auth/login", {"email": "bob@example.com",
                                            "password": "bob-password-1"})
        cookie = r.header("Set-Cookie").split(";")[0]
        token = self.s.get("/api/current-user/token", token=None,
                           headers={"Cookie": cookie}).json()["token"]
        r = self.s.post("/api/users", {"email": "eve@example.com"}, token=token)
        self.assertError(r, 403)
        self.assertEqual(len(self.s.get("/api/users", token=token).json()), 3)

    def test_form_login(self):
        r = self.s.request("POST", "/user/login", token=None,
                           raw=form(email=ADMIN_EMAIL, password=ADMIN_PASSWORD),
                           content_type="application/x-www-form-urlencoded")
        self.assertEqual((r.status, r.header("Location")), (302, "/"), r)
        cookie = r.header("Set-Cookie")
        self.assertIn("HttpOnly", cookie)
        r = self.s.get("/api/current-user/token", token=None,
                       headers={"Cookie": cookie.split(";")[0]})
        self.assertEqual(r.json()["token"], self.s.token)
        r = self.s.request("POST", "/user/login", token=None,
                           raw=form(email=ADMIN_EMAIL, password="wrong-password"),
                           content_type="application/x-www-form-urlencoded")
        self.assertError(r, 401)
        r = self.s.request("POST", "/user/login", token=None, raw=form(email=ADMIN_EMAIL),
                           content_type="application/x-www-form-urlencoded")
        self.assertIn("password", self.assertError(r, 400)["validation_errors"])
        # a page of another origin cannot log a browser in
        r = self.s.request("POST", "/user/login", token=None,
                           raw=form(email=ADMIN_EMAIL, password=ADMIN_PASSWORD),
                           content_type="application/x-www-form-urlencoded",
                           headers={"Origin": "http://evil.example"})
        self.assertError(r, 403)
        # the SDK first GETs the login page: the UI answers it
        self.assertEqual(self.s.get("/user/login", token=None).status, 200)


class SnapshotTest(ServerTest):
    def setUp(self):
        self.pid = self.s.create_project()
        tasks = [{"data": {"image": "http://h/%d.jpg" % i}} for i in range(5)]
        tasks[0]["annotations"] = [{"result": BOX, "lead_time": 2.5}]
        tasks[1]["annotations"] = [{"result": BOX, "ground_truth": True}]
        tasks[2]["annotations"] = [{"result": [], "was_cancelled": True}]
        tasks[0]["predictions"] = [{"result": BOX, "score": 0.5, "model_version": "m"}]
        self.ids = self.s.import_tasks(self.pid, tasks)

    def create(self, **body):
        r = self.s.post("/api/projects/%d/exports" % self.pid, body)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def download(self, eid, fmt=None):
        url = "/api/projects/%d/exports/%d/download" % (self.pid, eid)
        r = self.s.get(url + ("?exportType=" + fmt if fmt else ""))
        self.assertEqual(r.status, 200, r)
        return r

    def test_lifecycle(self):
        s = self.create(title="first")
        for key in ("id", "title", "created_by", "created_at", "finished_at", "status", "md5",
                    "counters", "converted_formats"):
            self.assertIn(key, s)
        self.assertEqual((s["title"], s["status"], s["counters"]), ("first", "completed",
                                                                    {"task_number": 5}))
        self.assertEqual(s["created_by"]["email"], ADMIN_EMAIL)
        self.assertEqual(self.s.get("/api/projects/%d/exports/%d" % (self.pid, s["id"])).json(), s)
        r = self.download(s["id"])
        name = r.header("filename")
        self.assertTrue(name.startswith("project-%d-at-" % self.pid) and name.endswith(".json"))
        self.assertIn(name, r.header("Content-Disposition"))
        tasks = r.json()
        self.assertEqual([t["id"] for t in tasks], self.ids)
        self.assertEqual(tasks[0]["predictions"], [self.s.get("/api/tasks/%d" % self.ids[0])
                                                   .json()["predictions"][0]["id"]])
        import hashlib
        self.assertEqual(hashlib.md5(r.body).hexdigest(), s["md5"])
        # the snapshot keeps the project as it was
        self.s.post("/api/projects/%d/import" % self.pid, [{"image": "http://h/later.jpg"}])
        self.assertEqual(len(self.download(s["id"]).json()), 5)
        second = self.create()
        listed = self.s.get("/api/projects/%d/exports" % self.pid).json()
        self.assertEqual([x["id"] for x in listed], [second["id"], s["id"]])
        self.assertEqual(self.s.delete("/api/projects/%d/exports/%d" % (self.pid, s["id"])).status,
                         204)
        self.assertError(self.s.get("/api/projects/%d/exports/%d" % (self.pid, s["id"])), 404)
        self.assertError(self.s.get("/api/projects/%d/exports/%d/download" % (self.pid, s["id"])),
                         404)
        other = self.s.create_project()
        self.assertError(self.s.get("/api/projects/%d/exports/%d" % (other, second["id"])), 404)

    def test_formats(self):
        s = self.create()
        r = self.download(s["id"], "JSON_MIN")
        # a record per non-cancelled annotation, one per task without annotations (3, 4)
        self.assertEqual(len(r.json()), 4)
        r = self.download(s["id"], "CSV")
        self.assertTrue(r.header("filename").endswith(".csv"))
        self.assertTrue(r.body.startswith(b"image,id,"))
        r = self.download(s["id"], "COCO")
        self.assertEqual(r.header("Content-Type"), "application/zip")
        coco = json.loads(zipfile.ZipFile(io.BytesIO(r.body)).read("result.json"))
        self.assertEqual(len(coco["annotations"]), 2)
        self.assertError(self.s.get("/api/projects/%d/exports/%d/download?exportType=BOGUS"
                                    % (self.pid, s["id"])), 400)
        self.assertEqual(len(self.s.get("/api/projects/%d/exports/formats" % self.pid).json()), 7)

    def test_options(self):
        s = self.create(task_filter_options={"annotated": "only", "skipped": "exclude"},
                        annotation_filter_options={"usual": True, "ground_truth": False,
                                                   "skipped": False},
                        serialization_options={"predictions": {"only_id": False},
                                               "annotations__completed_by": {"only_id": False}})
        tasks = self.download(s["id"]).json()
        self.assertEqual([t["id"] for t in tasks], self.ids[:2])
        self.assertEqual([len(t["annotations"]) for t in tasks], [1, 0])
        self.assertEqual(tasks[0]["predictions"][0]["model_version"], "m")
        self.assertEqual(tasks[0]["annotations"][0]["completed_by"]["email"], ADMIN_EMAIL)
        self.assertEqual(s["task_filter_options"], {"annotated": "only", "skipped": "exclude"})
        s = self.create(task_filter_options={"only_with_annotations": True, "finished": "exclude"})
        self.assertEqual([t["id"] for t in self.download(s["id"]).json()], [self.ids[2]])
        v = self.s.post("/api/dm/views", {"project": self.pid, "data": {"selectedItems": {
            "all": False, "included": [self.ids[4], self.ids[3]]}}}).json()
        s = self.create(task_filter_options={"view": v["id"]})
        self.assertEqual([t["id"] for t in self.download(s["id"]).json()], self.ids[3:5])
        # the re-import of a snapshot made with full predictions and users works too
        full = self.create(serialization_options={"predictions": {"only_id": False},
                                                  "annotations__completed_by": {"only_id": False}})
        other = self.s.create_project()
        r = self.s.post("/api/projects/%d/import" % other, self.download(full["id"]).json())
        self.assertEqual((r.json()["task_count"], r.json()["prediction_count"]), (5, 1), r)
        for bad in ({"task_filter_options": {"finished": "maybe"}}, {"title": 5},
                    {"task_filter_options": {"view": "x"}}):
            self.assertError(self.s.post("/api/projects/%d/exports" % self.pid, bad), 400)
        self.assertError(self.s.post("/api/projects/999999/exports", {}), 404)


if __name__ == "__main__":
    unittest.main()
