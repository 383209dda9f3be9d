"""Annotations: create, list, read, update, delete, task counters and is_labeled, references,
bad input, and concurrent writes from several clients."""
import threading
import unittest

from llapi import ServerTest

RESULT = [{"id": "a1", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
           "value": {"x": 10.5, "y": 20.25, "width": 30.0, "height": 40.0, "rotation": 0,
                     "rectanglelabels": ["face"]}}]
API_KEYS = ["id", "result", "created_username", "created_ago", "completed_by", "was_cancelled",
            "ground_truth", "created_at", "updated_at", "draft_created_at", "lead_time",
            "import_id", "last_action", "task", "project", "updated_by", "parent_prediction",
            "parent_annotation", "last_created_by"]


class AnnotationTest(ServerTest):
    def setUp(self):
        self.pid = self.s.create_project(model_version="m1")
        self.tids = self.s.import_tasks(self.pid, [
            {"data": {"image": "a"}, "predictions": [{"model_version": "m1", "score": 0.7,
                                                      "result": RESULT}]},
            {"data": {"image": "b"}}])

    def task(self, tid):
        return self.s.get("/api/tasks/%d" % tid).json()

    def test_lifecycle(self):
        tid = self.tids[0]
        pred = self.task(tid)["predictions"][0]["id"]
        r = self.s.post("/api/tasks/%d/annotations/" % tid,
                        {"result": RESULT, "lead_time": 12.5, "parent_prediction": pred})
        self.assertEqual(r.status, 201, r)
        a = r.json()
        self.assertEqual(list(a.keys()), API_KEYS)
        self.assertEqual(a["result"], RESULT)
        self.assertEqual(a["completed_by"], 1)
        self.assertEqual(a["lead_time"], 12.5)
        self.assertEqual(a["parent_prediction"], pred)
        self.assertEqual(a["task"], tid)
        self.assertEqual(a["created_username"], "  admin@example.com, 1")
        self.assertEqual(a["created_ago"], "0\u00a0minutes")
        t = self.task(tid)
        self.assertTrue(t["is_labeled"])
        self.assertEqual(t["total_annotations"], 1)
        self.assertEqual(t["annotators"], [1])
        self.assertEqual(self.s.get("/api/annotations/%d" % a["id"]).json(), a)
        lst = self.s.get("/api/tasks/%d/annotations" % tid).json()
        self.assertEqual([x["id"] for x in lst], [a["id"]])
        r = self.s.patch("/api/annotations/%d/" % a["id"], {"result": [], "ground_truth": True})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["result"], [])
        self.assertTrue(r.json()["ground_truth"])
        self.assertEqual(r.json()["lead_time"], 12.5)
        self.assertEqual(r.json()["last_action"], "updated")
        self.assertEqual(self.s.delete("/api/annotations/%d" % a["id"]).status, 204)
        t = self.task(tid)
        self.assertFalse(t["is_labeled"])
        self.assertEqual(t["total_annotations"], 0)
        self.assertError(self.s.get("/api/annotations/%d" % a["id"]), 404)

    def test_skip_and_overlap(self):
        tid = self.tids[1]
        r = self.s.post("/api/tasks/%d/annotations" % tid, {"was_cancelled": True})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["result"], [])
        t = self.task(tid)
        self.assertEqual((t["cancelled_annotations"], t["total_annotations"]), (1, 0))
        self.assertFalse(t["is_labeled"])
        self.assertEqual(self.s.get("/api/tasks/%d/annotations" % tid).json(), [])
        self.s.patch("/api/projects/%d" % self.pid, {"maximum_annotations": 2})
        self.s.post("/api/tasks/%d/annotations" % tid, {"result": RESULT})
        self.assertFalse(self.task(tid)["is_labeled"])
        self.s.post("/api/tasks/%d/annotations" % tid, {"result": RESULT})
        self.assertTrue(self.task(tid)["is_labeled"])
        self.s.patch("/api/projects/%d" % self.pid, {"skip_queue": "IGNORE_SKIPPED",
                                                      "maximum_annotations": 3})
        self.assertTrue(self.task(tid)["is_labeled"])

    def test_prediction_snapshot(self):
        tid = self.tids[0]
        a = self.s.post("/api/tasks/%d/annotations" % tid, {"result": RESULT}).json()
        export = self.s.get("/api/projects/%d/tasks" % self.pid).json()[0]["annotations"][0]
        self.assertEqual(export["id"], a["id"])
        self.assertEqual(export["prediction"]["model_version"], "m1")
        self.assertEqual(export["prediction"]["score"], 0.7)

    def test_bad_input(self):
        tid = self.tids[0]
        cases = [({}, "result"), ({"result": "nope"}, "result"), ({"result": {"a": 1}}, "result"),
                 ({"result": [], "lead_time": "slow"}, "lead_time"),
                 ({"result": [], "was_cancelled": "maybe"}, "was_cancelled"),
                 ({"result": [], "parent_prediction": 999999}, "parent_prediction"),
                 ({"result": [], "completed_by": 999999}, "completed_by"),
                 ({"result": [], "parent_annotation": "x"}, "parent_annotation")]
        for body, field in cases:
            j = self.assertError(self.s.post("/api/tasks/%d/annotations" % tid, body), 400)
            self.assertIn(field, j["validation_errors"], body)
        self.assertEqual(self.task(tid)["total_annotations"], 0)
        self.assertError(self.s.post("/api/tasks/999999/annotations", {"result": []}), 404)
        self.assertError(self.s.get("/api/tasks/999999/annotations"), 404)
        self.assertError(self.s.post("/api/tasks/%d/annotations" % tid, raw=b"{nope"), 400)
        as_text = self.s.post("/api/tasks/%d/annotations" % tid, {"result": "[]"})
        self.assertEqual(as_text.json()["result"], [])
        self.assertError(self.s.patch("/api/annotations/999999", {"result": []}), 404)
        self.assertError(self.s.delete("/api/annotations/999999"), 404)

    def test_concurrent_writes(self):
        ids = self.s.import_tasks(self.pid, [{"image": str(i)} for i in range(4)])
        errors = []

        def client(n):
            for i in range(10):
                tid = ids[(n + i) % len(ids)]
                r = self.s.post("/api/tasks/%d/annotations" % tid, {"result": RESULT,
                                                                     "lead_time": float(i)})
                if r.status != 201:
                    errors.append(r)
        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        total = sum(self.task(t)["total_annotations"] for t in ids)
        self.assertEqual(total, 80)
        self.assertEqual(sum(len(self.s.get("/api/tasks/%d/annotations" % t).json()) for t in ids),
                         80)


if __name__ == "__main__":
    unittest.main()
