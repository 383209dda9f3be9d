"""Task list views and thumbnails for the UI: Label Studio's data-manager `query` (filters and
ordering) on /api/tasks with pagination and totals, bad queries, and /api/tasks/{id}/thumbnail
(made once from the upload, cached, 404 for tasks without an uploaded image)."""
import json
import os
import unittest
import urllib.parse

from llapi import ServerTest, face_images, multipart


def query(filters=None, ordering=None, conjunction="and"):
    q = {"filters": {"conjunction": conjunction, "items": filters or []}}
    if ordering:
        q["ordering"] = ordering
    return urllib.parse.quote(json.dumps(q))


def num(name, op, value):
    return {"filter": "filter:tasks:" + name, "operator": op, "type": "Number", "value": value}


class TaskViewTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.s
        cls.pid = s.create_project()
        # 30 tasks: every third without predictions, scores (i * 7 % 10) / 10, the first 5
        # annotated, tasks 5-7 skipped.
        tasks = []
        for i in range(30):
            t = {"data": {"image": "http://h/%d.jpg" % i}}
            if i % 3:
                t["predictions"] = [{"model_version": "v1", "score": (i * 7 % 10) / 10, "result": []}]
            if i < 5:
                t["annotations"] = [{"result": []}]
            tasks.append(t)
        cls.ids = s.import_tasks(cls.pid, tasks)
        for tid in cls.ids[5:8]:
            r = s.post("/api/tasks/%d/annotations" % tid, {"result": [], "was_cancelled": True})
            assert r.status == 201, r
        cls.score = {cls.ids[i]: (i * 7 % 10) / 10 for i in range(30) if i % 3}

    def page(self, q, page=1, size=100):
        r = self.s.get("/api/tasks?project=%d&page=%d&page_size=%d&query=%s" % (self.pid, page, size, q))
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_order_by_score_nulls_last_ties_by_id(self):
        j = self.page(query(ordering=["tasks:predictions_score"]))
        got = [t["id"] for t in j["tasks"]]
        scored = sorted(self.score, key=lambda i: (self.score[i], i))
        unscored = [i for i in self.ids if i not in self.score]
        self.assertEqual(got, scored + unscored)
        j = self.page(query(ordering=["-tasks:predictions_score"]))
        desc = sorted(self.score, key=lambda i: (-self.score[i], -i))
        self.assertEqual([t["id"] for t in j["tasks"]], desc + sorted(unscored, reverse=True))
        self.assertEqual(j["total"], 30)
        # a page scattered over the project carries each task's own annotations and predictions
        r = self.s.get("/api/tasks?project=%d&page=2&page_size=4&fields=all&query=%s"
                       % (self.pid, query(ordering=["-tasks:predictions_score"])))
        for t in r.json()["tasks"]:
            self.assertEqual(len(t["predictions"]), t["total_predictions"], t["id"])
            self.assertTrue(all(p["task"] == t["id"] for p in t["predictions"]), t["id"])
            self.assertTrue(all(a["task"] == t["id"] for a in t["annotations"]), t["id"])
            self.assertEqual(t["predictions_score"], self.score.get(t["id"]))

    def test_filters_and_totals(self):
        j = self.page(query([num("total_annotations", "equal", 0), num("cancelled_annotations", "equal", 0)]))
        self.assertEqual([t["id"] for t in j["tasks"]], self.ids[8:])
        self.assertEqual(j["total"], 22)
        j = self.page(query([num("cancelled_annotations", "greater", 0)]))
        self.assertEqual([t["id"] for t in j["tasks"]], self.ids[5:8])
        j = self.page(query([num("total_annotations", "greater", 0)]))
        self.assertEqual(j["total"], 5)
        self.assertEqual(j["total_annotations"], 5)
        j = self.page(query([num("total_predictions", "greater", 0), num("predictions_score", "less", 0.5)]))
        want = sorted(i for i, s in self.score.items() if s < 0.5)
        self.assertEqual([t["id"] for t in j["tasks"]], want)
        self.assertEqual(j["total_predictions"], len(want))
        j = self.page(query([num("predictions_score", "empty", True)]))
        self.assertEqual(j["total"], 10)
        j = self.page(query([num("predictions_score", "in", {"min": 0.2, "max": 0.4})]))
        self.assertEqual([t["id"] for t in j["tasks"]], sorted(i for i, s in self.score.items() if 0.2 <= s <= 0.4))
        j = self.page(query([num("id", "less", self.ids[2]), num("id", "greater", self.ids[27])], conjunction="or"))
        self.assertEqual([t["id"] for t in j["tasks"]], self.ids[:2] + self.ids[28:])

    def test_pagination_of_a_view(self):
        q = query([num("total_predictions", "greater", 0)], ["-tasks:predictions_score"])
        all_ids = [t["id"] for t in self.page(q)["tasks"]]
        pages = [t["id"] for p in (1, 2, 3) for t in self.page(q, p, 7)["tasks"]]
        self.assertEqual(pages, all_ids[:21])
        self.assertEqual(self.page(q, 3, 7)["total"], 20)
        r = self.s.get("/api/tasks?project=%d&page=4&page_size=7&query=%s" % (self.pid, q))
        self.assertError(r, 404, "Invalid page.")
        # the neighbour query the editor uses for previous/next
        nxt = self.page(query([num("id", "greater", self.ids[10])], ["tasks:id"]), 1, 1)["tasks"]
        self.assertEqual([t["id"] for t in nxt], [self.ids[11]])
        prev = self.page(query([num("id", "less", self.ids[10])], ["-tasks:id"]), 1, 1)["tasks"]
        self.assertEqual([t["id"] for t in prev], [self.ids[9]])
        # past the last task: an empty first page, not every task
        last = self.page(query([num("id", "greater", self.ids[-1])], ["tasks:id"]), 1, 1)
        self.assertEqual((last["tasks"], last["total"]), ([], 0))

    def test_fields_and_include_keep_the_order(self):
        q = query(ordering=["-tasks:id"])
        r = self.s.get("/api/tasks?project=%d&page=1&page_size=3&include=id&query=%s" % (self.pid, q))
        self.assertEqual(r.json()["tasks"], [{"id": i} for i in reversed(self.ids[-3:])])
        r = self.s.get("/api/tasks?project=%d&page=1&page_size=2&fields=all&query=%s" % (self.pid, q))
        self.assertIn("predictions", r.json()["tasks"][0])

    def test_plain_query_is_the_id_order(self):
        j = self.page(query())
        self.assertEqual([t["id"] for t in j["tasks"]], self.ids)

    def test_bad_queries(self):
        bad = ["not json", "[1]", json.dumps({"ordering": ["tasks:bogus"]}),
               json.dumps({"filters": {"conjunction": "xor", "items": []}}),
               json.dumps({"filters": {"conjunction": "and", "items": [num("data", "equal", 1)]}}),
               json.dumps({"filters": {"conjunction": "and", "items": [num("updated_at", "equal", 1)]}}),
               json.dumps({"filters": {"conjunction": "and", "items": [num("id", "contains", 1)]}}),
               json.dumps({"filters": {"conjunction": "and", "items": [num("id", "equal", "x")]}}),
               json.dumps({"filters": {"conjunction": "and", "items": [num("id", "in", 3)]}}),
               json.dumps({"filters": {"conjunction": "and", "items": [num("id", "equal", 1)] * 17}})]
        for q in bad:
            r = self.s.get("/api/tasks?project=%d&query=%s" % (self.pid, urllib.parse.quote(q)))
            j = self.assertError(r, 400)
            self.assertIn("query", j["validation_errors"], q)


