"""The classic Label Studio SDK (label-studio-sdk 0.0.16/0.0.17, late 2022, plus the few calls of
0.0.18+ that the issue names) replayed request by request with the standard library: each entry
of CALLS sends exactly what the SDK method sends (method, path, query parameters as `requests`
encodes them, body) and checks what the SDK then reads from the answer (it raises on a status
>= 400 and reads the JSON keys named here). No SDK can be installed here, so this file is the SDK
as far as the server can tell.

    python3 tests/api/sdk_classic.py [path/to/labelloop]   # prints which calls work, N of M

test_sdk_classic.py runs the same list against the server under test."""
import http.client
import json
import os
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llapi  # noqa: E402

# Label Studio Enterprise only: not counted (labelloop has one organization and no roles).
ENTERPRISE = ["get_members", "add_member", "assign_annotators", "delete_annotators_assignment",
              "delete_reviewers_assignment", "assign_reviewers", "assign_annotators_by_sampling",
              "assign_reviewers_by_sampling", "get_workspaces", "User.set_role"]

CHOICES = ('<View><Image name="image" value="$image"/>'
           '<RectangleLabels name="label" toName="image"><Label value="face"/></RectangleLabels>'
           '<Choices name="class" toName="image"><Choice value="Class A"/>'
           '<Choice value="Class B"/></Choices></View>')
BOX = {"from_name": "label", "to_name": "image", "type": "rectanglelabels",
       "value": {"x": 42.3718109130859, "y": 18.598973284412555, "width": 15.094127681337586,
                 "height": 43.737500205746926, "rotation": 0, "rectanglelabels": ["face"]}}
DATETIME = "%Y-%m-%dT%H:%M:%S.%fZ"


class SDKError(AssertionError):
    pass


class Session:
    """What the SDK's requests.Session does for us: token header, params, JSON, cookies."""
    def __init__(self, server, token):
        self.s = server
        self.token = token
        self.cookies = {}

    def request(self, method, url, params=None, json_body=None, data=None, files=None,
                headers=None, raise_for_status=True, follow=True):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = "Token " + self.token
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if params:
            pairs = [(k, v) for k, v in params.items() if v is not None]
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(pairs)
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            h["Content-Type"] = "application/json"
        elif files is not None:
            body, h["Content-Type"] = llapi.multipart(files)
        elif data is not None:
            body = urllib.parse.urlencode([(k, v) for k, v in data.items() if v is not None]).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=120)
        try:
            conn.request(method, url, body=body, headers=h)
            r = conn.getresponse()
            resp = llapi.Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()
        for v in resp.headers_all("Set-Cookie"):
            name, _, rest = v.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        if follow and resp.status in (301, 302, 303) and resp.header("Location"):
            return self.request("GET", resp.header("Location"), raise_for_status=raise_for_status)
        if raise_for_status and resp.status >= 400:
            raise SDKError("%s %s -> %d %s" % (method, url, resp.status, resp.body[:300]))
        return resp


def need(cond, what):
    if not cond:
        raise SDKError(what)


def task_list(ctx, project, **kw):
    """Project.get_paginated_tasks: one page of /api/tasks as the SDK asks for it."""
    query = {"filters": kw.get("filters"), "ordering": kw.get("ordering") or [],
             "selectedItems": ({"all": False, "included": kw["selected_ids"]}
                               if kw.get("selected_ids") else {"all": True, "excluded": []})}
    params = {"project": project, "page": kw.get("page", 1), "page_size": kw.get("page_size", -1),
              "view": kw.get("view_id"), "query": json.dumps(query), "fields": "all"}
    if kw.get("only_ids"):
        params["include"] = "id"
    data = ctx.http.request("GET", "/api/tasks", params=params).json()
    need(set(data) >= {"tasks", "total", "total_annotations", "total_predictions"}, "page keys")
    if kw.get("only_ids"):
        data["tasks"] = [t["id"] for t in data["tasks"]]
    return data


