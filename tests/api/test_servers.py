"""Two `labelloop serve` processes on one database (issue 21, "several servers"): on PostgreSQL
each with a data directory of its own and the same database, as on two machines; on SQLite both
on one data directory. Clients on both servers write while one server is killed (SIGKILL) and
restarted: every acknowledged write is there, read through either server, with exactly the
content sent, nothing half-written, and the project's counters match a recount. Sessions,
imports and exports, and the login throttle hold across the servers. (/next across servers:
test_next_locks.py.)"""
import http.client
import json
import random
import shutil
import tempfile
import threading
import time
import unittest

from llapi import ADMIN_EMAIL, ADMIN_PASSWORD, PG, Response, Server, drop_db

CLIENTS = 8
TASKS = 24
LOAD_S = 12.0  # of writing in all; server B is down for a moment in the middle


class Pair:
    """Servers a and b on one database; b can be killed and started again on its port."""

    def __init__(self):
        self.a = Server()
        self.b_dir = self.a.dir
        if PG:  # a machine of its own: its own data dir, a's database
            self.b_dir = tempfile.mkdtemp(prefix="llapi-b-")
        self.b = self.start_b(0)

    def start_b(self, port):
        b = Server(data_dir=self.b_dir, port=port, db_of=self.a.dir)
        b.token = self.a.token  # the admin's token, made by a's first start
        return b

    def kill_b(self):
        self.b.proc.kill()
        self.b.proc.wait()
        self.b.proc.stdout.close()
        self.b.log.close()

    def restart_b(self):
        self.b = self.start_b(self.b.port)

    def stop(self):
        try:
            self.b.stop()
        finally:
            self.a.stop()
            if self.b_dir != self.a.dir:
                shutil.rmtree(self.b_dir, ignore_errors=True)
                drop_db(self.b_dir)


