"""Driver of bench/ls-reimport/run.sh (standard library; the server through tests/api/llapi)."""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/api"))
import llapi  # noqa: E402

BIN, NTASKS, REPEAT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def export_of_label_studio(n):
    """A Label Studio 1.6 JSON export (spec 1.2 shape) of n tasks."""
    tasks = []
    for i in range(n):
        boxes = [{"original_width": 640, "original_height": 480, "image_rotation": 0,
                  "value": {"x": 10.123456789012345 + k + i % 50, "y": 20.5 + k,
                            "width": 15.094127681337586, "height": 43.737500205746926,
                            "rotation": 0, "rectanglelabels": ["face"]},
                  "id": "r%d" % k, "from_name": "label", "to_name": "image",
                  "type": "rectanglelabels", "origin": "manual"} for k in range(1 + i % 3)]
        tasks.append({
            "id": 1000 + i,
            "annotations": [{"id": 5000 + i, "completed_by": 1, "result": boxes,
                             "was_cancelled": False, "ground_truth": False,
                             "created_at": "2022-11-24T07:35:05.224656Z",
                             "updated_at": "2022-11-24T07:35:05.225195Z",
                             "lead_time": 19.118000000000002 + i, "prediction": {},
                             "result_count": 0, "task": 1000 + i, "parent_prediction": 9000 + i,
                             "parent_annotation": None}],
            "file_upload": "%08x-%06d.jpg" % (i * 2654435761 % 2**32, i), "drafts": [],
            "predictions": [8000 + i, 9000 + i],
            "data": {"image": "/data/upload/8/%08x-%06d.jpg" % (i * 2654435761 % 2**32, i)},
            "meta": {}, "created_at": "2022-11-23T10:14:41.560169Z",
            "updated_at": "2022-11-24T07:35:05.258797Z", "inner_id": i + 1,
            "total_annotations": 1, "cancelled_annotations": 0, "total_predictions": 2,
            "comment_count": 0, "unresolved_comment_count": 0, "last_comment_updated_at": None,
            "project": 8, "updated_by": 1, "comment_authors": []})
    return tasks


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    return (time.perf_counter() - t0) * 1000, r


def main():
    llapi.BIN = BIN
    s = llapi.Server()
    body = json.dumps(export_of_label_studio(NTASKS)).encode()
    times = {"import": [], "file": [], "reimport": []}
    try:
        cpu0 = cpu_ms(s.proc.pid)
        for _ in range(REPEAT):
            pid = s.create_project()
            ms, r = timed(lambda: s.request("POST", "/api/projects/%d/import" % pid, raw=body))
            assert r.status == 201 and r.json()["task_count"] == NTASKS, r
            times["import"].append(ms)
            pid2 = s.create_project()
            files, ctype = llapi.multipart([("file", "export.json", body)])
            ms, r = timed(lambda: s.request("POST", "/api/projects/%d/import" % pid2, raw=files,
                                            content_type=ctype))
            assert r.status == 201 and r.json()["task_count"] == NTASKS, r
            times["file"].append(ms)
            again = s.get("/api/projects/%d/export?exportType=JSON" % pid).body
            pid3 = s.create_project()
            ms, r = timed(lambda: s.request("POST", "/api/projects/%d/import" % pid3, raw=again))
            assert r.status == 201 and r.json()["annotation_count"] == NTASKS, r
            times["reimport"].append(ms)
        cpu = (cpu_ms(s.proc.pid) - cpu0) / (3 * REPEAT)
    finally:
        s.stop(check=False)
    med = {k: statistics.median(v) for k, v in times.items()}
    print("bench ls-reimport: tasks=%d import_ms=%.0f file_ms=%.0f reimport_ms=%.0f "
          "server_cpu_ms=%.0f" % (NTASKS, med["import"], med["file"], med["reimport"], cpu))


def cpu_ms(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