def all_tasks(ctx, project, **kw):
    """Project.get_tasks: pages of 100 until the server answers 404."""
    out, page = [], 1
    while True:
        try:
            data = task_list(ctx, project, page=page, page_size=100, **kw)
        except SDKError:
            break
        out += data["tasks"]
        page += 1
        need(page < 10000, "pagination never ended")
    return out


def filters(conjunction, items):
    return {"conjunction": conjunction, "items": items}


def item(name, operator, column_type, value):
    return {"filter": name, "operator": operator, "type": column_type, "value": value}


# ---- the calls -------------------------------------------------------------------------------

def c_client(ctx):
    v = ctx.http.request("GET", "/api/version").json()
    need(isinstance(v, dict) and "label-studio-enterprise-backend" not in v, "versions")


def c_client_credentials(ctx):
    anon = Session(ctx.s, None)
    anon.request("GET", "/user/login", raise_for_status=False)
    anon.request("POST", "/user/login", data={"email": llapi.ADMIN_EMAIL,
                                               "password": llapi.ADMIN_PASSWORD,
                                               "csrfmiddlewaretoken": anon.cookies.get("csrftoken")},
                 headers={"Referer": "http://127.0.0.1:%d" % ctx.s.port})
    token = anon.request("GET", "/api/current-user/token").json().get("token")
    need(token == ctx.s.token, "the token read with the session cookie")


def c_check_connection(ctx):
    need(ctx.http.request("GET", "/health").json() == {"status": "UP"}, "health")


def c_get_projects(ctx):
    r = ctx.http.request("GET", "/api/projects", params={"page_size": 10000000}).json()
    need(ctx.project in [p["id"] for p in r["results"]], "project listed")


def c_start_project(ctx):
    r = ctx.http.request("POST", "/api/projects", json_body={"title": "sdk start",
                                                             "label_config": CHOICES})
    need(r.status == 201 and r.json()["id"] > 0, "created")
    ctx.scratch.append(r.json()["id"])


def c_get_project(ctx):
    need(ctx.http.request("GET", "/api/projects/%d" % ctx.project).json()["id"] == ctx.project, "id")


def c_delete_project(ctx):
    pid = ctx.http.request("POST", "/api/projects", json_body={"title": "to delete"}).json()["id"]
    ctx.http.request("DELETE", "/api/projects/%d/" % pid)
    need(ctx.http.request("GET", "/api/projects/%d" % pid, raise_for_status=False).status == 404,
         "gone")


def c_delete_all_projects(ctx):
    # run on a server of its own would delete every project: check the calls it makes instead
    ids = [p["id"] for p in ctx.http.request("GET", "/api/projects",
                                             params={"page_size": 10000000}).json()["results"]]
    need(all(ctx.http.request("GET", "/api/projects/%d" % i).json()["id"] == i for i in ids),
         "get_params of each")
    for pid in list(ctx.scratch):
        ctx.http.request("DELETE", "/api/projects/%d/" % pid)
        ctx.scratch.remove(pid)


def c_get_users(ctx):
    users = ctx.http.request("GET", "/api/users").json()
    fields = {"id", "first_name", "last_name", "username", "email", "last_activity", "initials",
              "phone", "active_organization"}
    need(users and all(set(u) >= fields and isinstance(u["phone"], str) for u in users), "users")


def c_create_user(ctx):
    r = ctx.http.request("POST", "/api/users", json_body={
        "username": "ann", "email": "ann-%d@example.com" % ctx.serial(), "first_name": "Ann",
        "last_name": "Lee", "phone": ""}, raise_for_status=False)
    need(r.status < 400 and r.json()["first_name"] == "Ann", "created: %r" % r)


def c_get_params(ctx):
    p = ctx.http.request("GET", "/api/projects/%d" % ctx.project).json()
    need(p["label_config"] == CHOICES and "task_number" in p, "params")


def c_get_model_versions(ctx):
    v = ctx.http.request("GET", "/api/projects/%d/model-versions" % ctx.project).json()
    need(isinstance(v, dict) and v.get("sdk-v1", 0) >= 1, "model versions %r" % v)


