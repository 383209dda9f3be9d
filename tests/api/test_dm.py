"""The Data Manager as Label Studio's SDK and UI use it: /api/tasks filters on every column the
SDK's Filters/Column helpers produce for image projects (completed_at, data.<field>, dates, text,
lists, regex), orderings, selectedItems, page_size=-1, saved views (/api/dm/views) and actions
(/api/dm/actions) on the selected tasks."""
import json
import unittest
import urllib.parse

from llapi import ServerTest, ADMIN_EMAIL

CONFIG = ('<View><Image name="image" value="$image"/>'
          '<RectangleLabels name="label" toName="image"><Label value="face"/></RectangleLabels>'
          '</View>')


def item(name, op, typ, value):
    return {"filter": "filter:tasks:" + name, "operator": op, "type": typ, "value": value}


def q(items=(), conjunction="and", ordering=None, selected=None):
    body = {"filters": {"conjunction": conjunction, "items": list(items)},
            "ordering": ordering or []}
    if selected is not None:
        body["selectedItems"] = selected
    return urllib.parse.quote(json.dumps(body))


BOX = [{"id": "b", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
        "value": {"x": 1, "y": 2, "width": 3, "height": 4, "rectanglelabels": ["face"]}}]


class DataManagerTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.s
        cls.pid = s.create_project(label_config=CONFIG)
        # 12 tasks: data.n = i, data.kind "cat"/"dog", tasks 0-3 annotated (lead time i + 0.5;
        # task 0's annotation is ground truth), tasks 4-5 predicted by "v1", task 6 by "v2",
        # task 7 skipped
        tasks = []
        for i in range(12):
            t = {"data": {"image": "http://h/img-%02d.jpg" % i, "n": i,
                          "kind": "cat" if i % 2 else "dog"}}
            if i < 4:
                t["annotations"] = [{"result": BOX, "lead_time": i + 0.5, "ground_truth": i == 0}]
            if i in (4, 5, 6):
                t["predictions"] = [{"result": BOX, "score": i / 10,
                                     "model_version": "v1" if i < 6 else "v2"}]
            tasks.append(t)
        cls.ids = s.import_tasks(cls.pid, tasks)
        r = s.post("/api/tasks/%d/annotations" % cls.ids[7], {"result": [], "was_cancelled": True})
        assert r.status == 201, r

    def ids_of(self, query, **extra):
        url = "/api/tasks?project=%d&page_size=100&include=id&query=%s" % (self.pid, query)
        for k, v in extra.items():
            url += "&%s=%s" % (k, v)
        r = self.s.get(url)
        self.assertEqual(r.status, 200, r)
        return [t["id"] for t in r.json()["tasks"]]

    def test_completed_at_as_the_sdk_asks(self):
        labeled = self.ids_of(q([item("completed_at", "empty", "Datetime", False)]))
        self.assertEqual(labeled, self.ids[:4])
        unlabeled = self.ids_of(q([item("completed_at", "empty", "Datetime", True)]))
        self.assertEqual(unlabeled, self.ids[4:])
        t = self.s.get("/api/tasks/%d" % self.ids[0]).json()
        self.assertIsNotNone(t["completed_at"])
        self.assertIsNone(self.s.get("/api/tasks/%d" % self.ids[7]).json()["completed_at"])
        # a range of times: every labeled task was completed between 2021 and 2100
        rng = {"min": "2021-11-01T00:00:00.000000Z", "max": "2100-01-01T00:00:00.000000Z"}
        self.assertEqual(self.ids_of(q([item("completed_at", "in", "Datetime", rng)])),
                         self.ids[:4])
        self.assertEqual(self.ids_of(q([item("created_at", "less", "Datetime",
                                             "2021-11-01T00:00:00.000000Z")])), [])
        self.assertEqual(self.ids_of(q([item("created_at", "greater", "Datetime",
                                             "2021-11-01T00:00:00.000000Z")])), self.ids)

    def test_data_fields(self):
        self.assertEqual(self.ids_of(q([item("data.n", "greater", "Number", 9)])), self.ids[10:])
        self.assertEqual(self.ids_of(q([item("data.n", "in", "Number", {"min": 2, "max": 3})])),
                         self.ids[2:4])
        self.assertEqual(self.ids_of(q([item("data.kind", "equal", "String", "cat")])),
                         self.ids[1::2])
        self.assertEqual(self.ids_of(q([item("data.kind", "not_equal", "String", "cat")])),
                         self.ids[0::2])
        self.assertEqual(self.ids_of(q([item("data.image", "contains", "Image", "IMG-1")])),
                         self.ids[10:])
        self.assertEqual(self.ids_of(q([item("data.image", "not_contains", "Image", "img-0")])),
                         self.ids[10:])
        self.assertEqual(self.ids_of(q([item("data.image", "regex", "Image", "img-0[13]\\.jpg$")])),
                         [self.ids[1], self.ids[3]])
        self.assertEqual(self.ids_of(q([item("data.n", "in_list", "Number", [1, 5])])),
                         [self.ids[1], self.ids[5]])
        self.assertEqual(self.ids_of(q([item("data.missing", "empty", "String", True)])),
                         self.ids)
        # ordering by a data field, NULLs (none here) last, ties by id
        self.assertEqual(self.ids_of(q(ordering=["-tasks:data.n"])), self.ids[::-1])

    def test_other_columns(self):
        self.assertEqual(self.ids_of(q([item("annotators", "contains", "List", 1)])),
                         self.ids[:4] + [self.ids[7]])
        self.assertEqual(self.ids_of(q([item("annotators", "empty", "List", True)])),
                         self.ids[4:7] + self.ids[8:])
        self.assertEqual(self.ids_of(q([item("predictions_model_versions", "contains", "List",
                                             ["v2"])])), [self.ids[6]])
        self.assertEqual(self.ids_of(q([item("ground_truth", "equal", "Boolean", True)])),
                         [self.ids[0]])
        self.assertEqual(self.ids_of(q([item("avg_lead_time", "greater", "Number", 2)])),
                         self.ids[2:4])
        self.assertEqual(self.ids_of(q([item("annotations_results", "contains", "String",
                                             "rectanglelabels")])), self.ids[:4])
        self.assertEqual(self.ids_of(q([item("predictions_results", "contains", "String", "face")])),
                         self.ids[4:7])
        self.assertEqual(self.ids_of(q([item("total_predictions", "empty", "Number", False)])),
                         self.ids[4:7])
        # the SDK's Column.cancelled_annotations has a space: "filter: tasks:cancelled_annotations"
        skipped = {"filter": "filter: tasks:cancelled_annotations", "operator": "greater",
                   "type": "Number", "value": 0}
        self.assertEqual(self.ids_of(q([skipped])), [self.ids[7]])
        self.assertEqual(self.ids_of(q([item("id", "not_in", "Number",
                                             {"min": self.ids[1], "max": self.ids[10]})])),
                         [self.ids[0], self.ids[11]])
        self.assertEqual(self.ids_of(q([item("file_upload", "empty", "String", True)])), self.ids)
        # a filter without a value (not filled in yet in the UI) is left out, as in Label Studio
        self.assertEqual(self.ids_of(q([item("id", "equal", "Number", None)])), self.ids)
        self.assertEqual(self.ids_of(q(ordering=["-tasks:avg_lead_time"]))[:4],
                         self.ids[3::-1])

    def test_selected_items(self):
        sel = {"all": False, "included": [self.ids[5], self.ids[2]]}
        self.assertEqual(self.ids_of(q(selected=sel)), [self.ids[2], self.ids[5]])
        sel = {"all": True, "excluded": self.ids[1:]}
        self.assertEqual(self.ids_of(q(selected=sel)), [self.ids[0]])
        sel = {"all": False, "included": []}
        self.assertEqual(self.ids_of(q(selected=sel)), [])
        # with filters: both apply
        sel = {"all": True, "excluded": [self.ids[0]]}
        self.assertEqual(self.ids_of(q([item("total_annotations", "greater", "Number", 0)],
                                       selected=sel)), self.ids[1:4])
        r = self.s.get("/api/tasks?project=%d&query=%s" % (self.pid, q(selected=[1])))
        self.assertIn("selectedItems", self.assertError(r, 400)["validation_errors"])

    def test_page_size_minus_one(self):
        r = self.s.get("/api/tasks?project=%d&page_size=-1&query=%s&fields=all"
                       % (self.pid, q(selected={"all": True, "excluded": []})))
        self.assertEqual((len(r.json()["tasks"]), r.json()["total"]), (12, 12))

    def test_bad_filters(self):
        bad = [item("agreement", "greater", "Number", 1), item("bogus", "equal", "Number", 1),
               item("annotators", "equal", "List", 1), item("data.n", "regex", "String", "(("),
               item("completed_at", "greater", "Datetime", 5), item("data.k\"x", "equal", "String", "a")]
        for it in bad:
            r = self.s.get("/api/tasks?project=%d&query=%s" % (self.pid, q([it])))
            j = self.assertError(r, 400)
            self.assertIn("query", j["validation_errors"], it)
        r = self.s.get("/api/tasks?project=%d&query=%s" % (self.pid, q([item("agreement", "greater",
                                                                             "Number", 1)])))
        self.assertIn("Enterprise", json.dumps(r.json()))

    def test_views(self):
        f = {"conjunction": "or", "items": [item("data.n", "less", "Number", 2),
                                            item("data.n", "greater", "Number", 10)]}
        r = self.s.post("/api/dm/views", {"project": self.pid,
                                          "data": {"title": "ends", "filters": f,
                                                   "ordering": ["-tasks:id"]}})
        self.assertEqual(r.status, 201, r)
        v = r.json()
        self.assertEqual(list(v.keys()), ["id", "data", "project", "user"])
        self.assertEqual((v["project"], v["data"]["filters"], v["data"]["title"]),
                         (self.pid, f, "ends"))
        self.assertEqual(self.s.get("/api/dm/views/%d" % v["id"]).json(), v)
        self.assertIn(v, self.s.get("/api/dm/views?project=%d" % self.pid).json())
        want = [self.ids[11], self.ids[1], self.ids[0]]
        got = [t["id"] for t in self.s.get("/api/tasks?view=%d&include=id" % v["id"]).json()["tasks"]]
        self.assertEqual(got, want)
        got = self.s.get("/api/tasks?project=%d&view=%d&include=id" % (self.pid, v["id"])).json()
        self.assertEqual([t["id"] for t in got["tasks"]], want)
        # PATCH replaces the data but keeps the filters and ordering it leaves out
        r = self.s.patch("/api/dm/views/%d" % v["id"], {"data": {"title": "renamed"}})
        self.assertEqual(r.json()["data"], {"title": "renamed", "filters": f,
                                            "ordering": ["-tasks:id"]})
        sel = {"all": False, "included": [self.ids[0]]}
        r = self.s.request("PUT", "/api/dm/views/%d" % v["id"],
                           {"data": {"title": "one", "selectedItems": sel, "filters": {
                               "conjunction": "and", "items": []}}})
        self.assertEqual(r.status, 200, r)
        got = self.s.get("/api/tasks?view=%d&include=id" % v["id"]).json()["tasks"]
        self.assertEqual(got, [{"id": self.ids[0]}])
        # bad views are refused when saved
        self.assertError(self.s.post("/api/dm/views", {"data": {}}), 400)
        self.assertError(self.s.post("/api/dm/views", {"project": 999999}), 400)
        self.assertError(self.s.post("/api/dm/views", {"project": self.pid, "data": {
            "filters": {"conjunction": "and", "items": [item("bogus", "equal", "Number", 1)]}}}), 400)
        other = self.s.create_project()
        self.assertError(self.s.get("/api/tasks?project=%d&view=%d" % (other, v["id"])), 400)
        self.assertEqual(self.s.delete("/api/dm/views/%d" % v["id"]).status, 204)
        self.assertError(self.s.get("/api/dm/views/%d" % v["id"]), 404)
        for _ in range(2):
            self.s.post("/api/dm/views", {"project": other, "data": {"title": "x"}})
        r = self.s.request("DELETE", "/api/dm/views/reset", {"project": other})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.s.get("/api/dm/views?project=%d" % other).json(), [])


