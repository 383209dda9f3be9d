"""The embedded browser UI: index at /, client-side routes fall back to index.html, server
paths never do, caching headers."""
import unittest

from llapi import ServerTest


class StaticTest(ServerTest):
    def test_index_and_fallback(self):
        r = self.s.get("/", token=None)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/html"))
        self.assertEqual(r.header("Cache-Control"), "no-cache")
        self.assertIn(b"<html", r.body.lower())
        for path in ("/projects/3", "/projects/3/data?tab=1", "/login"):
            r2 = self.s.get(path, token=None)
            self.assertEqual((r2.status, r2.body), (200, r.body), path)
        self.assertEqual(self.s.request("HEAD", "/", token=None).status, 200)

    def test_server_paths_do_not_fall_back(self):
        self.assertError(self.s.get("/api/unknown"), 404)
        self.assertError(self.s.get("/data/unknown"), 404)
        self.assertError(self.s.get("/assets/missing-123.js", token=None), 404)
        self.assertError(self.s.post("/projects", {}, token=None), 404)


if __name__ == "__main__":
    unittest.main()
