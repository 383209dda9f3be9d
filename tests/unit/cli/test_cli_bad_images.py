#!/usr/bin/env python3
"""One bad picture never stops a job: `labelloop train`, `predict` and `eval` on a YOLO data set
of raccoon photos with one cut in half (used for what decodes, with a warning) and one cut right
after its scan header (nothing decodes: skipped with a warning naming it), plus a file named
.jpg that is no picture at all (its header cannot be read: the data set reader leaves it out
with a warning instead of refusing the whole set). Each command goes on,
says how many images it skipped, and predict leaves the skipped one out of its output.
Usage: test_cli_bad_images.py PATH/TO/labelloop (LL_SHARED: the shared data sets)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BIN = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LL_BIN", "build/labelloop")
SHARED = os.environ.get("LL_SHARED", "../shared")
PHOTOS = os.path.join(SHARED, "datasets", "raccoon", "images")


def after_scan_header(jpeg):
    """The bytes of a JPEG up to a few bytes into its first scan's data."""
    sos = jpeg.index(b"\xff\xda")
    length = jpeg[sos + 2] << 8 | jpeg[sos + 3]
    return jpeg[:sos + 2 + length + 8]


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=240)
    return p.returncode, p.stdout, p.stderr


class BadImages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ll-cli-bad-images-")
        cls.data = os.path.join(cls.dir, "data")
        os.makedirs(os.path.join(cls.data, "images"))
        os.makedirs(os.path.join(cls.data, "labels"))
        with open(os.path.join(cls.data, "classes.txt"), "w") as f:
            f.write("raccoon\n")
        names = []
        for i in range(1, 5):
            names.append("raccoon-%d" % i)
            shutil.copy(os.path.join(PHOTOS, "raccoon-%d.jpg" % i), os.path.join(cls.data, "images"))
        with open(os.path.join(PHOTOS, "raccoon-5.jpg"), "rb") as f:
            whole = f.read()
        with open(os.path.join(cls.data, "images", "half.jpg"), "wb") as f:
            f.write(whole[:len(whole) // 2])
        with open(os.path.join(cls.data, "images", "cut.jpg"), "wb") as f:
            f.write(after_scan_header(whole))
        with open(os.path.join(cls.data, "images", "notes.jpg"), "wb") as f:
            f.write(b"meeting notes, not a picture\n")
        for name in names + ["half", "cut", "notes"]:
            with open(os.path.join(cls.data, "labels", name + ".txt"), "w") as f:
                f.write("0 0.5 0.5 0.4 0.4\n")
        cls.model = os.path.join(cls.dir, "model.safetensors")
        cls.train = run("train", "--data", cls.data, "--out", cls.model, "--arch", "fcos-t",
                        "--img-size", "64", "--epochs", "1", "--batch", "2", "--val-split", "0",
                        "--threads", "2")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_train_goes_on(self):
        rc, out, err = self.train
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"warn +skipping unreadable image \S*cut\.jpg: jpeg: truncated "
                              r"before the first row of pixels\n")
        self.assertRegex(err, r"warn +image \S*half\.jpg is truncated")
        self.assertRegex(err, r"warn +skipping image images/notes\.jpg: .*not a JPEG, PNG or WebP")
        self.assertIn("; skipped 2 images (see warnings above)\n", out)
        self.assertTrue(os.path.exists(self.model))

    def test_predict_leaves_it_out(self):
        out_path = os.path.join(self.dir, "pred.json")
        rc, _, err = run("predict", "--model", self.model, "--images",
                         os.path.join(self.data, "images"), "--out", out_path)
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"skipping unreadable image \S*cut\.jpg")
        self.assertRegex(err, r"skipping unreadable image \S*notes\.jpg: not a JPEG")
        self.assertIn("skipped 2 images (see warnings above), left out of the output\n", err)
        with open(out_path) as f:
            tasks = json.load(f)
        images = sorted(os.path.basename(t["data"]["image"]) for t in tasks)
        self.assertEqual(images, ["half.jpg", "raccoon-1.jpg", "raccoon-2.jpg", "raccoon-3.jpg",
                                  "raccoon-4.jpg"])

    def test_eval_counts_it(self):
        rc, out, err = run("eval", "--model", self.model, "--data", self.data, "--json")
        self.assertEqual(rc, 0, err)
        result = json.loads(out)
        self.assertEqual((result["images"], result["skipped"]), (5, 2))
        self.assertIn("eval: evaluated 5 images, skipped 2 images (see warnings above)\n", err)

    def test_nothing_readable_fails(self):
        only = os.path.join(self.dir, "only-bad")
        os.makedirs(os.path.join(only, "images"))
        os.makedirs(os.path.join(only, "labels"))
        shutil.copy(os.path.join(self.data, "classes.txt"), only)
        shutil.copy(os.path.join(self.data, "images", "cut.jpg"), os.path.join(only, "images"))
        rc, _, err = run("train", "--data", only, "--out", os.path.join(self.dir, "no.safetensors"),
                         "--arch", "fcos-t", "--img-size", "64", "--epochs", "1", "--val-split", "0")
        self.assertEqual(rc, 1)
        self.assertIn("train: no readable training images (1 skipped)", err)
        self.assertRegex(err, r"skipping unreadable image \S*cut\.jpg")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