def c_get_predictions_coverage(ctx):
    versions = ctx.http.request("GET", "/api/projects/%d/model-versions" % ctx.project).json()
    n = ctx.http.request("GET", "/api/projects/%d" % ctx.project).json()["task_number"]
    coverage = {k: count / n for k, count in versions.items()}
    need(0 < coverage["sdk-v1"] <= 1, "coverage")


def import_tasks(ctx, project, tasks=None, path=None, pre=None):
    params = {"return_task_ids": "1"}
    if pre:
        params["preannotated_from_fields"] = ",".join(pre)
    if path:
        with open(path, "rb") as f:
            files = [("file", os.path.basename(path), f.read())]
        r = ctx.http.request("POST", "/api/projects/%d/import" % project, params=params,
                             files=files)
    else:
        r = ctx.http.request("POST", "/api/projects/%d/import" % project, params=params,
                             json_body=tasks)
    return r.json()["task_ids"]


def c_import_tasks(ctx):
    ids = import_tasks(ctx, ctx.project, [{"image": "http://h/new.jpg"}])
    need(len(ids) == 1, "one id")


def c_import_tasks_preannotated(ctx):
    ids = import_tasks(ctx, ctx.project, [{"image": "http://h/p.jpg", "class": "Class B"}],
                       pre=["class"])
    t = ctx.http.request("GET", "/api/tasks/%d" % ids[0]).json()
    need(t["predictions"] and t["predictions"][0]["result"][0]["value"] == {"choices": ["Class B"]}
         and "class" not in t["data"], "prediction from the column")


def c_import_tasks_json_file(ctx):
    path = os.path.join(ctx.tmp, "tasks.json")
    with open(path, "w") as f:
        json.dump([{"data": {"image": "http://h/f1.jpg"}}, {"image": "http://h/f2.jpg"}], f)
    need(len(import_tasks(ctx, ctx.project, path=path)) == 2, "two ids")


def c_import_tasks_csv_file(ctx):
    path = os.path.join(ctx.tmp, "tasks.csv")
    with open(path, "w") as f:
        f.write("image,note\nhttp://h/c1.jpg,\"one, two\"\nhttp://h/c2.jpg,three\n")
    ids = import_tasks(ctx, ctx.project, path=path)
    t = ctx.http.request("GET", "/api/tasks/%d" % ids[0]).json()
    need(len(ids) == 2 and t["data"] == {"image": "http://h/c1.jpg", "note": "one, two"}, "csv")


def c_import_tasks_tsv_file(ctx):
    path = os.path.join(ctx.tmp, "tasks.tsv")
    with open(path, "w") as f:
        f.write("image\tnote\nhttp://h/t1.jpg\ta,b\n")
    need(len(import_tasks(ctx, ctx.project, path=path)) == 1, "tsv")


def c_import_label_studio_export(ctx):
    exported = ctx.http.request("GET", "/api/projects/%d/export" % ctx.project,
                                params={"exportType": "JSON"}).json()
    need(any(t["predictions"] for t in exported), "the export lists predictions as ids")
    pid = ctx.http.request("POST", "/api/projects", json_body={"title": "re-import",
                                                               "label_config": CHOICES}).json()["id"]
    ctx.scratch.append(pid)
    path = os.path.join(ctx.tmp, "export.json")
    with open(path, "w") as f:
        json.dump(exported, f)
    for _ in range(2):  # twice: the export's file_upload names must not collide
        need(len(import_tasks(ctx, pid, path=path)) == len(exported), "every task")


def export_tasks(ctx, export_type):
    return ctx.http.request("GET", "/api/projects/%d/export?exportType=%s"
                            % (ctx.project, export_type)).json()


def c_export_tasks(ctx):
    need(export_tasks(ctx, "JSON"), "tasks")


def c_export_tasks_json_min(ctx):
    need(isinstance(export_tasks(ctx, "JSON_MIN"), list), "records")