class ThumbnailTest(ServerTest):
    def test_thumbnail_made_once_and_cached(self):
        pid = self.s.create_project()
        (name, data), = face_images(1)
        body, ctype = multipart([("file", name, data)])
        r = self.s.post("/api/projects/%d/import?return_task_ids=true" % pid, raw=body, content_type=ctype)
        self.assertEqual(r.status, 201, r)
        tid = r.json()["task_ids"][0]
        r = self.s.get("/api/tasks/%d/thumbnail" % tid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "image/jpeg")
        self.assertEqual(r.body[:3], b"\xff\xd8\xff")
        w, h = jpeg_size(r.body)
        self.assertEqual(max(w, h), 128)
        cached = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(self.s.dir, "media", "thumbnails"))
                  for f in fs if f.endswith(".jpg")]  # (images that failed leave a .failed note)
        self.assertEqual(len(cached), 1)
        mtime = os.stat(cached[0]).st_mtime_ns
        again = self.s.get("/api/tasks/%d/thumbnail" % tid)
        self.assertEqual(again.body, r.body)
        self.assertEqual(os.stat(cached[0]).st_mtime_ns, mtime)
        # a JSON task pointing at the same upload shares it
        url = self.s.get("/api/tasks/%d" % tid).json()["data"]["image"]
        other = self.s.import_tasks(pid, [{"image": url}])[0]
        self.assertEqual(self.s.get("/api/tasks/%d/thumbnail" % other).body, r.body)

    def test_no_thumbnail(self):
        pid = self.s.create_project()
        tid = self.s.import_tasks(pid, [{"image": "http://elsewhere/a.jpg"}, {"image": "/data/upload/1/../../x.jpg"}])
        for t in tid + [999999]:
            self.assertError(self.s.get("/api/tasks/%d/thumbnail" % t), 404)
        self.assertError(self.s.get("/api/tasks/%d/thumbnail" % tid[0], token=None), 401)

    def test_broken_upload(self):
        pid = self.s.create_project()
        body, ctype = multipart([("file", "broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")])
        r = self.s.post("/api/projects/%d/import?return_task_ids=true" % pid, raw=body, content_type=ctype)
        self.assertError(r, 400, "Validation error")  # the importer probes every image
        # a JPEG whose header probes but whose Huffman table is bogus: stored, but no thumbnail
        data = bytearray(face_images(1)[0][1])
        dht = data.index(b"\xff\xc4")
        data[dht + 5:dht + 21] = b"\xff" * 16  # code counts summing past 256
        body, ctype = multipart([("file", "bogus.jpg", bytes(data))])
        r = self.s.post("/api/projects/%d/import?return_task_ids=true" % pid, raw=body, content_type=ctype)
        self.assertEqual(r.status, 201, r)
        tid = r.json()["task_ids"][0]
        self.assertError(self.s.get("/api/tasks/%d/thumbnail" % tid), 400, "jpeg")


def jpeg_size(b):
    i = 2
    while i < len(b):
        marker, length = b[i + 1], int.from_bytes(b[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(b[i + 7:i + 9], "big"), int.from_bytes(b[i + 5:i + 7], "big")
        i += 2 + length
    raise ValueError("no SOF")


if __name__ == "__main__":
    unittest.main()
