"""Driver of bench/loop-cycle/run.sh (standard library; the server through tests/api/llapi)."""
import glob
import json
import os
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/api"))
import llapi  # noqa: E402

BIN, SIZES = sys.argv[1], [int(x) for x in sys.argv[2].split(",")]
RACCOON = os.path.join(llapi.SHARED, "datasets", "raccoon")
CONFIG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" '
          'toName="image"><Label value="raccoon"/></RectangleLabels></View>')
MANUAL = {"loop_min_labeled": 1000000, "loop_retrain_every": 0}  # jobs only when asked


def boxes(name):
    """The raccoon VOC boxes of an image as Label Studio regions."""
    root = ET.parse(os.path.join(RACCOON, "annotations", name.rsplit(".", 1)[0] + ".xml"))
    w = float(root.findtext("size/width"))
    h = float(root.findtext("size/height"))
    out = []
    for k, o in enumerate(root.iter("object")):
        b = o.find("bndbox")
        x0, y0, x1, y1 = (float(b.findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax"))
        out.append({"id": "r%d" % k, "type": "rectanglelabels", "from_name": "label",
                    "to_name": "image", "original_width": int(w), "original_height": int(h),
                    "value": {"x": x0 / w * 100, "y": y0 / h * 100, "width": (x1 - x0) / w * 100,
                              "height": (y1 - y0) / h * 100, "rotation": 0,
                              "rectanglelabels": ["raccoon"]}})
    return out


def upload_all(s):
    """Uploads every raccoon image once; returns [(upload url, regions)]."""
    p = s.create_project(label_config=CONFIG, loop_enabled=False)
    files = sorted(glob.glob(os.path.join(RACCOON, "images", "*.jpg")))
    for i in range(0, len(files), 50):
        body, ctype = llapi.multipart([("file", os.path.basename(f), open(f, "rb").read())
                                       for f in files[i:i + 50]])
        r = s.post("/api/projects/%d/import" % p, raw=body, content_type=ctype)
        assert r.status == 201, r
    tasks = s.get("/api/projects/%d/tasks?page_size=-1" % p).json()
    return [(t["data"]["image"], boxes(t["data"]["image"].rsplit("/", 1)[1].split("-", 1)[1]))
            for t in tasks]


def run_job(s, p, body):
    """Starts a training job and times its phases from the job row (polled)."""
    r = s.post("/api/projects/%d/model/train" % p, body)
    assert r.status == 201, r
    jid = r.json()["id"]
    phases, last, t0 = {}, None, time.time()
    while True:
        j = s.get("/api/projects/%d/model/jobs/%d" % (p, jid)).json()
        now = time.time()
        if last:
            phases[last] = phases.get(last, 0) + now - t_last
        last, t_last = j["phase"], now
        if j["state"] in ("done", "failed", "cancelled"):
            break
        time.sleep(0.25)
    assert j["state"] == "done", j
    return now - t0, phases, j


def measure(s, images, n):
    p = s.create_project(label_config=CONFIG, **MANUAL)
    tasks = [{"data": {"image": images[i % len(images)][0]},
              "annotations": [{"result": images[i % len(images)][1]}]} for i in range(n)]
    r = s.post("/api/projects/%d/import" % p, tasks)
    assert r.status == 201, r
    rows = []
    for kind in ("cold", "warm"):
        total, ph, j = run_job(s, p, {"from_scratch": kind == "cold"})
        v = s.get("/api/projects/%d/model" % p).json()["versions"][-1]
        rows.append((kind, total, ph, j, v))
        print("%6d %-4s total %6.1f s  load %5.1f  train %6.1f  eval %5.1f  predict %6.1f  "
              "epochs %3d  train/held-out %d/%d  AP50 %.3f" % (
                  n, kind, total, ph.get("loading", 0), ph.get("training", 0),
                  ph.get("evaluating", 0), ph.get("predicting", 0), v["epochs"],
                  v["train_images"], v["heldout_images"], v["metrics"]["ap50"]), flush=True)
    s.delete("/api/projects/%d" % p)
    return rows[1][1]


def main():
    llapi.BIN = BIN
    s = llapi.Server(training=True)
    try:
        images = upload_all(s)
        warm = {n: measure(s, images, n) for n in SIZES}
    finally:
        s.stop(check=False)
    print("bench loop-cycle: " + " ".join("s%d=%.1f" % (n, t) for n, t in warm.items()))


if __name__ == "__main__":
    main()
