"""Tasks: JSON import (all or nothing), the /api/tasks list and its pagination, single-task
CRUD, the older per-project list and the labeling queue /next."""
import unittest

from llapi import ServerTest

DM_KEYS = ["id", "drafts", "annotators", "inner_id", "cancelled_annotations", "total_annotations",
           "total_predictions", "completed_at", "annotations_results", "predictions_results",
           "predictions_score", "uncertainty", "file_upload", "storage_filename", "annotations_ids",
           "predictions_model_versions", "avg_lead_time", "draft_exists", "updated_by", "data",
           "meta", "created_at", "updated_at", "is_labeled", "overlap", "comment_count",
           "unresolved_comment_count", "last_comment_updated_at", "project", "comment_authors"]

RESULT = [{"id": "r1", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
           "original_width": 500, "original_height": 281,
           "value": {"x": 42.3718109130859, "y": 18.598973284412555, "width": 15.094127681337586,
                     "height": 43.737500205746926, "rotation": 0, "rectanglelabels": ["face"]}}]


class TaskTest(ServerTest):
    def test_import_json(self):
        pid = self.s.create_project()
        body = [{"image": "http://h/1.jpg"},
                {"data": {"image": "http://h/2.jpg"}, "meta": {"source": "cam"},
                 "annotations": [{"result": RESULT, "lead_time": 3.5}],
                 "predictions": [{"model_version": "v1", "score": 0.25, "result": RESULT}]}]
        r = self.s.post("/api/projects/%d/import" % pid, body)
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual((j["task_count"], j["annotation_count"], j["prediction_count"]), (2, 1, 1))
        self.assertEqual(j["data_columns"], ["image"])
        self.assertNotIn("task_ids", j)
        for k in ("duration", "file_upload_ids", "could_be_tasks_list", "found_formats"):
            self.assertIn(k, j)
        single = self.s.post("/api/projects/%d/import" % pid, {"image": "http://h/3.jpg"})
        self.assertEqual(single.json()["task_count"], 1)
        tasks = self.s.get("/api/tasks?project=%d&fields=all" % pid).json()
        self.assertEqual(tasks["total"], 3)
        self.assertEqual(tasks["total_annotations"], 1)
        self.assertEqual(tasks["total_predictions"], 1)
        t = tasks["tasks"][1]
        self.assertEqual(t["data"], {"image": "http://h/2.jpg"})
        self.assertEqual(t["meta"], {"source": "cam"})
        self.assertTrue(t["is_labeled"])
        self.assertEqual(t["annotations"][0]["result"], RESULT)
        self.assertEqual(t["annotations"][0]["lead_time"], 3.5)
        self.assertEqual(t["predictions"][0]["score"], 0.25)
        self.assertEqual(t["predictions"][0]["model_version"], "v1")
        self.assertEqual(t["predictions_score"], 0.25)
        self.assertEqual(t["inner_id"], 2)
        # floats keep Python's repr through the round trip
        self.assertIn(b"42.3718109130859", self.s.get("/api/tasks/%d" % t["id"]).body)

    def test_import_is_all_or_nothing(self):
        pid = self.s.create_project()
        bad = [[{"image": "a"}, {"image": "b"}, {"picture": "c"}],
               [{"data": {"image": "a"}, "annotations": [{"result": "not a list"}]}],
               [{"data": {"image": "a"}, "predictions": [{"score": 1}]}],
               [{"data": {"image": "a"}, "annotations": {"result": []}}],
               [1, 2], "text"]
        for body in bad:
            j = self.assertError(self.s.post("/api/projects/%d/import" % pid, body), 400)
            self.assertIn("validation_errors", j)
        self.assertError(self.s.post("/api/projects/%d/import" % pid, raw=b"[{"), 400,
                         "JSON parse error")
        self.assertEqual(self.s.get("/api/tasks?project=%d" % pid).json()["total"], 0)
        self.assertError(self.s.post("/api/projects/999999/import", [{"image": "a"}]), 404)

    def test_long_import_fails_whole(self):
        pid = self.s.create_project()
        tasks = [{"image": str(i)} for i in range(2500)]
        tasks[2100] = {"picture": "x"}
        j = self.assertError(self.s.post("/api/projects/%d/import" % pid, tasks), 400)
        self.assertIn("Task #2100", j["validation_errors"]["non_field_errors"][0])
        text = ("[" + ",".join('{"image": "%d"}' % i for i in range(2500)) + ", {]").encode()
        self.assertError(self.s.post("/api/projects/%d/import" % pid, raw=text), 400,
                         "JSON parse error")
        self.assertEqual(self.s.get("/api/tasks?project=%d" % pid).json()["total"], 0)
        ids = self.s.import_tasks(pid, tasks[:2000])
        self.assertEqual(len(ids), 2000)
        self.assertEqual(self.s.get("/api/projects/%d" % pid).json()["task_number"], 2000)

    def test_missing_key_message(self):
        pid = self.s.create_project()
        j = self.assertError(self.s.post("/api/projects/%d/import" % pid, [{"img": "a"}]), 400)
        self.assertIn('"image" key is expected in task data',
                      j["validation_errors"]["non_field_errors"][0])

    def test_list_pagination(self):
        pid = self.s.create_project()
        ids = self.s.import_tasks(pid, [{"image": str(i)} for i in range(25)])
        self.assertEqual(ids, list(range(ids[0], ids[0] + 25)))
        page = self.s.get("/api/tasks/?project=%d&page=2&page_size=10" % pid).json()
        self.assertEqual(page["total"], 25)
        self.assertEqual([t["id"] for t in page["tasks"]], ids[10:20])
        t = page["tasks"][0]
        self.assertEqual(list(t.keys()), DM_KEYS)
        self.assertNotIn("annotations", t)
        last = self.s.get("/api/tasks?project=%d&page=3&page_size=10" % pid).json()
        self.assertEqual(len(last["tasks"]), 5)
        self.assertError(self.s.get("/api/tasks?project=%d&page=4&page_size=10" % pid), 404,
                         "Invalid page.")
        self.assertError(self.s.get("/api/tasks"), 404, "Neither project nor view id specified")
        self.assertError(self.s.get("/api/tasks?project=abc"), 400)
        # page_size <= 0 (the classic SDK sends -1): Label Studio's default page of 100
        for size in (0, -1):
            j = self.s.get("/api/tasks?project=%d&page_size=%d" % (pid, size)).json()
            self.assertEqual(([t["id"] for t in j["tasks"]], j["total"]), (ids, 25))
        self.assertError(self.s.get("/api/tasks?project=%d&page_size=x" % pid), 400)
        self.assertError(self.s.get("/api/tasks?project=999999"), 404)
        only = self.s.get("/api/tasks?project=%d&page_size=2&include=id,data" % pid).json()
        self.assertEqual(list(only["tasks"][0].keys()), ["id", "data"])
        empty = self.s.create_project()
        self.assertEqual(self.s.get("/api/tasks?project=%d" % empty).json()["tasks"], [])

    def test_single_task(self):
        pid = self.s.create_project()
        r = self.s.post("/api/tasks", {"project": pid, "data": {"image": "x.jpg"}, "meta": {"a": 1}})
        self.assertEqual(r.status, 201, r)
        t = r.json()
        self.assertEqual(t["data"], {"image": "x.jpg"})
        self.assertEqual(t["annotations"], [])
        self.assertEqual(t["predictions"], [])
        tid = t["id"]
        r = self.s.patch("/api/tasks/%d/" % tid, {"data": {"image": "y.jpg"}})
        self.assertEqual(r.json()["data"], {"image": "y.jpg"})
        self.assertEqual(r.json()["meta"], {"a": 1})
        self.assertError(self.s.patch("/api/tasks/%d" % tid, {"data": "y"}), 400)
        self.assertError(self.s.post("/api/tasks", {"data": {"image": "x"}}), 400)
        self.assertError(self.s.post("/api/tasks", {"project": 999999, "data": {"image": "x"}}), 400)
        self.assertError(self.s.post("/api/tasks", {"project": pid, "data": {"img": "x"}}), 400)
        self.assertError(self.s.post("/api/tasks", {"project": pid}), 400)
        self.assertEqual(self.s.delete("/api/tasks/%d" % tid).status, 204)
        self.assertError(self.s.get("/api/tasks/%d" % tid), 404)
        self.assertError(self.s.delete("/api/tasks/%d" % tid), 404)
        self.assertError(self.s.patch("/api/tasks/%d" % tid, {"data": {}}), 404)

    def test_project_task_list(self):
        pid = self.s.create_project()
        ids = self.s.import_tasks(pid, [{"data": {"image": str(i)},
                                         "predictions": [{"result": []}]} for i in range(7)])
        r = self.s.get("/api/projects/%d/tasks?page=2&page_size=3" % pid)
        tasks = r.json()
        self.assertEqual([t["id"] for t in tasks], ids[3:6])
        self.assertEqual(tasks[0]["predictions"][0]["task"], ids[3])
        self.assertIn("is_labeled", tasks[0])
        self.assertEqual(len(self.s.get("/api/projects/%d/tasks?page_size=-1" % pid).json()), 7)
        self.assertError(self.s.get("/api/projects/%d/tasks?page=9&page_size=3" % pid), 404)
        self.assertEqual(self.s.delete("/api/projects/%d/tasks/" % pid).status, 204)
        self.assertEqual(self.s.get("/api/projects/%d" % pid).json()["task_number"], 0)

    def test_next(self):
        pid = self.s.create_project()
        ids = self.s.import_tasks(pid, [{"image": str(i)} for i in range(3)])
        n = self.s.get("/api/projects/%d/next" % pid).json()
        self.assertEqual(n["id"], ids[0])
        self.assertIn("annotations", n)
        self.assertEqual(self.s.post("/api/tasks/%d/annotations" % ids[0], {"result": []}).status,
                         201)
        self.assertEqual(self.s.get("/api/projects/%d/next" % pid).json()["id"], ids[1])
        r = self.s.post("/api/tasks/%d/annotations?was_cancelled=1" % ids[1], {"result": []})
        self.assertEqual(r.json()["was_cancelled"], True)
        self.assertEqual(self.s.get("/api/projects/%d/next" % pid).json()["id"], ids[2])
        self.s.post("/api/tasks/%d/annotations" % ids[2], {"result": []})
        self.assertError(self.s.get("/api/projects/%d/next" % pid), 404)
        self.assertError(self.s.get("/api/projects/999999/next"), 404)

    def test_next_uncertainty_and_uniform(self):
        pid = self.s.create_project(sampling="Uncertainty sampling")
        ids = self.s.import_tasks(pid, [
            {"data": {"image": "a"}, "predictions": [{"result": [], "score": 0.9}]},
            {"data": {"image": "b"}, "predictions": [{"result": [], "score": 0.2}]},
            {"data": {"image": "c"}}])
        self.assertEqual(self.s.get("/api/projects/%d/next" % pid).json()["id"], ids[1])
        self.s.patch("/api/projects/%d" % pid, {"sampling": "Uniform sampling"})
        # the task /next handed out stays this user's (its task lock) whatever the sampling;
        # test_next_locks.py checks the spread of uniform sampling
        seen = {self.s.get("/api/projects/%d/next" % pid).json()["id"] for _ in range(5)}
        self.assertEqual(seen, {ids[1]})


if __name__ == "__main__":
    unittest.main()
