"""Moving from Label Studio: its own JSON export imports (predictions listed as ids are skipped
and said so, the export's file_upload names never collide, annotations keep results, floats,
lead_time and completed_by mapped or null) on the API, in a multipart file, on /import/dataset
and with `labelloop import --format json`; an export re-imported twice gives the same export;
CSV/TSV/TXT task files; preannotated_from_fields; predictions in Label Studio's short forms,
POST /import/predictions and GET /model-versions."""
import copy
import json
import os
import subprocess
import tempfile
import unittest

from llapi import BIN, ServerTest, multipart

CONFIG = ('<View><Image name="image" value="$image"/>'
          '<RectangleLabels name="label" toName="image"><Label value="face"/></RectangleLabels>'
          '</View>')
CHOICES = ('<View><Image name="image" value="$image"/>'
           '<Choices name="class" toName="image"><Choice value="A"/><Choice value="B"/></Choices>'
           '<TextArea name="note" toName="image"/></View>')


def region(x, w, score=None):
    r = {"original_width": 500, "original_height": 281, "image_rotation": 0,
         "value": {"x": x, "y": 18.598973284412555, "width": w, "height": 43.737500205746926,
                   "rotation": 0, "rectanglelabels": ["face"]},
         "id": "0", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
         "origin": "prediction-changed"}
    if score is not None:
        r["score"] = score
    return r


def ls_export(n=3, annotator=1):
    """Tasks shaped as Label Studio 1.6 writes its JSON export (spec 1.2): annotations in full,
    predictions as ids, file_upload the stored file name of that instance."""
    tasks = []
    for i in range(n):
        tasks.append({
            "id": 17 + i,
            "annotations": [{
                "id": 22 + i, "completed_by": annotator,
                "result": [region(42.3718109130859 + i, 15.094127681337586, 83.13779830932617)],
                "was_cancelled": False, "ground_truth": False,
                "created_at": "2022-11-24T07:35:05.224656Z",
                "updated_at": "2022-11-24T07:35:05.225195Z", "lead_time": 19.118000000000002 + i,
                "prediction": {}, "result_count": 0, "task": 17 + i, "parent_prediction": 86 + i,
                "parent_annotation": None}],
            "file_upload": "50233092-00000%d.jpg" % i, "drafts": [], "predictions": [78 + i, 86 + i],
            "data": {"image": "/data/upload/8/50233092-00000%d.jpg" % i}, "meta": {},
            "created_at": "2022-11-23T10:14:41.560169Z", "updated_at": "2022-11-24T07:35:05.258797Z",
            "inner_id": 8 + i, "total_annotations": 1, "cancelled_annotations": 0,
            "total_predictions": 2, "comment_count": 0, "unresolved_comment_count": 0,
            "last_comment_updated_at": None, "project": 8, "updated_by": 1, "comment_authors": []})
    return tasks


# fields that differ from one import to the next by nature
VOLATILE_TASK = {"id", "created_at", "updated_at", "project", "inner_id", "predictions",
                 "file_upload", "updated_by"}
VOLATILE_ANN = {"id", "created_at", "updated_at", "task", "parent_prediction", "prediction"}


def comparable(export):
    out = []
    for t in export:
        t = {k: v for k, v in t.items() if k not in VOLATILE_TASK}
        t["annotations"] = [{k: v for k, v in a.items() if k not in VOLATILE_ANN}
                            for a in t["annotations"]]
        out.append(t)
    return out