def set_params(ctx, **kw):
    r = ctx.http.request("PATCH", "/api/projects/%d" % ctx.project, json_body=kw)
    need(r.status == 200, "200")


def c_set_params(ctx):
    set_params(ctx, description="from the SDK")


def c_set_sampling(ctx):
    set_params(ctx, sampling="Uniform sampling")
    set_params(ctx, sampling="Sequential sampling")


def c_set_published(ctx):
    set_params(ctx, is_published=True)


def c_set_model_version(ctx):
    set_params(ctx, model_version="sdk-v1")


def c_get_tasks(ctx):
    need(len(all_tasks(ctx, ctx.project)) == ctx.ntasks(), "every task")


def c_get_paginated_tasks(ctx):
    data = task_list(ctx, ctx.project)  # page_size=-1, the SDK's default
    need(data["total"] == ctx.ntasks() and data["tasks"], "a page")


def c_get_tasks_filters(ctx):
    f = filters("or", [item("filter:tasks:id", "greater", "Number", ctx.tasks[-2]),
                       item("filter:tasks:id", "equal", "Number", ctx.tasks[0])])
    got = [t["id"] for t in all_tasks(ctx, ctx.project, filters=f)]
    need(got[:1] == [ctx.tasks[0]] and ctx.tasks[-1] in got and ctx.tasks[1] not in got, "or")


def c_get_tasks_filter_data(ctx):
    f = filters("and", [item("filter:tasks:data.image", "contains", "String", "/b.jpg")])
    got = [t["id"] for t in all_tasks(ctx, ctx.project, filters=f)]
    need(got == [ctx.tasks[1]], "data field: %r" % got)


def c_get_tasks_filter_datetime(ctx):
    import datetime
    f = filters("and", [item("filter:tasks:created_at", "in", "Datetime", {
        "min": datetime.datetime(2021, 11, 1).strftime(DATETIME),
        "max": datetime.datetime(2100, 1, 1).strftime(DATETIME)})])
    need(len(all_tasks(ctx, ctx.project, filters=f)) == ctx.ntasks(), "every task")


def c_get_tasks_ordering(ctx):
    got = [t["id"] for t in all_tasks(ctx, ctx.project,
                                      ordering=["-filter:tasks:total_annotations"])]
    need(got[0] == ctx.tasks[0], "the annotated task first: %r" % got[:3])


def c_get_tasks_selected(ctx):
    got = [t["id"] for t in all_tasks(ctx, ctx.project, selected_ids=ctx.tasks[:2])]
    need(got == ctx.tasks[:2], "selected")


def c_get_tasks_view(ctx):
    got = [t["id"] for t in all_tasks(ctx, ctx.project, view_id=ctx.view())]
    need(got == [ctx.tasks[0]], "the view's tasks: %r" % got)


def c_get_tasks_ids(ctx):
    need(all_tasks(ctx, ctx.project, only_ids=True)[:3] == ctx.tasks[:3], "ids")


def c_get_paginated_tasks_ids(ctx):
    need(task_list(ctx, ctx.project, only_ids=True)["tasks"][:3] == ctx.tasks[:3], "ids")


def c_tasks(ctx):
    need(len(all_tasks(ctx, ctx.project)) == ctx.ntasks(), "tasks")


def c_tasks_ids(ctx):
    need(len(all_tasks(ctx, ctx.project, only_ids=True)) == ctx.ntasks(), "ids")


def c_get_views(ctx):
    ctx.view()
    views = ctx.http.request("GET", "/api/dm/views?project=%d" % ctx.project).json()
    need(views and all(v["project"] == ctx.project and "data" in v for v in views), "views")


def c_create_view(ctx):
    f = filters("and", [item("filter:tasks:total_annotations", "greater", "Number", 0)])
    r = ctx.http.request("POST", "/api/dm/views", json_body={
        "project": ctx.project, "data": {"title": "Tasks", "ordering": None, "filters": f}}).json()
    need(r["id"] > 0 and r["data"]["filters"] == f, "view")


