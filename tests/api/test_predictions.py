"""Predictions: create, list with filters, read, update (PATCH and PUT), delete, bad input."""
import unittest

from llapi import ServerTest

RESULT = [{"id": "0", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
           "score": 83.13779830932617,
           "value": {"x": 42.37181091308594, "y": 18.598973284412534, "width": 19.232058715820312,
                     "height": 48.64547566586966, "rectanglelabels": ["face"]}}]
KEYS = ["id", "model_version", "created_ago", "result", "score", "cluster", "neighbors",
        "mislabeling", "created_at", "updated_at", "task", "project"]


class PredictionTest(ServerTest):
    def setUp(self):
        self.pid = self.s.create_project()
        self.tids = self.s.import_tasks(self.pid, [{"image": "a"}, {"image": "b"}])

    def test_lifecycle(self):
        tid = self.tids[0]
        r = self.s.post("/api/predictions/", {"task": tid, "result": RESULT, "score": 83.13779830932617,
                                             "model_version": "1669273968"})
        self.assertEqual(r.status, 201, r)
        p = r.json()
        self.assertEqual(list(p.keys()), KEYS)
        self.assertEqual(p["result"], RESULT)
        self.assertEqual(p["model_version"], "1669273968")
        self.assertIn(b"83.13779830932617", r.body)
        self.assertEqual(p["project"], self.pid)
        self.assertEqual(self.s.get("/api/predictions/%d" % p["id"]).json(), p)
        t = self.s.get("/api/tasks/%d" % tid).json()
        self.assertEqual(t["total_predictions"], 1)
        self.assertEqual(t["predictions_score"], 83.13779830932617)
        r = self.s.patch("/api/predictions/%d" % p["id"], {"score": 0.5, "model_version": "v2"})
        self.assertEqual((r.json()["score"], r.json()["model_version"]), (0.5, "v2"))
        self.assertEqual(r.json()["result"], RESULT)
        r = self.s.request("PUT", "/api/predictions/%d/" % p["id"],
                           {"task": self.tids[1], "result": [], "score": None})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["task"], r.json()["score"], r.json()["result"]),
                         (self.tids[1], None, []))
        self.assertEqual(self.s.get("/api/tasks/%d" % tid).json()["total_predictions"], 0)
        self.assertEqual(self.s.delete("/api/predictions/%d" % p["id"]).status, 204)
        self.assertError(self.s.get("/api/predictions/%d" % p["id"]), 404)
        self.assertEqual(self.s.get("/api/tasks/%d" % self.tids[1]).json()["total_predictions"], 0)

    def test_list_filters(self):
        a = self.s.post("/api/predictions", {"task": self.tids[0], "result": []}).json()["id"]
        b = self.s.post("/api/predictions", {"task": self.tids[1], "result": []}).json()["id"]
        self.assertEqual([p["id"] for p in self.s.get("/api/predictions?task=%d" % self.tids[1])
                          .json()], [b])
        both = self.s.get("/api/predictions?task__project=%d" % self.pid).json()
        self.assertEqual([p["id"] for p in both], [a, b])
        self.assertEqual(self.s.get("/api/predictions?task=999999").json(), [])
        self.assertError(self.s.get("/api/predictions?task=x"), 400)

    def test_bad_input(self):
        cases = [({"result": []}, "task"), ({"task": self.tids[0]}, "result"),
                 ({"task": 999999, "result": []}, "task"),
                 ({"task": self.tids[0], "result": 5}, "result"),
                 ({"task": self.tids[0], "result": [], "score": "high"}, "score"),
                 ({"task": self.tids[0], "result": [], "model_version": 3}, "model_version"),
                 ({"task": "one", "result": []}, "task")]
        for body, field in cases:
            j = self.assertError(self.s.post("/api/predictions", body), 400)
            self.assertIn(field, j["validation_errors"], body)
        self.assertEqual(self.s.get("/api/predictions?task__project=%d" % self.pid).json(), [])
        p = self.s.post("/api/predictions", {"task": self.tids[0], "result": []}).json()
        self.assertError(self.s.patch("/api/predictions/%d" % p["id"], {"task": 999999}), 400)
        self.assertError(self.s.patch("/api/predictions/999999", {"score": 1}), 404)
        self.assertError(self.s.delete("/api/predictions/999999"), 404)


if __name__ == "__main__":
    unittest.main()
