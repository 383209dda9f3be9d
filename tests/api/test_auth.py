"""Authentication (API tokens, browser sessions), error shapes, request limits and routing."""
import time
import unittest

from llapi import ADMIN_EMAIL, ADMIN_PASSWORD, Server, ServerTest


class AuthTest(ServerTest):
    server_args = ("--max-body-mb", "1")

    def test_public_endpoints(self):
        for path in ("/health", "/api/health", "/health/", "/api/version", "/version"):
            r = self.s.get(path, token=None)
            self.assertEqual(r.status, 200, path)
        self.assertEqual(self.s.get("/health", token=None).json(), {"status": "UP"})
        self.assertIn("release", self.s.get("/api/version", token=None).json())

    def test_missing_and_wrong_token(self):
        r = self.s.get("/api/projects", token=None)
        self.assertError(r, 401, "Authentication credentials were not provided.")
        self.assertEqual(r.header("WWW-Authenticate"), "Token")
        self.assertError(self.s.get("/api/projects", token="0" * 40), 401, "Invalid token.")
        r = self.s.get("/api/projects", token=None, headers={"Authorization": "Bearer x"})
        self.assertError(r, 401)
        for path in ("/api/tasks?project=1", "/api/predictions", "/api/annotations/1",
                     "/api/current-user/whoami", "/data/upload/1/x.jpg"):
            self.assertError(self.s.get(path, token=None), 401)

    def test_whoami_and_token(self):
        me = self.s.get("/api/current-user/whoami").json()
        self.assertEqual(me["email"], ADMIN_EMAIL)
        self.assertEqual(self.s.get("/api/current-user/token").json()["token"], self.s.token)

    def test_reset_token(self):
        s = Server()
        try:
            old = s.token
            r = s.post("/api/current-user/reset-token/")
            self.assertEqual(r.status, 200, r)
            new = r.json()["token"]
            self.assertRegex(new, "^[0-9a-f]{40}$")
            self.assertNotEqual(new, old)
            self.assertError(s.get("/api/projects", token=old), 401)
            self.assertEqual(s.get("/api/projects", token=new).status, 200)
        finally:
            s.stop()

    def login(self, s, email=ADMIN_EMAIL, password=ADMIN_PASSWORD):
        return s.post("/api/auth/login", {"email": email, "password": password}, token=None)

    def test_session_login_logout(self):
        r = self.login(self.s, password="wrong-password")
        self.assertError(r, 401)
        self.assertError(self.s.post("/api/auth/login", {"email": ADMIN_EMAIL}, token=None), 400)
        r = self.login(self.s)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["email"], ADMIN_EMAIL)
        cookie = r.header("Set-Cookie")
        for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(attr, cookie)
        session = cookie.split(";")[0]
        self.assertTrue(session.startswith("sessionid="))
        h = {"Cookie": session}
        self.assertEqual(self.s.get("/api/projects", token=None, headers=h).status, 200)
        me = self.s.get("/api/current-user/whoami", token=None, headers=h).json()
        self.assertEqual(me["email"], ADMIN_EMAIL)
        r = self.s.post("/api/auth/logout", token=None, headers=h)
        self.assertEqual(r.status, 204)
        self.assertIn("Max-Age=0", r.header("Set-Cookie"))
        self.assertError(self.s.get("/api/projects", token=None, headers=h), 401)
        self.assertError(self.s.get("/api/projects", token=None,
                                    headers={"Cookie": "sessionid=abc"}), 401)

    def test_session_expiry(self):
        s = Server("--session-ttl-s", "1")
        try:
            session = self.login(s).header("Set-Cookie").split(";")[0]
            self.assertEqual(s.get("/api/projects", token=None,
                                   headers={"Cookie": session}).status, 200)
            time.sleep(1.3)
            r = s.get("/api/projects", token=None, headers={"Cookie": session})
            self.assertError(r, 401, "Session expired.")
        finally:
            s.stop()

    def test_unknown_routes_and_methods(self):
        self.assertError(self.s.get("/api/nothing-here"), 404)
        self.assertError(self.s.get("/api/projects/abc"), 404)
        self.assertError(self.s.get("/api/projects/0"), 404)
        self.assertError(self.s.get("/api/projects/99999999999999999999"), 404)
        self.assertError(self.s.request("PUT", "/api/projects"), 405)

    def test_malformed_json(self):
        r = self.s.post("/api/projects", raw=b'{"title": "x"')
        j = self.assertError(r, 400, "JSON parse error")
        self.assertIn("line 1", j["detail"])
        self.assertError(self.s.post("/api/projects", raw=b""), 400)
        self.assertError(self.s.post("/api/projects", raw=b"[1, 2]"), 400)
        self.assertError(self.s.post("/api/projects", raw=b"\xff\xfe"), 400)

    def test_body_limit(self):
        big = b'{"title": "' + b"x" * (2 << 20) + b'"}'
        self.assertError(self.s.post("/api/projects", raw=big), 413)
        self.assertEqual(self.s.get("/api/projects").status, 200)

    def test_bad_url(self):
        self.assertError(self.s.get("/api/projects%00"), 400)
        self.assertError(self.s.get("/api/projects?page=%zz"), 400)
        self.assertError(self.s.get("/api/projects?page=abc"), 400)


if __name__ == "__main__":
    unittest.main()