def labeled(ctx, empty, only_ids=False):
    f = filters("and", [item("filter:tasks:completed_at", "empty", "Datetime", empty)])
    return all_tasks(ctx, ctx.project, filters=f, only_ids=only_ids)


def c_get_labeled_tasks(ctx):
    need([t["id"] for t in labeled(ctx, False)] == [ctx.tasks[0]], "labeled")


def c_get_labeled_tasks_ids(ctx):
    need(labeled(ctx, False, True) == [ctx.tasks[0]], "labeled ids")


def c_get_unlabeled_tasks(ctx):
    need(len(labeled(ctx, True)) == ctx.ntasks() - 1, "unlabeled")


def c_get_unlabeled_tasks_ids(ctx):
    need(ctx.tasks[1] in labeled(ctx, True, True), "unlabeled ids")


def c_get_task(ctx):
    t = ctx.http.request("GET", "/api/tasks/%d" % ctx.tasks[0]).json()
    need(t["id"] == ctx.tasks[0] and "annotations" in t and "predictions" in t, "task")


def c_update_task(ctx):
    t = ctx.http.request("PATCH", "/api/tasks/%d" % ctx.tasks[2],
                         json_body={"meta": {"from": "sdk"}}).json()
    need(t["meta"] == {"from": "sdk"}, "updated")


def create_prediction(ctx, result, task=None):
    p = ctx.http.request("POST", "/api/predictions", json_body={
        "task": task or ctx.tasks[3], "result": result, "score": 0, "model_version": "sdk-v2"}).json()
    need(p["id"] > 0 and isinstance(p["result"], list) and p["result"], "prediction %r" % p)
    return p


def c_create_prediction(ctx):
    create_prediction(ctx, [dict(BOX, id="r1")])


def c_create_prediction_value(ctx):
    p = create_prediction(ctx, {"choices": ["Class A"]})
    need(p["result"][0]["from_name"] == "class" and p["result"][0]["type"] == "choices", "expanded")


def c_create_prediction_label(ctx):
    p = create_prediction(ctx, "Class B")
    need(p["result"][0]["value"] == {"choices": ["Class B"]}, "expanded")


def c_create_prediction_region(ctx):
    p = create_prediction(ctx, dict(BOX, id="r2"))
    need(p["result"][0]["value"] == BOX["value"], "one region")


def c_create_predictions(ctx):
    r = ctx.http.request("POST", "/api/projects/%d/import/predictions" % ctx.project, json_body=[
        {"task": ctx.tasks[4], "result": [dict(BOX, id="b1")], "score": 0.25,
         "model_version": "sdk-v1"},
        {"task": ctx.tasks[5], "result": "Class A", "model_version": "sdk-v1"}]).json()
    need(r == {"created": 2}, "created")


def c_create_annotations_from_predictions(ctx):
    r = ctx.http.request("POST", "/api/dm/actions", params={
        "id": "predictions_to_annotations", "project": ctx.project}, json_body={
        "filters": {"conjunction": "and", "items": []}, "model_version": ["sdk-v1"],
        "ordering": [], "project": ctx.project, "selectedItems": {"all": True, "excluded": []}})
    need(r.json()["detail"].startswith("Created "), "created")


def c_update_annotation(ctx):
    task = ctx.http.request("GET", "/api/tasks/%d" % ctx.tasks[0]).json()
    a = ctx.http.request("PATCH", "/api/annotations/%d" % task["annotations"][0]["id"],
                         json_body={"ground_truth": True}).json()
    need(a["ground_truth"] is True, "updated")


def c_create_annotation(ctx):
    a = ctx.http.request("POST", "/api/tasks/%d/annotations/" % ctx.tasks[6],
                         json_body={"result": [dict(BOX, id="a9")], "lead_time": 2.5}).json()
    need(a["id"] > 0, "annotation")


def c_delete_task(ctx):
    tid = import_tasks(ctx, ctx.project, [{"image": "http://h/gone.jpg"}])[0]
    ctx.http.request("DELETE", "/api/tasks/%d/" % tid)


