"""Export and data-set import through the API and the command line: every export format of a
labelled project (shapes of spec 5), download_all_tasks / download_resources, the formats list,
errors; COCO/YOLO/VOC data sets imported through /import/dataset and `labelloop import --format`,
with round trips compared box by box, all-or-nothing on bad input."""
import csv
import io
import json
import os
import re
import subprocess
import tempfile
import unittest
import zipfile

from llapi import BIN, CONFIG, FACES, SHARED, ServerTest, face_images, multipart, read_bytes

RACCOON = os.path.join(SHARED, "datasets", "raccoon")


def box(x, y, w, h, label="face"):
    return {"id": "r%d" % int(x), "type": "rectanglelabels", "from_name": "label",
            "to_name": "image", "original_width": 409, "original_height": 687,
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0,
                      "rectanglelabels": [label]}}


class ExportTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.s
        cls.pid = s.create_project(title="export")
        body, ctype = multipart([("file", n, d) for n, d in face_images(3)])
        r = s.post("/api/projects/%d/import?return_task_ids=true" % cls.pid, raw=body,
                   content_type=ctype)
        assert r.status == 201, r
        cls.tasks = r.json()["task_ids"]
        for t, boxes in zip(cls.tasks[:2], ([box(10, 20, 30, 40)], [box(5, 5, 50, 25)])):
            r = s.post("/api/tasks/%d/annotations" % t, {"result": boxes, "lead_time": 3.5})
            assert r.status == 201, r
        r = s.post("/api/predictions", {"task": cls.tasks[0], "model_version": "m1",
                                        "result": [box(1, 2, 3, 4)], "score": 0.5})
        assert r.status == 201, r
        cls.pred = r.json()["id"]

    def export(self, fmt, query=""):
        r = self.s.get("/api/projects/%d/export?exportType=%s%s" % (self.pid, fmt, query))
        self.assertEqual(r.status, 200, r)
        disp = r.header("Content-Disposition")
        self.assertRegex(disp, r'attachment; filename="project-%d-at-\d{4}-\d\d-\d\d-\d\d-\d\d-'
                               r'[0-9a-f]{8}\.(json|csv|zip)"' % self.pid)
        return r

    def test_json_and_all_tasks(self):
        r = self.export("JSON")
        self.assertEqual(r.header("Content-Type"), "application/.json")
        tasks = r.json()
        self.assertEqual([t["id"] for t in tasks], self.tasks[:2])
        self.assertEqual(list(tasks[0].keys())[:2], ["id", "annotations"])
        self.assertEqual(tasks[0]["annotations"][0]["result"][0]["value"]["x"], 10)
        self.assertEqual(tasks[0]["predictions"], [self.pred])
        self.assertEqual(len(self.export("JSON", "&download_all_tasks=true").json()), 3)
        self.assertEqual(len(self.s.get("/api/projects/%d/export" % self.pid).json()), 2)

    def test_json_min_csv_tsv(self):
        recs = self.export("JSON_MIN").json()
        self.assertEqual(list(recs[0].keys()), ["image", "id", "label", "annotator",
                                                "annotation_id", "created_at", "updated_at",
                                                "lead_time"])
        self.assertEqual(recs[0]["label"][0]["rectanglelabels"], ["face"])
        self.assertEqual(recs[0]["lead_time"], 3.5)
        text = self.export("CSV").body.decode()
        self.assertTrue(text.startswith("image,id,label,annotator,annotation_id,created_at,"
                                        "updated_at,lead_time\n"))
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual(len(rows), 3)
        self.assertEqual(json.loads(rows[1][2])[0]["width"], 30)
        tsv = self.export("TSV").body.decode()
        self.assertIn("\t", tsv.splitlines()[0])
        self.assertRegex(self.s.get("/api/projects/%d/export?exportType=TSV" % self.pid)
                         .header("Content-Disposition"), r'\.csv"$')

    def test_coco_yolo_voc_zips(self):
        z = zipfile.ZipFile(io.BytesIO(self.export("COCO").body))
        self.assertEqual(self.export("COCO").header("Content-Type"), "application/zip")
        coco = json.loads(z.read("result.json"))
        self.assertEqual(coco["categories"], [{"id": 0, "name": "face"}])
        self.assertEqual([i["id"] for i in coco["images"]], [0, 1])
        self.assertEqual((coco["images"][0]["width"], coco["images"][0]["height"]), (409, 687))
        name = coco["images"][0]["file_name"]
        self.assertRegex(name, r"^images/[0-9a-f]{8}-000001\.jpg$")
        self.assertEqual(z.read(name), read_bytes(os.path.join(FACES, "images", "000001.jpg")))
        a = coco["annotations"][0]
        self.assertEqual(a["bbox"], [40, 137, 122, 274])  # int(10% * 409) ...
        self.assertEqual(a["area"], 122 * 274)
        noimg = zipfile.ZipFile(io.BytesIO(self.export("COCO", "&download_resources=false").body))
        self.assertFalse([n for n in noimg.namelist() if n.endswith(".jpg")])
        y = zipfile.ZipFile(io.BytesIO(self.export("YOLO").body))
        self.assertEqual(y.read("classes.txt"), b"face\n")
        labels = [n for n in y.namelist() if n.startswith("labels/") and n.endswith(".txt")]
        self.assertEqual(len(labels), 2)
        self.assertIn(b"0 0.25 0.4 0.3 0.4\n", [y.read(n) for n in labels])
        self.assertEqual(json.loads(y.read("notes.json"))["categories"], coco["categories"])
        v = zipfile.ZipFile(io.BytesIO(self.export("VOC").body))
        xmls = sorted(n for n in v.namelist() if n.startswith("Annotations/"))
        self.assertEqual(len(xmls), 2)
        texts = [v.read(n).decode() for n in xmls]  # names start with a random prefix
        self.assertTrue([x for x in texts if "<filename>" in x and "<xmin>40</xmin>\n<ymin>137"
                         "</ymin>\n<xmax>162</xmax>\n<ymax>411</ymax>" in x], texts)

    def test_formats_and_errors(self):
        fmts = self.s.get("/api/projects/%d/export/formats" % self.pid).json()
        self.assertEqual([f["name"] for f in fmts],
                         ["JSON", "JSON_MIN", "CSV", "TSV", "COCO", "YOLO", "VOC"])
        self.assertFalse([f for f in fmts if f.get("disabled")])
        self.assertError(self.s.get("/api/projects/%d/export?exportType=XML" % self.pid), 400)
        self.assertError(self.s.get("/api/projects/999/export"), 404)
        other = self.s.create_project(label_config='<View><Image name="image" value="$image"/>'
                                      '<Choices name="c" toName="image"><Choice value="a"/>'
                                      '</Choices></View>')
        self.assertError(self.s.get("/api/projects/%d/export?exportType=YOLO" % other), 415)
        fmts = self.s.get("/api/projects/%d/export/formats" % other).json()
        self.assertEqual([f["name"] for f in fmts if f.get("disabled")], ["COCO", "YOLO", "VOC"])


