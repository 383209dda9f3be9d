"""POST /api/current-user/password: a user changes their own password (the old one is checked,
a wrong one counts as a failed login, a short new one is refused under its field), and the new
one logs in."""
import unittest

from llapi import ADMIN_EMAIL, ADMIN_PASSWORD, ServerTest


class PasswordTest(ServerTest):
    def login(self, email, password):
        return self.s.post("/api/auth/login", {"email": email, "password": password}, token=None)

    def test_change_own_password(self):
        r = self.s.post("/api/users", {"email": "ann@example.com", "password": "ann-password-1"})
        self.assertEqual(r.status, 201, r)
        session = self.login("ann@example.com", "ann-password-1").header("Set-Cookie").split(";")[0]
        h = {"Cookie": session, "Origin": "http://127.0.0.1:%d" % self.s.port}

        def change(body):
            return self.s.post("/api/current-user/password", body, token=None, headers=h)

        j = self.assertError(change({"old_password": "wrong-password", "new_password": "x" * 10}),
                             400)
        self.assertIn("old_password", j["validation_errors"])
        j = self.assertError(change({"old_password": "ann-password-1", "new_password": "short"}),
                             400)
        self.assertIn("at least 8", j["validation_errors"]["new_password"][0])
        self.assertError(change({"new_password": "ann-password-2"}), 400)
        r = change({"old_password": "ann-password-1", "new_password": "ann-password-2"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.login("ann@example.com", "ann-password-1").status, 401)
        self.assertEqual(self.login("ann@example.com", "ann-password-2").status, 200)
        # the administrator's password is untouched
        self.assertEqual(self.login(ADMIN_EMAIL, ADMIN_PASSWORD).status, 200)

    def test_needs_a_user(self):
        r = self.s.post("/api/current-user/password", {"old_password": "a", "new_password": "b"},
                        token=None)
        self.assertEqual(r.status, 401, r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