class ActionsTest(ServerTest):
    def setUp(self):
        self.pid = self.s.create_project(label_config=CONFIG)
        tasks = [{"data": {"image": "http://h/%d.jpg" % i},
                  "annotations": [{"result": BOX}] if i < 2 else [],
                  "predictions": [{"result": BOX, "score": 0.5, "model_version": "m%d" % (i % 2)}]}
                 for i in range(6)]
        self.ids = self.s.import_tasks(self.pid, tasks)

    def act(self, action, body, status=200):
        r = self.s.post("/api/dm/actions?id=%s&project=%d" % (action, self.pid), body)
        self.assertEqual(r.status, status, r)
        return r.json()

    def task(self, i):
        return self.s.get("/api/tasks/%d" % self.ids[i]).json()

    def test_list(self):
        r = self.s.get("/api/dm/actions?project=%d" % self.pid).json()
        ids = [a["id"] for a in r]
        for want in ("retrieve_tasks_predictions", "predictions_to_annotations", "delete_tasks",
                     "delete_tasks_annotations", "delete_tasks_predictions"):
            self.assertIn(want, ids)
        self.assertTrue(all({"id", "title", "order", "dialog"} <= set(a) for a in r))
        self.assertError(self.s.get("/api/dm/actions"), 404)

    def test_delete_annotations_and_predictions(self):
        j = self.act("delete_tasks_annotations", {"selectedItems": {"all": False,
                                                                    "included": [self.ids[0]]}})
        self.assertEqual(j, {"processed_items": 1, "detail": "Deleted 1 annotations"})
        t = self.task(0)
        self.assertEqual((t["total_annotations"], t["is_labeled"], t["updated_by"]),
                         (0, False, [{"user_id": 1}]))
        self.assertEqual(self.task(1)["total_annotations"], 1)
        j = self.act("delete_tasks_predictions", {"selectedItems": {"all": True, "excluded": [
            self.ids[5]]}})
        self.assertEqual(j["processed_items"], 5)
        self.assertEqual((self.task(0)["total_predictions"], self.task(0)["predictions_score"]),
                         (0, None))
        self.assertEqual(self.task(5)["total_predictions"], 1)

    def test_predictions_to_annotations(self):
        j = self.act("predictions_to_annotations", {"selectedItems": {"all": True, "excluded": []},
                                                    "model_version": "m1"})
        self.assertEqual(j, {"detail": "Created 3 annotations"})
        t = self.task(3)
        self.assertEqual((t["total_annotations"], t["is_labeled"]), (1, True))
        a = t["annotations"][0]
        self.assertEqual((a["result"], a["completed_by"], a["parent_prediction"]),
                         (BOX, 1, t["predictions"][0]["id"]))
        # a prediction already made into an annotation is not made again; every version now
        j = self.act("predictions_to_annotations", {"selectedItems": {"all": True, "excluded": []},
                                                    "filters": {"conjunction": "and", "items": []}})
        self.assertEqual(j["detail"], "Created 3 annotations")
        self.assertEqual(self.task(0)["total_annotations"], 2)

    def test_delete_tasks_with_filters(self):
        f = {"conjunction": "and", "items": [item("total_annotations", "equal", "Number", 0)]}
        j = self.act("delete_tasks", {"filters": f, "selectedItems": {"all": True, "excluded": []}})
        self.assertEqual(j, {"processed_items": 4, "reload": False, "detail": "Deleted 4 tasks"})
        left = self.s.get("/api/tasks?project=%d&include=id" % self.pid).json()
        self.assertEqual(([t["id"] for t in left["tasks"]], left["total"]), (self.ids[:2], 2))
        self.assertEqual(self.s.get("/api/projects/%d" % self.pid).json()["task_number"], 2)
        j = self.act("delete_tasks", {"selectedItems": {"all": True, "excluded": []}})
        self.assertEqual((j["processed_items"], j["reload"]), (2, True))

    def test_view_selects(self):
        v = self.s.post("/api/dm/views", {"project": self.pid, "data": {"selectedItems": {
            "all": False, "included": [self.ids[4]]}}}).json()
        j = self.act("delete_tasks", {"view": v["id"]})
        self.assertEqual(j["processed_items"], 1)
        self.assertError(self.s.get("/api/tasks/%d" % self.ids[4]), 404)

    def test_bad_requests(self):
        r = self.s.post("/api/dm/actions?project=%d" % self.pid, {"selectedItems": {"all": True}})
        self.assertEqual(self.assertError(r, 422)["detail"], 'No action id "None", use ?id=<action-id>')
        self.assertError(self.s.post("/api/dm/actions?id=bogus&project=%d" % self.pid, {}), 400)
        self.assertError(self.s.post("/api/dm/actions?id=delete_tasks", {}), 404)
        # an empty body selects nothing: it never means "every task"
        j = self.assertError(self.s.post("/api/dm/actions?id=delete_tasks&project=%d" % self.pid,
                                         {}), 400)
        self.assertIn("selectedItems", j["validation_errors"])
        self.assertEqual(self.s.get("/api/projects/%d" % self.pid).json()["task_number"], 6)

    def test_retrieve_predictions_without_a_model(self):
        j = self.act("retrieve_tasks_predictions", {"selectedItems": {"all": True, "excluded": []}})
        self.assertEqual(j["processed_items"], 0)
        self.assertIn("no trained model", j["detail"])


if __name__ == "__main__":
    unittest.main()
