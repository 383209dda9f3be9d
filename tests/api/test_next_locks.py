"""Task locks on the labeling queue /next (Label Studio's TaskLock): annotators calling at once
get different tasks, on one server and on two servers sharing one database (on SQLite one data
directory; on PostgreSQL a data directory each, as on two machines)."""
import shutil
import tempfile
import threading
import unittest

from llapi import PG, Server, ServerTest

N = 8


def user_tokens(s, n, tag):
    """n annotators (email and password), each logged in for its API token."""
    return [s.user_token("%s%d@example.com" % (tag, i), "password-%s-%d" % (tag, i))
            for i in range(n)]


def next_at_once(calls):
    """calls: (server, project, token) each; all call /next together, returns the task ids."""
    got = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def one(i, s, pid, token):
        start.wait()
        r = s.get("/api/projects/%d/next" % pid, token=token)
        got[i] = r.json()["id"] if r.status == 200 else r.status

    threads = [threading.Thread(target=one, args=(i,) + c) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


class NextLocks(ServerTest):
    def test_concurrent_next_gets_different_tasks(self):
        pid = self.s.create_project()
        self.s.import_tasks(pid, [{"image": str(i)} for i in range(N + 2)])
        tokens = user_tokens(self.s, N, "c")
        got = next_at_once([(self.s, pid, t) for t in tokens])
        self.assertEqual(len(set(got)), N, got)
        # each annotator gets its locked task again; a skip releases it for the others
        again = [self.s.get("/api/projects/%d/next" % pid, token=t).json()["id"] for t in tokens]
        self.assertEqual(again, got)
        r = self.s.post("/api/tasks/%d/annotations?was_cancelled=1" % got[0], {"result": []},
                        token=tokens[0])
        self.assertEqual(r.status, 201, r)
        admin = [self.s.get("/api/projects/%d/next" % pid).json()["id"] for _ in range(2)]
        self.assertEqual(admin[0], admin[1])
        self.assertEqual(admin[0], got[0])  # the lowest id, free again after the skip
        self.assertNotEqual(self.s.get("/api/projects/%d/next" % pid,
                                       token=tokens[0]).json()["id"], got[0])

    def test_uniform_spreads_over_projects(self):
        seen = set()
        for _ in range(6):
            pid = self.s.create_project(sampling="Uniform sampling")
            self.s.import_tasks(pid, [{"image": str(i)} for i in range(3)])
            first = self.s.get("/api/projects/%d/tasks" % pid).json()[0]["id"]
            seen.add(self.s.get("/api/projects/%d/next" % pid).json()["id"] - first)
        self.assertTrue(len(seen) >= 2, seen)


class TwoServers(unittest.TestCase):
    def test_two_servers_one_data_dir(self):
        """On SQLite one data dir; on PostgreSQL each server has its own, as on two machines."""
        a = Server()
        b_dir = tempfile.mkdtemp(prefix="llapi-b-") if PG else a.dir
        try:
            b = Server(data_dir=b_dir, db_of=a.dir)
            try:
                pid = a.create_project()
                a.import_tasks(pid, [{"image": str(i)} for i in range(2 * N)])
                tokens = user_tokens(a, 2 * N, "t")
                got = next_at_once([(a if i % 2 else b, pid, t) for i, t in enumerate(tokens)])
                self.assertEqual(len(set(got)), 2 * N, got)
                self.assertEqual(a.get("/api/projects/%d/next" % pid, token=tokens[0]).status,
                                 200)
                r = a.get("/api/projects/%d/next" % pid)  # all 2N tasks are locked
                self.assertEqual(r.status, 404, r)
            finally:
                b.stop()
        finally:
            a.stop()
            if b_dir != a.dir:
                shutil.rmtree(b_dir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
