"""Times `labelloop ml-backend` through Label Studio's protocol (see run.sh)."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../tests/api"))
os.environ["LL_BIN"] = sys.argv[1]
os.environ.setdefault("LL_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))

from llapi import CONFIG, face_images  # noqa: E402
from test_ml_backend import TOKEN, Backend, Media, export_task  # noqa: E402

UID = "1.1700000000"


def ms(t0):
    return (time.time() - t0) * 1000


def main():
    train_s = sys.argv[2]
    media = Media()
    names = [n for n, _ in face_images(16)]
    media.files = dict(face_images(16))
    b = Backend("--max-train-s", train_s, "--min-labeled", "1000", training=True)
    try:
        t0 = time.time()
        st, _ = b.post("/setup", {"project": UID, "schema": CONFIG, "hostname": media.url,
                                  "access_token": TOKEN})
        setup_ms = ms(t0)
        assert st == 200
        tasks = [export_task(i + 1, "/data/upload/1/" + n) for i, n in enumerate(names)]
        t0 = time.time()
        st, body = b.post("/train", {"annotations": tasks, "project": UID,
                                     "label_config": CONFIG})
        train_call_ms = ms(t0)
        assert st == 201, body
        while not b.post("/versions", {"project": UID})[1]["versions"]:
            time.sleep(0.5)
        train_total_s = time.time() - t0
        while b.get("/is_training?project=" + UID)[1]["is_training"]:
            time.sleep(0.5)  # the worker predicts its tasks after training: not while we time
        batch = [{"id": 100 + i, "data": {"image": media.url + "/plain/" + n}}
                 for i, n in enumerate(names)]
        req = {"tasks": batch, "project": UID, "label_config": CONFIG}
        t0 = time.time()
        st, out = b.post("/predict", req)
        cold = ms(t0)
        assert st == 200 and len(out["results"]) == 16 and "errors" not in out, out
        warm = []
        for _ in range(5):
            t0 = time.time()
            b.post("/predict", req)
            warm.append(ms(t0))
        one = []
        for t in batch:
            t0 = time.time()
            b.post("/predict", {"tasks": [t], "project": UID})
            one.append(ms(t0))
        fresh = [{"id": 200 + i, "data": {"image": media.url + "/plain/" + n + "?again"}}
                 for i, n in enumerate(names)]
        t0 = time.time()
        b.post("/predict", {"tasks": fresh, "project": UID})
        download = ms(t0)
        warm.sort()
        one.sort()
        print("bench ml-backend: setup_ms=%.1f train_call_ms=%.0f train_total_s=%.1f "
              "predict16_cold_ms=%.0f predict16_warm_ms=%.0f predict16_new_urls_ms=%.0f predict1_ms=%.1f per_task_ms=%.1f"
              % (setup_ms, train_call_ms, train_total_s, cold, warm[len(warm) // 2], download,
                 one[len(one) // 2], warm[len(warm) // 2] / 16))
    finally:
        b.stop()
        media.stop()


main()
