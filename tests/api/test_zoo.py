"""Zero-shot pre-labels through the REST API of a real server with workers on: a project whose
label is a COCO class (by name, or through its loop_label_map) gets the zoo's CenterNet as its
first version and predictions on import; one whose label is `face` gets BlazeFace's face boxes,
one with both gets both from one version; a project with only other labels gets none; a bad
map is a 400. Portraits from seed-faces16 (one person, one face each)."""
import unittest

from llapi import Server, face_images, multipart
from test_loop import Loop, truth_region, wait_for

PERSON = ('<View><Image name="image" value="$image"/>'
          '<RectangleLabels name="label" toName="image"><Label value="Person"/>'
          '<Label value="raccoon"/></RectangleLabels></View>')
WALKER = PERSON.replace('"Person"', '"walker"')
OTHER = PERSON.replace('"Person"', '"hat"')
FACE = PERSON.replace('"Person"', '"face"').replace('"raccoon"', '"hat"')
BOTH = PERSON.replace('"raccoon"', '"Face"')


def zoo_boxes(lp, version):
    """The tasks' boxes of `version`, once every task has a prediction of it."""
    def ready():
        tasks = lp.list_tasks()
        preds = [[p for p in t["predictions"] if p["model_version"] == version] for t in tasks]
        return preds if all(preds) else None
    preds = wait_for("zoo predictions of every task", ready, timeout=400)
    return [r for p in preds for r in p[0]["result"]]


class Zoo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server(training=True, zoo=True)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def test_person_label_gets_zoo_predictions(self):
        lp = Loop(self.s, PERSON)
        m = wait_for("the zoo version", lambda: (lambda m: m if m["versions"] else None)(lp.model()))
        v = m["versions"][0]
        self.assertEqual(v["name"], "zoo:centernet-coco-v1")
        self.assertEqual(m["model_version"], v["name"])
        self.assertIn("Person (person)", v["reason"])
        boxes = zoo_boxes(lp, v["name"])
        labels = [b["value"]["rectanglelabels"][0] for b in boxes]
        self.assertTrue(labels and set(labels) == {"Person"}, labels)
        # each portrait has its person among the boxes: a large one
        big = [b for b in boxes if b["value"]["width"] * b["value"]["height"] > 20 * 20]
        self.assertGreaterEqual(len(big), len(lp.tasks) // 2)

    def test_trained_model_is_judged_against_the_zoo(self):
        lp = Loop(self.s, PERSON, loop_min_labeled=1000)
        zoo = wait_for("the zoo version", lambda: lp.model()["versions"])[0]
        for t in lp.tasks:
            r = truth_region(t)
            r["value"]["rectanglelabels"] = ["Person"]
            lp.annotate(t, [r])
        lp.wait_job(lp.train(max_train_s=4)["id"], timeout=600)  # after the zoo's predict jobs
        m = lp.model()
        fresh = [v for v in m["versions"] if v["id"] != zoo["id"]][0]
        self.assertEqual(fresh["parent"], zoo["id"])
        self.assertIsNotNone(fresh["current_metrics"])  # the zoo judged on the same tasks
        self.assertEqual(m["model_version"], fresh["name"] if fresh["promoted"] else zoo["name"])
        self.assertTrue(fresh["reason"])

    def test_label_map_names_the_class(self):
        lp = Loop(self.s, WALKER, copies=0)
        r = self.s.patch("/api/projects/%d" % lp.p, {"loop_label_map": "walker -> Pedestrian\n"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["loop_label_map"], "walker -> Pedestrian\n")
        body, ctype = multipart([("file", n, d) for n, d in face_images(2)])
        self.assertEqual(self.s.post("/api/projects/%d/import" % lp.p, raw=body,
                                     content_type=ctype).status, 201)
        lp.tasks = lp.list_tasks()
        v = wait_for("the zoo version", lambda: lp.model()["versions"])[0]
        labels = {b["value"]["rectanglelabels"][0] for b in zoo_boxes(lp, v["name"])}
        self.assertEqual(labels, {"walker"})

    def import_faces(self, config, n):
        lp = Loop(self.s, config, copies=0)
        body, ctype = multipart([("file", name, d) for name, d in face_images(n)])
        self.assertEqual(self.s.post("/api/projects/%d/import" % lp.p, raw=body,
                                     content_type=ctype).status, 201)
        lp.tasks = lp.list_tasks()
        return lp, wait_for("the zoo version", lambda: lp.model()["versions"])[0]

    def test_face_label_gets_face_boxes(self):
        lp, v = self.import_faces(FACE, 3)
        self.assertEqual(v["name"], "zoo:faceboxes-v1")
        self.assertIn("face (face)", v["reason"])
        boxes = zoo_boxes(lp, v["name"])
        self.assertEqual({b["value"]["rectanglelabels"][0] for b in boxes}, {"face"})
        # each portrait's face: a box centred in its true face box
        for t in lp.list_tasks():
            truth = truth_region(t)["value"]
            pred = [r["value"] for p in t["predictions"] for r in p["result"]]
            self.assertTrue(any(abs(b["x"] + b["width"] / 2 - truth["x"] - truth["width"] / 2)
                                < truth["width"] / 2 and
                                abs(b["y"] + b["height"] / 2 - truth["y"] - truth["height"] / 2)
                                < truth["height"] / 2 for b in pred), (truth, pred))

    def test_face_and_coco_labels_get_both(self):
        lp, v = self.import_faces(BOTH, 2)
        self.assertEqual(v["name"], "zoo:centernet-coco+faceboxes-v1")
        labels = {b["value"]["rectanglelabels"][0] for b in zoo_boxes(lp, v["name"])}
        self.assertEqual(labels, {"Person", "Face"})

    def test_other_labels_get_nothing(self):
        lp = Loop(self.s, OTHER)
        m = lp.model()
        self.assertEqual(m["versions"], [])
        self.assertFalse(any(t["predictions"] for t in lp.list_tasks()))

    def test_bad_map_is_rejected(self):
        p = self.s.create_project(label_config=PERSON)
        for bad in ("walker => person", "walker -> zebu"):
            r = self.s.patch("/api/projects/%d" % p, {"loop_label_map": bad})
            self.assertEqual(r.status, 400, r)
            self.assertIn("loop_label_map", r.json()["validation_errors"])


if __name__ == "__main__":
    unittest.main()