def c_delete_tasks(ctx):
    ids = import_tasks(ctx, ctx.project, [{"image": "http://h/x1.jpg"}, {"image": "http://h/x2.jpg"}])
    ctx.http.request("POST", "/api/dm/actions?id=delete_tasks&project=%d" % ctx.project,
                     json_body={"selectedItems": {"all": False, "included": ids}})
    need(all(ctx.http.request("GET", "/api/tasks/%d" % i, raise_for_status=False).status == 404
             for i in ids), "deleted")


def c_delete_all_tasks(ctx):
    pid = ctx.http.request("POST", "/api/projects", json_body={"title": "emptied"}).json()["id"]
    ctx.scratch.append(pid)
    keep = import_tasks(ctx, pid, [{"image": "a"}, {"image": "b"}, {"image": "c"}])
    ctx.http.request("POST", "/api/dm/actions?id=delete_tasks&project=%d" % pid,
                     json_body={"selectedItems": {"all": True, "excluded": keep[:1]}})
    need(task_list(ctx, pid)["total"] == 1, "one kept")


def snapshot_create(ctx, **opts):
    payload = {"title": "sdk snapshot",
               "serialization_options": {"drafts": {"only_id": True}, "predictions": {"only_id": True},
                                         "annotations__completed_by": {"only_id": True},
                                         "interpolate_key_frames": False},
               "task_filter_options": opts,
               "annotation_filter_options": {"usual": True, "ground_truth": True, "skipped": True}}
    return ctx.http.request("POST", "/api/projects/%d/exports?interpolate_key_frames=False"
                            % ctx.project, json_body=payload).json()


def c_export_snapshot_create(ctx):
    s = snapshot_create(ctx)
    need(s["id"] > 0 and s["status"] in ("created", "in_progress", "completed"), "snapshot")


def c_export_snapshot_list(ctx):
    s = snapshot_create(ctx)
    need(s["id"] in [x["id"] for x in ctx.http.request(
        "GET", "/api/projects/%d/exports" % ctx.project).json()], "listed")


def c_export_snapshot_status(ctx):
    s = snapshot_create(ctx)
    st = ctx.http.request("GET", "/api/projects/%d/exports/%d" % (ctx.project, s["id"])).json()
    need(st["status"] == "completed", "completed")


def download(ctx, export_type):
    s = snapshot_create(ctx, view=ctx.view())
    r = ctx.http.request("GET", "/api/projects/%d/exports/%d/download?exportType=%s"
                         % (ctx.project, s["id"], export_type))
    need(r.status == 200 and r.header("filename"), "a file name")
    return r


def c_export_snapshot_download(ctx):
    tasks = download(ctx, "JSON").json()
    need([t["id"] for t in tasks] == [ctx.tasks[0]], "the view's task")


def c_export_snapshot_download_coco(ctx):
    need(download(ctx, "COCO").body[:2] == b"PK", "a zip")


def c_export_snapshot_delete(ctx):
    s = snapshot_create(ctx)
    ctx.http.request("DELETE", "/api/projects/%d/exports/%d" % (ctx.project, s["id"]))
    need(ctx.http.request("GET", "/api/projects/%d/exports/%d" % (ctx.project, s["id"]),
                          raise_for_status=False).status == 404, "gone")


def storage(kind, export=False):
    def call(ctx):
        path = "/api/storages/%s%s" % ("export/" if export else "", kind)
        body = {"bucket": "sdk-bucket", "project": ctx.project, "title": "", "description": ""}
        if kind == "s3":  # the SDK's payload, against the test's S3 server (ctx.s3)
            body.update({"prefix": None, "regex_filter": None, "use_blob_urls": True,
                         "aws_access_key_id": llapi.S3RVER_KEY,
                         "aws_secret_access_key": llapi.S3RVER_KEY, "aws_session_token": None,
                         "region_name": None, "s3_endpoint": ctx.s3 and ctx.s3.endpoint})
            if export:
                body = {k: v for k, v in body.items() if k not in ("regex_filter",
                                                                   "use_blob_urls")}
                body["can_delete_objects"] = False
            else:
                body.update({"presign": True, "presign_ttl": 1, "recursive_scan": False})
        j = ctx.http.request("POST", path, json_body=body).json()
        need(j["type"] == kind and j["bucket"] == "sdk-bucket", "the storage")
        need("aws_secret_access_key" not in j, "no secret in the answer")
        ctx.storages[kind + ("-export" if export else "")] = j["id"]
    return call