class LabelStudioImportTest(ServerTest):
    def project(self, config=CONFIG):
        return self.s.create_project(label_config=config)

    def export(self, pid):
        r = self.s.get("/api/projects/%d/export?exportType=JSON&download_all_tasks=true" % pid)
        self.assertEqual(r.status, 200, r)
        return r

    def test_export_of_label_studio_imports_with_warnings(self):
        tasks = ls_export(3, annotator=1)
        tasks[2]["annotations"][0]["completed_by"] = 4242  # a user of the exporting instance
        for _ in range(2):  # the same export twice, into two projects: no file_upload clash
            pid = self.project()
            r = self.s.post("/api/projects/%d/import?return_task_ids=true" % pid, tasks)
            self.assertEqual(r.status, 201, r)
            j = r.json()
            self.assertEqual((j["task_count"], j["annotation_count"], j["prediction_count"]),
                             (3, 3, 0))
            self.assertEqual(len(j["warnings"]), 2, j["warnings"])
            self.assertIn("6 annotations or predictions were not objects", j["warnings"][0])
            self.assertIn("1 annotations name an annotator", j["warnings"][1])
            t = self.s.get("/api/tasks/%d" % j["task_ids"][0]).json()
            a = t["annotations"][0]
            self.assertEqual(a["result"], tasks[0]["annotations"][0]["result"])
            self.assertEqual((a["lead_time"], a["completed_by"]), (19.118000000000002, 1))
            self.assertEqual((t["file_upload"], t["data"]), (None, tasks[0]["data"]))
            last = self.s.get("/api/tasks/%d" % j["task_ids"][2]).json()["annotations"][0]
            self.assertIsNone(last["completed_by"])
        # the exact float text survives
        self.assertIn(b"42.3718109130859", self.export(pid).body)
        self.assertIn(b"19.118000000000002", self.export(pid).body)

    def test_completed_by_as_a_user_object(self):
        tasks = ls_export(2)
        tasks[0]["annotations"][0]["completed_by"] = {"id": 77, "email": "ADMIN@example.com"}
        tasks[1]["annotations"][0]["completed_by"] = {"id": 77, "email": "who@else.org"}
        pid = self.project()
        ids = self.s.import_tasks(pid, tasks)
        by = [self.s.get("/api/tasks/%d" % i).json()["annotations"][0]["completed_by"] for i in ids]
        self.assertEqual(by, [1, None])

    def test_multipart_and_dataset_and_cli(self):
        data = json.dumps(ls_export(2)).encode()
        body, ctype = multipart([("file", "export.json", data)])
        for path in ("/api/projects/%d/import", "/api/projects/%d/import/dataset?format=json"):
            pid = self.project()
            r = self.s.post(path % pid, raw=body, content_type=ctype)
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json()["task_count"], 2)
            self.assertIn("4 annotations or predictions", r.json()["warnings"][0])
            self.assertEqual(self.s.get("/api/projects/%d" % pid).json()["total_annotations_number"], 2)
        pid = self.project()
        with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as f:
            f.write(data)
        try:
            out = subprocess.run([BIN, "import", "--data-dir", self.s.dir, "--project", str(pid),
                                  "--format", "json", f.name], env=self.s.env, capture_output=True, text=True,
                                 timeout=120)
        finally:
            os.unlink(f.name)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("were skipped", out.stderr)
        j = self.s.get("/api/tasks/%d" % self.s.get("/api/tasks?project=%d" % pid).json()["tasks"][0]
                       ["id"]).json()
        self.assertEqual((j["annotations"][0]["lead_time"], j["annotations"][0]["completed_by"]),
                         (19.118000000000002, 1))

    def test_reimport_twice_gives_the_same_export(self):
        a = self.project()
        tasks = ls_export(4)
        tasks[1]["annotations"].append({"result": [], "was_cancelled": True, "lead_time": 1.25})
        tasks[2]["annotations"][0]["ground_truth"] = True
        tasks[3]["annotations"] = []
        tasks[3]["meta"] = {"source": "camera 2"}
        self.s.import_tasks(a, tasks)
        first = self.export(a).json()
        exports = []
        for _ in range(2):
            b = self.project()
            r = self.s.post("/api/projects/%d/import" % b, first)
            self.assertEqual(r.status, 201, r)
            exports.append(self.export(b).json())
        self.assertEqual(comparable(exports[0]), comparable(exports[1]))
        self.assertEqual(comparable(exports[0]), comparable(first))
        # and what matters survived from the original
        got = {t["data"]["image"]: t for t in exports[1]}
        for t in tasks:
            g = got[t["data"]["image"]]
            self.assertEqual([x["result"] for x in g["annotations"]],
                             [x["result"] for x in t["annotations"]])
            self.assertEqual([x["lead_time"] for x in g["annotations"]],
                             [x["lead_time"] for x in t["annotations"]])
            self.assertEqual(g["meta"], t["meta"])

    def test_csv_tsv_txt_files(self):
        pid = self.project()
        csv = b'image,n,score,note\r\n"http://h/a.jpg",1,0.5,"x, y"\r\nhttp://h/b.jpg,2,1,\r\n'
        tsv = b"image\tnote\nhttp://h/c.jpg\ta,b\n"
        txt = b"http://h/d.jpg\n\nhttp://h/e.jpg\n"
        body, ctype = multipart([("f1", "t.csv", csv), ("f2", "t.tsv", tsv), ("f3", "t.txt", txt)])
        r = self.s.post("/api/projects/%d/import?return_task_ids=true" % pid, raw=body,
                        content_type=ctype)
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(j["task_count"], 5)
        self.assertEqual(j["found_formats"], {".csv": 1, ".tsv": 1, ".txt": 1})
        data = [self.s.get("/api/tasks/%d" % i).json()["data"] for i in j["task_ids"]]
        self.assertEqual(data[0], {"image": "http://h/a.jpg", "n": 1, "score": 0.5, "note": "x, y"})
        self.assertEqual(data[1]["note"], "")
        self.assertEqual(data[2], {"image": "http://h/c.jpg", "note": "a,b"})
        self.assertEqual(data[4], {"image": "http://h/e.jpg"})
        body, ctype = multipart([("f", "bad.csv", b'image\n"open\n')])
        r = self.s.post("/api/projects/%d/import" % pid, raw=body, content_type=ctype)
        self.assertIn("bad.csv", self.assertError(r, 400)["validation_errors"]["file"][0])
        body, ctype = multipart([("f", "nokey.csv", b"other\nx\n")])
        self.assertError(self.s.post("/api/projects/%d/import" % pid, raw=body, content_type=ctype),
                         400)

    def test_preannotated_from_fields(self):
        pid = self.project(CHOICES)
        r = self.s.post("/api/projects/%d/import?return_task_ids=1&preannotated_from_fields=class"
                        % pid, [{"image": "http://h/a.jpg", "class": "B"},
                                {"data": {"image": "http://h/b.jpg", "class": {"choices": ["A"]}}}])
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["prediction_count"], 2)
        t = self.s.get("/api/tasks/%d" % r.json()["task_ids"][0]).json()
        self.assertEqual(t["data"], {"image": "http://h/a.jpg"})
        self.assertEqual(t["predictions"][0]["result"], [{"from_name": "class", "to_name": "image",
                                                          "type": "choices",
                                                          "value": {"choices": ["B"]}}])
        csv = b"image,class\nhttp://h/c.jpg,A\n"
        body, ctype = multipart([("file", "t.csv", csv)])
        r = self.s.post("/api/projects/%d/import?preannotated_from_fields=class" % pid, raw=body,
                        content_type=ctype)
        self.assertEqual(r.json()["prediction_count"], 1)
        r = self.s.post("/api/projects/%d/import?preannotated_from_fields=missing" % pid,
                        [{"image": "x"}])
        self.assertIn("preannotated_from_fields", self.assertError(r, 400)["validation_errors"])