def coco_boxes(coco):
    """file base name -> sorted list of (x, y, w, h) in pixels."""
    names = {i["id"]: re.sub(r"^.*?([^/]*)$", r"\1", i["file_name"]) for i in coco["images"]}
    out = {}
    for a in coco["annotations"]:
        name = re.sub(r"^[0-9a-f]{8}-", "", names[a["image_id"]])
        out.setdefault(name, []).append(tuple(a["bbox"]))
    return {k: sorted(v) for k, v in out.items()}


class DatasetImportTest(ServerTest):
    def upload(self, pid, fmt, files, query=""):
        body, ctype = multipart([("file", n, d) for n, d in files])
        return self.s.post("/api/projects/%d/import/dataset?format=%s%s" % (pid, fmt, query),
                           raw=body, content_type=ctype)

    def faces(self):
        return [(n, read_bytes(os.path.join(FACES, "images", n)))
                for n in sorted(os.listdir(os.path.join(FACES, "images")))]

    def test_coco_round_trip(self):
        pid = self.s.create_project()
        src = json.loads(read_bytes(os.path.join(FACES, "annotations", "train.json")))
        files = self.faces() + [("train.json", json.dumps(src).encode())]
        r = self.upload(pid, "coco", files)
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json()["task_count"], r.json()["annotation_count"]), (16, 16))
        z = zipfile.ZipFile(io.BytesIO(self.s.get(
            "/api/projects/%d/export?exportType=COCO" % pid).body))
        got = coco_boxes(json.loads(z.read("result.json")))
        want = coco_boxes(src)
        self.assertEqual(sorted(got), sorted(want))
        for name in want:
            for (a, b) in zip(got[name], want[name]):
                for u, v in zip(a, b):
                    self.assertLessEqual(abs(u - v), 1, (name, a, b))

    def test_yolo_as_predictions(self):
        pid = self.s.create_project()
        files = self.faces() + [("classes.txt", read_bytes(os.path.join(FACES, "classes.txt")))]
        files += [(n, read_bytes(os.path.join(FACES, "labels", n)))
                  for n in os.listdir(os.path.join(FACES, "labels"))]
        r = self.upload(pid, "yolo", files, "&as_predictions=true&model_version=yolo-v1")
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json()["task_count"], r.json()["prediction_count"]), (16, 16))
        preds = self.s.get("/api/predictions?project=%d" % pid).json()
        self.assertEqual({p["model_version"] for p in preds}, {"yolo-v1"})
        v = preds[0]["result"][0]
        self.assertEqual((v["type"], v["from_name"], v["to_name"]),
                         ("rectanglelabels", "label", "image"))

    def test_bad_input_imports_nothing(self):
        pid = self.s.create_project()
        img = self.faces()[:1]
        r = self.upload(pid, "voc", img + [("000001.xml", b'<!DOCTYPE a [<!ENTITY x "y">]>'
                                            b'<annotation><filename>000001.jpg</filename>'
                                            b'</annotation>')])
        self.assertError(r, 400, "000001.xml")
        voc = (b"<annotation><filename>000001.jpg</filename><object><name>cat</name><bndbox>"
               b"<xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>"
               b"</annotation>")
        self.assertError(self.upload(pid, "voc", img + [("000001.xml", voc)]), 400,
                         'unknown label "cat"')
        coco = {"images": [{"id": 1, "file_name": "missing.jpg"}], "categories": [],
                "annotations": []}
        j = self.assertError(self.upload(pid, "coco",
                                         img + [("a.json", json.dumps(coco).encode())]),
                             400, "missing.jpg")  # the upload lacks it: the client's mistake
        self.assertNotIn("tmp-import", j["detail"])  # no server paths in messages
        self.assertError(self.upload(pid, "coco", img + [("a.json", b'{"images": [')]), 400,
                         "line 1")
        self.assertEqual(self.s.get("/api/projects/%d" % pid).json()["task_number"], 0)
        self.assertError(self.upload(pid, "png", img), 400)

    def test_cli_import_and_export(self):
        config = CONFIG.replace("face", "raccoon")
        pid = self.s.create_project(label_config=config)
        out = subprocess.run([BIN, "import", "--data-dir", self.s.dir, "--project", str(pid),
                              "--format", "voc", RACCOON], env=self.s.env, capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("imported 200 tasks (200 annotations, 0 predictions)", out.stdout)
        with tempfile.TemporaryDirectory() as tmp:
            dest = os.path.join(tmp, "voc.zip")
            out = subprocess.run([BIN, "export", "--data-dir", self.s.dir, "--project", str(pid),
                                  "--format", "voc", "--no-images", "--out", dest],
                                 env=self.s.env, capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, out.stderr)
            z = zipfile.ZipFile(dest)
            xml = [z.read(n).decode() for n in z.namelist() if n.endswith("-raccoon-1.xml")][0]
            self.assertIn("<xmin>81</xmin>\n<ymin>88</ymin>\n<xmax>522</xmax>\n<ymax>408</ymax>",
                          xml)
            self.assertEqual(len([n for n in z.namelist() if n.startswith("Annotations/")]),
                             200)
        bad = subprocess.run([BIN, "import", "--data-dir", self.s.dir, "--project", str(pid),
                              "--format", "yolo", RACCOON], env=self.s.env, capture_output=True, text=True)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("classes.txt", bad.stderr)
        self.assertIn("nothing was imported", bad.stderr)


if __name__ == "__main__":
    unittest.main()
