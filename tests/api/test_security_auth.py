"""Attacks on logins and browser sessions (issue 16, items 3 and 4): password guessing is
throttled per client address and per account, a flood of logins never starves other requests,
and a page of another origin cannot write with the user's session cookie, while scripts with
`Authorization: Token` are unaffected."""
import http.client
import json
import random
import threading
import time
import unittest

from llapi import ADMIN_EMAIL, ADMIN_PASSWORD, CONFIG, Response, ServerTest, multipart, \
    face_images


def login(port, email, password, source="127.0.0.1", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(source, 0))
    try:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request("POST", "/api/auth/login", json.dumps({"email": email, "password": password}),
                  headers=h)
        r = c.getresponse()
        return Response(r.status, r.getheaders(), r.read())
    finally:
        c.close()


class ThrottleTest(ServerTest):
    def test_account_backs_off(self):
        port = self.s.port
        statuses = [login(port, ADMIN_EMAIL, "wrong-%d" % i, "127.0.1.%d" % i).status
                    for i in range(1, 7)]
        self.assertEqual(statuses, [401] * 6)
        r = login(port, ADMIN_EMAIL, ADMIN_PASSWORD, "127.0.1.7")  # even the right password waits
        self.assertError(r, 429, "Too many failed login attempts")
        wait = int(r.header("Retry-After"))
        self.assertGreaterEqual(wait, 1)
        time.sleep(wait + 0.2)
        self.assertEqual(login(port, ADMIN_EMAIL, ADMIN_PASSWORD, "127.0.1.7").status, 200)

    def test_address_backs_off(self):
        statuses = [login(self.s.port, "nobody%d@example.com" % i, "guess-password",
                          "127.0.2.1").status for i in range(12)]
        self.assertEqual(statuses[:10], [401] * 10)
        self.assertEqual(statuses[-1], 429)
        # another address is not held up
        self.assertEqual(login(self.s.port, "other@example.com", "guess-password",
                               "127.0.2.2").status, 401)

    def test_login_flood_does_not_starve_requests(self):
        # guesses from ever new addresses and accounts get past the throttle: only the bounded
        # hashing pool stands between them and the other requests
        stop = threading.Event()

        def flood(i):
            rng = random.Random(i)
            while not stop.is_set():
                try:
                    login(self.s.port, "x%d@example.com" % rng.randrange(1 << 30), "guess",
                          "127.3.%d.%d" % (rng.randrange(256), rng.randrange(1, 255)))
                except OSError:
                    pass
        ts = [threading.Thread(target=flood, args=(i,)) for i in range(16)]
        for t in ts:
            t.start()
        time.sleep(1)
        took = []
        for _ in range(20):
            t0 = time.time()
            self.assertEqual(self.s.get("/api/projects").status, 200)
            took.append(time.time() - t0)
        stop.set()
        for t in ts:
            t.join()
        took.sort()
        self.assertLess(took[len(took) // 2], 0.5, "median GET under a login flood: %.2f s"
                        % took[len(took) // 2])


class ForgeryTest(ServerTest):
    def session(self):
        r = login(self.s.port, ADMIN_EMAIL, ADMIN_PASSWORD)
        self.assertEqual(r.status, 200, r)
        return r.header("Set-Cookie").split(";")[0]

    def write(self, cookie, origin=None, ctype="application/json", site=None, body=None):
        h = {"Cookie": cookie, "Host": "127.0.0.1:%d" % self.s.port}
        if origin:
            h["Origin"] = origin
        if site:
            h["Sec-Fetch-Site"] = site
        body = body or json.dumps({"title": "forged?", "label_config": CONFIG}).encode()
        return self.s.post("/api/projects", raw=body, token=None, headers=h, content_type=ctype)

    def test_cookie_writes_need_same_origin(self):
        cookie = self.session()
        me = "http://127.0.0.1:%d" % self.s.port
        self.assertError(self.write(cookie, "http://127.0.0.1:1"), 403, "CSRF")
        self.assertError(self.write(cookie, "null"), 403, "CSRF")
        self.assertError(self.write(cookie, me, ctype="text/plain"), 415)
        self.assertError(self.write(cookie, me, ctype="application/x-www-form-urlencoded"), 415)
        self.assertError(self.write(cookie), 403, "Origin")
        self.assertError(self.write(cookie, site="same-site"), 403, "CSRF")
        self.assertError(login(self.s.port, ADMIN_EMAIL, ADMIN_PASSWORD,
                               headers={"Origin": "http://127.0.0.1:1"}), 403)
        titles = [p["title"] for p in self.s.get("/api/projects").json()["results"]]
        self.assertNotIn("forged?", titles)
        self.assertEqual(self.write(cookie, me).status, 201)
        self.assertEqual(self.write(cookie, site="same-origin").status, 201)
        # the UI's multipart uploads with the cookie
        pid = self.s.create_project()
        body, ctype = multipart([("file", n, d) for n, d in face_images(1)])
        r = self.s.post("/api/projects/%d/import" % pid, raw=body, token=None, content_type=ctype,
                        headers={"Cookie": cookie, "Origin": me,
                                 "Host": "127.0.0.1:%d" % self.s.port})
        self.assertEqual(r.status, 201, r)

    def test_token_calls_are_unaffected(self):
        r = self.s.post("/api/projects", {"title": "scripted", "label_config": CONFIG},
                        headers={"Origin": "http://elsewhere.example"})
        self.assertEqual(r.status, 201, r)
        r = self.s.post("/api/projects", raw=json.dumps({"title": "plain text"}).encode(),
                        content_type="text/plain")
        self.assertEqual(r.status, 201, r)


if __name__ == "__main__":
    unittest.main()
