"""Projects: create, read, list with pagination, update, delete, counters, config validation."""
import unittest

from llapi import CONFIG, ServerTest

PROJECT_KEYS = [
    "id", "title", "description", "label_config", "expert_instruction", "show_instruction",
    "show_skip_button", "enable_empty_annotation", "show_annotation_history", "organization",
    "color", "maximum_annotations", "is_published", "model_version", "is_draft", "created_by",
    "created_at", "min_annotations_to_start_training", "start_training_on_annotation_update",
    "show_collab_predictions", "num_tasks_with_annotations", "task_number",
    "useful_annotation_number", "ground_truth_number", "skipped_annotations_number",
    "total_annotations_number", "total_predictions_number", "sampling",
    "show_ground_truth_first", "show_overlap_first", "overlap_cohort_percentage",
    "task_data_login", "task_data_password", "control_weights", "parsed_label_config",
    "evaluate_predictions_automatically", "config_has_control_tags", "skip_queue",
    "reveal_preannotations_interactively"]


class ProjectTest(ServerTest):
    def test_create_defaults_and_shape(self):
        r = self.s.post("/api/projects/", {"title": "faces", "label_config": CONFIG})
        self.assertEqual(r.status, 201, r)
        p = r.json()
        keys = list(p.keys())
        self.assertEqual(keys[:len(PROJECT_KEYS)], PROJECT_KEYS)
        self.assertEqual(p["title"], "faces")
        self.assertEqual(p["maximum_annotations"], 1)
        self.assertEqual(p["sampling"], "Sequential sampling")
        self.assertEqual(p["skip_queue"], "REQUEUE_FOR_OTHERS")
        self.assertTrue(p["show_skip_button"])
        self.assertEqual(p["created_by"]["email"], "admin@example.com")
        self.assertTrue(p["created_at"].endswith("Z"))
        self.assertEqual(p["parsed_label_config"]["label"]["type"], "RectangleLabels")
        self.assertEqual(p["parsed_label_config"]["label"]["labels"], ["face"])
        self.assertEqual(p["control_weights"]["label"]["overall"], 1.0)
        self.assertIn('"overall":1.0', r.body.decode())  # Python float repr
        self.assertTrue(p["config_has_control_tags"])
        self.assertEqual(self.s.get("/api/projects/%d" % p["id"]).json(), p)
        empty = self.s.post("/api/projects", {}).json()
        self.assertEqual(empty["label_config"], "<View></View>")
        self.assertEqual(empty["title"], "")
        self.assertFalse(empty["config_has_control_tags"])

    def test_list_pagination(self):
        ids = [self.s.create_project(title="page %d" % i) for i in range(5)]
        total = self.s.get("/api/projects").json()["count"]
        r = self.s.get("/api/projects?page=1&page_size=2")
        j = r.json()
        self.assertEqual(j["count"], total)
        self.assertEqual(len(j["results"]), 2)
        self.assertEqual(j["results"][0]["id"], ids[-1])  # newest first
        self.assertIsNone(j["previous"])
        self.assertIn("page=2", j["next"])
        j2 = self.s.get("/api/projects?page=2&page_size=2").json()
        self.assertIn("page=1", j2["previous"])
        self.assertEqual(j2["results"][0]["id"], ids[-3])
        last = (total + 1) // 2
        self.assertIsNone(self.s.get("/api/projects?page=%d&page_size=2" % last).json()["next"])
        self.assertError(self.s.get("/api/projects?page=%d&page_size=2" % (last + 1)), 404,
                         "Invalid page.")
        self.assertError(self.s.get("/api/projects?page=0"), 400)

    def test_patch(self):
        pid = self.s.create_project()
        r = self.s.patch("/api/projects/%d/" % pid,
                         {"title": "renamed", "maximum_annotations": 2, "show_skip_button": False,
                          "sampling": "Uniform sampling", "task_data_login": None,
                          "start_training_on_annotation_update": True, "unknown_field": 1})
        self.assertEqual(r.status, 200, r)
        p = r.json()
        self.assertEqual(p["title"], "renamed")
        self.assertEqual(p["maximum_annotations"], 2)
        self.assertFalse(p["show_skip_button"])
        self.assertEqual(p["sampling"], "Uniform sampling")
        self.assertEqual(p["min_annotations_to_start_training"], 1)
        self.assertTrue(p["start_training_on_annotation_update"])
        self.assertEqual(self.s.get("/api/projects/%d" % pid).json()["title"], "renamed")

    def test_bad_fields(self):
        cases = [({"title": 5}, "title"), ({"title": "ab"}, "title"), ({"title": "x" * 51}, "title"),
                 ({"maximum_annotations": "two"}, "maximum_annotations"),
                 ({"maximum_annotations": 0}, "maximum_annotations"),
                 ({"show_skip_button": "yes"}, "show_skip_button"),
                 ({"sampling": "Random"}, "sampling"), ({"control_weights": []}, "control_weights"),
                 ({"label_config": ""}, "label_config"), ({"title": None}, "title")]
        before = self.s.get("/api/projects").json()["count"]
        for body, field in cases:
            j = self.assertError(self.s.post("/api/projects", body), 400, "Validation error")
            self.assertIn(field, j["validation_errors"], body)
        self.assertEqual(self.s.get("/api/projects").json()["count"], before)
        pid = self.s.create_project()
        self.assertError(self.s.patch("/api/projects/%d" % pid, {"title": 7}), 400)
        self.assertEqual(self.s.get("/api/projects/%d" % pid).json()["title"], "test project")

    def test_label_config_validation(self):
        bad = {
            "<View><Image name=\"image\" value=\"$image\"/>": "",  # not well-formed
            '<View><Image name="a" value="$a"/><Image name="a" value="$b"/></View>': "non-unique",
            ('<View><Image name="image" value="$image"/><RectangleLabels name="l" toName="img">'
             '<Label value="x"/></RectangleLabels></View>'): "toName=\"img\" not found",
        }
        for xml, msg in bad.items():
            j = self.assertError(self.s.post("/api/projects", {"label_config": xml}), 400)
            errors = j["validation_errors"]["label_config"]
            self.assertIn(msg, errors[0])
        self.assertEqual(self.s.post("/api/projects/validate", {"label_config": CONFIG},
                                     token=None).status, 204)
        self.assertError(self.s.post("/api/projects/validate/", {"label_config": "<View"}), 400)

    def test_config_change_against_data(self):
        pid = self.s.create_project()
        self.s.import_tasks(pid, [{"image": "http://x/1.jpg"}])
        other = CONFIG.replace("$image", "$picture")
        j = self.assertError(self.s.patch("/api/projects/%d" % pid, {"label_config": other}), 400)
        self.assertIn("picture", j["validation_errors"]["label_config"][0])
        self.assertEqual(self.s.get("/api/projects/%d" % pid).json()["label_config"], CONFIG)
        r = self.s.post("/api/projects/%d/validate" % pid, {"label_config": CONFIG})
        self.assertEqual(r.json(), {"config_essential_data_has_changed": False})
        more = CONFIG.replace('<Label value="face"/>', '<Label value="face"/><Label value="eye"/>')
        self.assertEqual(self.s.patch("/api/projects/%d" % pid, {"label_config": more}).status,
                         200)

    def test_counters(self):
        pid = self.s.create_project()
        ids = self.s.import_tasks(pid, [
            {"data": {"image": "1"}, "annotations": [{"result": []}],
             "predictions": [{"result": [], "score": 0.5}, {"result": []}]},
            {"data": {"image": "2"}, "annotations": [{"result": [], "was_cancelled": True}]},
            {"data": {"image": "3"}, "annotations": [{"result": [], "ground_truth": True}]},
            {"data": {"image": "4"}}])
        p = self.s.get("/api/projects/%d" % pid).json()
        self.assertEqual(p["task_number"], 4)
        self.assertEqual(p["total_annotations_number"], 2)
        self.assertEqual(p["skipped_annotations_number"], 1)
        self.assertEqual(p["ground_truth_number"], 1)
        self.assertEqual(p["useful_annotation_number"], 1)
        self.assertEqual(p["num_tasks_with_annotations"], 1)
        self.assertEqual(p["total_predictions_number"], 2)
        self.assertEqual(p["finished_task_number"], 2)
        self.assertEqual(len(ids), 4)

    def test_delete(self):
        pid = self.s.create_project()
        tid = self.s.import_tasks(pid, [{"image": "x"}])[0]
        self.assertEqual(self.s.delete("/api/projects/%d" % pid).status, 204)
        self.assertError(self.s.get("/api/projects/%d" % pid), 404, "Not found.")
        self.assertError(self.s.get("/api/tasks/%d" % tid), 404)
        self.assertError(self.s.delete("/api/projects/%d" % pid), 404)
        self.assertError(self.s.patch("/api/projects/987654", {"title": "abc"}), 404)


if __name__ == "__main__":
    unittest.main()