def c_sync_storage(ctx):
    j = ctx.http.request("POST", "/api/storages/s3/%d/sync" % ctx.storages["s3"]).json()
    need(j["status"] == "completed" and j["last_sync_count"] == 1, "one task synced")


CALLS = [
    ("Client(api_key)", c_client),
    ("Client(credentials)", c_client_credentials),
    ("check_connection", c_check_connection),
    ("get_projects / list_projects", c_get_projects),
    ("start_project / create_project", c_start_project),
    ("get_project", c_get_project),
    ("delete_project", c_delete_project),
    ("delete_all_projects", c_delete_all_projects),
    ("get_users", c_get_users),
    ("create_user", c_create_user),
    ("Project.get_params / update_params", c_get_params),
    ("get_model_versions", c_get_model_versions),
    ("get_predictions_coverage", c_get_predictions_coverage),
    ("import_tasks(list)", c_import_tasks),
    ("import_tasks(preannotated_from_fields)", c_import_tasks_preannotated),
    ("import_tasks(JSON file)", c_import_tasks_json_file),
    ("import_tasks(CSV file)", c_import_tasks_csv_file),
    ("import_tasks(TSV file)", c_import_tasks_tsv_file),
    ("import_tasks(Label Studio export, twice)", c_import_label_studio_export),
    ("export_tasks(JSON)", c_export_tasks),
    ("export_tasks(JSON_MIN)", c_export_tasks_json_min),
    ("set_params", c_set_params),
    ("set_sampling", c_set_sampling),
    ("set_published", c_set_published),
    ("set_model_version", c_set_model_version),
    ("get_tasks", c_get_tasks),
    ("get_paginated_tasks (page_size=-1)", c_get_paginated_tasks),
    ("get_tasks(filters: Column.id, or)", c_get_tasks_filters),
    ("get_tasks(filters: Column.data(...))", c_get_tasks_filter_data),
    ("get_tasks(filters: Datetime in)", c_get_tasks_filter_datetime),
    ("get_tasks(ordering)", c_get_tasks_ordering),
    ("get_tasks(selected_ids)", c_get_tasks_selected),
    ("get_tasks(view_id)", c_get_tasks_view),
    ("get_tasks_ids", c_get_tasks_ids),
    ("get_paginated_tasks_ids", c_get_paginated_tasks_ids),
    ("tasks", c_tasks),
    ("tasks_ids", c_tasks_ids),
    ("get_views", c_get_views),
    ("create_view", c_create_view),
    ("get_labeled_tasks", c_get_labeled_tasks),
    ("get_labeled_tasks_ids", c_get_labeled_tasks_ids),
    ("get_unlabeled_tasks", c_get_unlabeled_tasks),
    ("get_unlabeled_tasks_ids", c_get_unlabeled_tasks_ids),
    ("get_task", c_get_task),
    ("update_task", c_update_task),
    ("create_prediction(list)", c_create_prediction),
    ("create_prediction(value dict)", c_create_prediction_value),
    ("create_prediction(bare label)", c_create_prediction_label),
    ("create_prediction(one region)", c_create_prediction_region),
    ("create_predictions", c_create_predictions),
    ("create_annotations_from_predictions", c_create_annotations_from_predictions),
    ("update_annotation", c_update_annotation),
    ("create_annotation (0.0.18+)", c_create_annotation),
    ("delete_task (0.0.18+)", c_delete_task),
    ("delete_tasks (0.0.18+)", c_delete_tasks),
    ("delete_all_tasks (0.0.18+)", c_delete_all_tasks),
    ("export_snapshot_create", c_export_snapshot_create),
    ("export_snapshot_list", c_export_snapshot_list),
    ("export_snapshot_status", c_export_snapshot_status),
    ("export_snapshot_download(JSON)", c_export_snapshot_download),
    ("export_snapshot_download(COCO)", c_export_snapshot_download_coco),
    ("export_snapshot_delete (newer SDKs)", c_export_snapshot_delete),
    ("connect_google_import_storage", storage("gcs")),
    ("connect_google_export_storage", storage("gcs", True)),
    ("connect_s3_import_storage", storage("s3")),
    ("connect_s3_export_storage", storage("s3", True)),
    ("connect_azure_import_storage", storage("azure")),
    ("connect_azure_export_storage", storage("azure", True)),
    ("sync_storage", c_sync_storage),
]