def login(port, email, password, source="127.0.0.1"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        c.request("POST", "/api/auth/login", json.dumps({"email": email, "password": password}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return Response(r.status, r.getheaders(), r.read())
    finally:
        c.close()


def region(tag, seq):
    """A result whose every value says which write sent it."""
    return [{"id": "%s-%d" % (tag, seq), "from_name": "label", "to_name": "image",
             "type": "rectanglelabels", "original_width": 640, "original_height": 480,
             "value": {"x": float(seq % 80) + 0.5, "y": 12.25, "width": 10.0, "height": 7.5,
                       "rotation": 0, "rectanglelabels": ["face"]}}]


def same(result, sent):
    """The stored result is the one sent (keys the server adds are allowed, none changed)."""
    if not isinstance(result, list) or len(result) != len(sent):
        return False
    for got, want in zip(result, sent):
        for k, v in want.items():
            if got.get(k) != v:
                return False
    return True


class Client:
    """One annotator writing through one server: creates annotations and updates its own, and
    remembers what each write was answered."""

    def __init__(self, n, server_of, token, tasks):
        self.n, self.server_of, self.token, self.tasks = n, server_of, token, tasks
        self.rng = random.Random(n)
        self.seq = 0
        self.acked = {}      # annotation id -> result of its last acknowledged write
        self.maybe = {}      # annotation id -> results of unanswered writes since then
        self.lost_creates = []  # results of creates without an answer (may exist)
        self.refused = []    # results of writes answered with an error (must not exist)
        self.answered = self.unanswered = 0

    def write(self):
        s = self.server_of(self.n)
        self.seq += 1
        sent = region("c%d" % self.n, self.seq)
        update = self.acked and self.rng.random() < 0.5
        try:
            if update:
                aid = self.rng.choice(sorted(self.acked))
                r = s.patch("/api/annotations/%d" % aid, {"result": sent}, token=self.token)
            else:
                tid = self.rng.choice(self.tasks)
                r = s.post("/api/tasks/%d/annotations" % tid, {"result": sent}, token=self.token)
        except (OSError, http.client.HTTPException):
            self.unanswered += 1
            if update:
                self.maybe.setdefault(aid, []).append(sent)
            else:
                self.lost_creates.append(sent)
            time.sleep(0.05)  # the server is down: try again in a moment
            return
        if r.status in (200, 201):
            self.answered += 1
            aid = r.json()["id"] if not update else aid
            self.acked[aid] = sent
            self.maybe.pop(aid, None)
        else:
            self.refused.append((r.status, sent))

    def run(self, until):
        while time.time() < until:
            self.write()


class TwoServers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = Pair()

    @classmethod
    def tearDownClass(cls):
        cls.p.stop()

    def test_load_and_crash(self):
        p = self.p
        pid = p.a.create_project(title="two servers")
        tasks = p.a.import_tasks(pid, [{"image": "/img/%d.jpg" % i} for i in range(TASKS)])
        tokens = [p.a.user_token("w%d@example.com" % i, "password-w-%d" % i)
                  for i in range(CLIENTS)]
        clients = [Client(i, lambda n: p.a if n % 2 == 0 else p.b, tokens[i], tasks)
                   for i in range(CLIENTS)]
        t0 = time.time()
        end = t0 + LOAD_S
        threads = [threading.Thread(target=c.run, args=(end,)) for c in clients]
        for t in threads:
            t.start()
        time.sleep(LOAD_S * 0.4)
        p.kill_b()  # in the middle of its clients' writes
        killed = time.time()
        time.sleep(0.5)
        p.restart_b()
        down = time.time() - killed
        for t in threads:
            t.join()
        answered = sum(c.answered for c in clients)
        unanswered = sum(c.unanswered for c in clients)
        refused = [x for c in clients for x in c.refused]
        self.assertEqual(refused, [], "writes answered with an error")
        self.assertGreater(answered, 0)
        self.assertGreater(unanswered, 0, "the kill cut off no write: test the crash again")

        # every annotation, through each server
        checked = lost = 0
        for s in (p.a, p.b):
            stored = {}
            for tid in tasks:
                r = s.get("/api/tasks/%d/annotations" % tid)
                self.assertEqual(r.status, 200, r)
                for a in r.json():
                    self.assertEqual(a["task"], tid)
                    stored[a["id"]] = a["result"]
            for c in clients:
                for aid, sent in c.acked.items():
                    checked += 1
                    options = [sent] + c.maybe.get(aid, [])
                    if aid not in stored or not any(same(stored[aid], o) for o in options):
                        lost += 1
            # nothing else, and nothing half-written: every stored result is one a client sent
            known = {json.dumps(x, sort_keys=True) for c in clients
                     for x in list(c.acked.values()) + c.lost_creates
                     + [y for v in c.maybe.values() for y in v]}
            acked_ids = {aid for c in clients for aid in c.acked}
            for aid, result in stored.items():
                if aid in acked_ids:
                    continue
                self.assertTrue(any(same(result, json.loads(k)) for k in known),
                                "annotation %d holds what no client sent: %r" % (aid, result))
        print("two servers%s, %d clients, %.0f s: %d acknowledged writes, %d without an answer;"
              " the last acknowledged content of %d annotations checked through both servers"
              " (%d checks), %d lost; server b down %.1f s"
              % (" (PostgreSQL)" if PG else " (SQLite)", CLIENTS, LOAD_S, answered, unanswered,
                 checked // 2, checked, lost, down))
        self.assertEqual(lost, 0)

        # the counters the API reports match a recount
        for s in (p.a, p.b):
            proj = s.get("/api/projects/%d" % pid).json()
            listed = s.get("/api/tasks?project=%d&page_size=1000" % pid).json()
            per_task = {t["id"]: len(s.get("/api/tasks/%d/annotations" % t["id"]).json())
                        for t in listed["tasks"]}
            total = sum(per_task.values())
            self.assertEqual(proj["task_number"], TASKS)
            self.assertEqual(proj["total_annotations_number"], total)
            self.assertEqual(proj["num_tasks_with_annotations"],
                             sum(1 for v in per_task.values() if v))
            self.assertEqual(listed["total"], TASKS)
            self.assertEqual(listed["total_annotations"], total)
            for t in listed["tasks"]:
                self.assertEqual(t["total_annotations"], per_task[t["id"]], t)
                self.assertEqual(bool(t["is_labeled"]), per_task[t["id"]] > 0, t)

    def test_sessions(self):
        p = self.p
        r = login(p.a.port, ADMIN_EMAIL, ADMIN_PASSWORD)
        self.assertEqual(r.status, 200, r)
        cookie = r.header("Set-Cookie").split(";")[0]
        me = p.b.get("/api/current-user/whoami", token=None, headers={"Cookie": cookie})
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json()["email"], ADMIN_EMAIL)
        token = p.a.get("/api/current-user/token", token=None,
                        headers={"Cookie": cookie}).json()["token"]
        self.assertEqual(p.b.get("/api/projects", token=token).status, 200)
        r = p.a.post("/api/auth/logout", token=None,
                     headers={"Cookie": cookie, "Origin": "http://127.0.0.1:%d" % p.a.port,
                              "Host": "127.0.0.1:%d" % p.a.port})
        self.assertEqual(r.status, 204, r)
        r = p.b.get("/api/current-user/whoami", token=None, headers={"Cookie": cookie})
        self.assertEqual(r.status, 401, r)
        # a token reset on b ends the old token on a
        r = p.b.post("/api/current-user/reset-token", token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(p.a.get("/api/projects", token=token).status, 401)
        p.a.token = p.b.token = r.json()["token"]

    def test_import_and_export(self):
        p = self.p
        pid = p.a.create_project(title="import on a")
        ids = p.a.import_tasks(pid, [{"image": "/img/x%d.jpg" % i} for i in range(5)])
        listed = p.b.get("/api/tasks?project=%d" % pid).json()
        self.assertEqual(sorted(t["id"] for t in listed["tasks"]), sorted(ids))
        sent = region("export", 7)
        r = p.a.post("/api/tasks/%d/annotations" % ids[2], {"result": sent})
        self.assertEqual(r.status, 201, r)
        r = p.b.get("/api/projects/%d/export?exportType=JSON" % pid)
        self.assertEqual(r.status, 200, r)
        out = {t["id"]: t for t in r.json()}
        self.assertEqual(set(out), {ids[2]})  # only labeled tasks by default
        self.assertEqual(len(out[ids[2]]["annotations"]), 1)
        self.assertTrue(same(out[ids[2]]["annotations"][0]["result"], sent))

    def test_login_throttle(self):
        """Failures on server a throttle the same account on b: the count is the database's."""
        p = self.p
        email, password = "throttled@example.com", "password-throttled"
        self.assertEqual(p.a.post("/api/users", {"email": email, "password": password}).status,
                         201)
        statuses = [login((p.a if i % 2 else p.b).port, email, "wrong-%d" % i,
                          "127.0.4.%d" % i).status for i in range(1, 7)]
        self.assertEqual(statuses, [401] * 6)
        # the wait runs from the attempt: wait out the first (1 s), so that the seventh failure's
        # 2 s leave a slow password hash time before the checks below
        deadline = time.time() + 30
        while True:
            r = login(p.a.port, email, "wrong-7", "127.0.4.7")
            if r.status != 429 or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(r.status, 401, r)
        r = login(p.b.port, email, password, "127.0.4.9")  # even the right password waits
        self.assertEqual(r.status, 429, r)
        wait = int(r.header("Retry-After"))
        self.assertGreaterEqual(wait, 1)
        r = login(p.a.port, email, password, "127.0.4.9")
        self.assertEqual(r.status, 429, r)
        time.sleep(wait + 0.2)
        self.assertEqual(login(p.b.port, email, password, "127.0.4.9").status, 200)
        # and per address: ten free failures over any accounts and servers
        statuses = [login((p.a if i % 2 else p.b).port, "nobody%d@example.com" % i, "guess",
                          "127.0.5.1").status for i in range(12)]
        self.assertEqual(statuses[:10], [401] * 10)
        self.assertEqual(statuses[-1], 429)


if __name__ == "__main__":
    unittest.main()
