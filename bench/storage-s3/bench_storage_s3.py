"""The S3 storage benchmark (run.sh says what it measures)."""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "api"))
import llapi  # noqa: E402


def ms(f):
    t = time.perf_counter()
    r = f()
    return (time.perf_counter() - t) * 1000, r


def main():
    llapi.BIN = sys.argv[1]
    n = int(sys.argv[2])
    s3 = llapi.S3rver()
    s = llapi.Server()
    try:
        faces = llapi.face_images(16)
        s3.bucket("media")
        s3.put_many("media", [("img/%05d-%s" % (i, faces[i % 16][0]), faces[i % 16][1])
                              for i in range(n)])
        s3.put_many("media", [("tasks/%03d.json" % i,
                               json.dumps({"image": "s3://media/img/%05d-x.jpg" % i}).encode())
                              for i in range(200)])
        p = s.create_project()
        body = {"project": p, "bucket": "media", "prefix": "img", "use_blob_urls": True,
                "aws_access_key_id": llapi.S3RVER_KEY,
                "aws_secret_access_key": llapi.S3RVER_KEY, "s3_endpoint": s3.endpoint}
        r = s.post("/api/storages/s3", body)
        assert r.status == 201, r
        st = r.json()["id"]
        sync_ms, r = ms(lambda: s.post("/api/storages/s3/%d/sync" % st).json())
        assert r["last_sync_count"] == n, r
        resync_ms, r = ms(lambda: s.post("/api/storages/s3/%d/sync" % st).json())
        assert r["last_sync_count"] == 0, r
        p2 = s.create_project()
        js = s.post("/api/storages/s3", dict(body, project=p2, prefix="tasks",
                                             use_blob_urls=False)).json()["id"]
        json_ms, r = ms(lambda: s.post("/api/storages/s3/%d/sync" % js).json())
        assert r["last_sync_count"] == 200, r
        tasks = s.get("/api/tasks?project=%d&page_size=100" % p).json()["tasks"]
        urls = [t["data"]["image"] for t in tasks]
        pre = [ms(lambda u=u: s.get(u))[0] for u in urls]
        s.patch("/api/storages/s3/%d" % st, {"presign": False})
        first = [ms(lambda u=u: s.get(u))[0] for u in urls[:20]]
        cached = [ms(lambda u=u: s.get(u))[0] for u in urls[:20]]
        print("bench storage-s3: sync_objects=%d sync_s=%.2f resync_s=%.2f json_sync_objects=200"
              " json_sync_s=%.2f presign_p50_ms=%.2f stream_first_ms=%.1f"
              " stream_cached_p50_ms=%.2f" % (n, sync_ms / 1000, resync_ms / 1000, json_ms / 1000,
                                               statistics.median(pre), statistics.median(first),
                                               statistics.median(cached)))
    finally:
        s.stop(check=False)
        s3.stop()


if __name__ == "__main__":
    main()