# Cloud storages other than S3 (GCS, Azure) are not part of labelloop: these calls answer 404.
UNSUPPORTED = {"connect_google_import_storage", "connect_google_export_storage",
               "connect_azure_import_storage", "connect_azure_export_storage"}


class Context:
    """A project the calls work on: tasks 0-9 with images a.jpg..., task 0 annotated (labeled),
    tasks 0 and 1 predicted by "sdk-v1". Made with calls that every server version answers."""
    def __init__(self, server, s3=None):
        self.s = server
        self.s3 = s3  # an llapi.S3rver with a bucket "sdk-bucket" holding one object, or None
        self.storages = {}
        self.http = Session(server, server.token)
        self.tmp = tempfile.mkdtemp(prefix="llsdk-")
        self.scratch = []
        self._serial = 0
        self._view = None
        r = server.post("/api/projects", {"title": "sdk", "label_config": CHOICES})
        assert r.status == 201, r
        self.project = r.json()["id"]
        tasks = [{"data": {"image": "http://h/%s.jpg" % chr(97 + i)}} for i in range(10)]
        tasks[0]["annotations"] = [{"result": [dict(BOX, id="a0")], "lead_time": 19.118000000000002}]
        for i in (0, 1):
            tasks[i]["predictions"] = [{"result": [dict(BOX, id="p%d" % i)], "score": 0.5,
                                        "model_version": "sdk-v1"}]
        self.tasks = server.import_tasks(self.project, tasks)

    def serial(self):
        self._serial += 1
        return self._serial

    def ntasks(self):
        return self.s.get("/api/projects/%d" % self.project).json()["task_number"]

    def view(self):
        """A saved view holding the first task (made once, with the plain HTTP API)."""
        if self._view is None:
            f = filters("and", [item("filter:tasks:id", "equal", "Number", self.tasks[0])])
            r = self.s.post("/api/dm/views", {"project": self.project,
                                              "data": {"title": "labeled", "filters": f}})
            self._view = r.json()["id"] if r.status == 201 else 999999
        return self._view


def run_all(server, s3=None):
    """[(name, None or the failure)] for every call, in order."""
    ctx = Context(server, s3)
    out = []
    for name, fn in CALLS:
        try:
            fn(ctx)
            out.append((name, None))
        except Exception as e:  # a call that fails must not stop the others
            out.append((name, "%s: %s" % (type(e).__name__, str(e)[:400])))
    return out


def main():
    if len(sys.argv) > 1:
        llapi.BIN = sys.argv[1]
    server = llapi.Server()
    s3 = llapi.S3rver()
    try:
        s3.bucket("sdk-bucket")
        s3.put("sdk-bucket", "a.jpg", b"an image")
        results = run_all(server, s3)
    finally:
        server.stop(check=False)
        s3.stop()
    ok = [n for n, e in results if e is None]
    for name, e in results:
        print("%-4s %s%s" % ("ok" if e is None else "FAIL", name, "" if e is None else "  " + e))
    print("classic SDK calls that work: %d of %d (Enterprise-only calls not counted: %s)"
          % (len(ok), len(results), ", ".join(ENTERPRISE)))


if __name__ == "__main__":
    main()