class PredictionFormsTest(ServerTest):
    def setUp(self):
        self.pid = self.s.create_project(label_config=CHOICES)
        self.other = self.s.create_project(label_config=CHOICES)
        self.tids = self.s.import_tasks(self.pid, [{"image": "a"}, {"image": "b"}])
        self.foreign = self.s.import_tasks(self.other, [{"image": "c"}])[0]

    def create(self, result, status=201):
        r = self.s.post("/api/predictions", {"task": self.tids[0], "result": result})
        self.assertEqual(r.status, status, r)
        return r.json()

    def test_short_forms(self):
        full = [{"from_name": "class", "to_name": "image", "type": "choices",
                 "value": {"choices": ["A"]}}]
        self.assertEqual(self.create({"choices": ["A"]})["result"], full)
        self.assertEqual(self.create("A")["result"], full)
        self.assertEqual(self.create(full[0])["result"], full)
        self.assertEqual(self.create(full)["result"], full)
        self.assertEqual(self.create(json.dumps(full))["result"], full)
        self.assertEqual(self.create({"text": ["hello"]})["result"][0]["type"], "textarea")
        for bad in (5, {"nothing": 1}, [1], None):
            j = self.assertError(self.s.post("/api/predictions",
                                             {"task": self.tids[0], "result": bad}), 400)
            self.assertIn("result", j["validation_errors"])
        p = self.create(full)
        r = self.s.patch("/api/predictions/%d" % p["id"], {"result": "B"})
        self.assertEqual(r.json()["result"][0]["value"], {"choices": ["B"]})

    def test_import_predictions_and_model_versions(self):
        r = self.s.post("/api/projects/%d/import/predictions" % self.pid, [
            {"task": self.tids[0], "result": "A", "score": 0.9, "model_version": "m1"},
            {"task": self.tids[1], "result": [], "model_version": "m1"},
            {"task": self.tids[1], "result": {"choices": ["B"]}}])
        self.assertEqual((r.status, r.json()), (201, {"created": 3}), r)
        t = self.s.get("/api/tasks/%d" % self.tids[1]).json()
        self.assertEqual(t["total_predictions"], 2)
        self.assertEqual(sorted(p["model_version"] for p in t["predictions"]), ["m1", "undefined"])
        self.assertEqual(self.s.get("/api/projects/%d/model-versions" % self.pid).json(),
                         {"m1": 2, "undefined": 1})
        self.s.patch("/api/projects/%d" % self.pid, {"model_version": "m9"})
        self.assertEqual(self.s.get("/api/projects/%d/model-versions" % self.pid).json(),
                         {"m1": 2, "undefined": 1, "m9": 0})
        # a task of another project fails the whole import
        r = self.s.post("/api/projects/%d/import/predictions" % self.pid, [
            {"task": self.tids[0], "result": "A"}, {"task": self.foreign, "result": "A"}])
        self.assertIn("not a task of project", self.assertError(r, 400)["detail"])
        for bad in ({"task": self.tids[0]}, [{"result": "A"}], [{"task": self.tids[0],
                                                                  "result": "A", "score": "x"}]):
            self.assertError(self.s.post("/api/projects/%d/import/predictions" % self.pid, bad), 400)
        self.assertEqual(self.s.get("/api/projects/%d" % self.pid).json()["total_predictions_number"],
                         3)
        self.assertError(self.s.get("/api/projects/999999/model-versions"), 404)


if __name__ == "__main__":
    unittest.main()
