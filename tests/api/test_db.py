"""Where a command's database is: --db wins over LABELLOOP_DB, which wins over the data dir's
SQLite file; `serve` says where it is, and a URL's password is never printed (console or error).
Runs on SQLite (the database a file outside the data dir) and on PostgreSQL (LL_DB / LL_DB_FILE:
this test's own database)."""
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

import llapi
from llapi import BIN

BAD_URL = "postgresql://nobody:s3cret-pw@/nodb?host=/nonexistent&password=s3cret-pw"


def run(args, env):
    return subprocess.run([BIN] + args, capture_output=True, text=True, timeout=60, env=env)


class WhereTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="llapi-db-")
        self.env = dict(os.environ)
        self.env.pop("LABELLOOP_DB", None)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        llapi.drop_db(self.dir)

    def db(self):
        """This test's database: its PostgreSQL URL, or a SQLite file outside the data dir."""
        return llapi.db_url(self.dir) or os.path.join(self.dir, "elsewhere.sqlite3")

    def test_flag_env_and_default(self):
        self.env["LABELLOOP_DB"] = BAD_URL  # the flag wins: never tried
        out = run(["user", "create", "--data-dir", self.dir, "--db", self.db(), "--email",
                   "a@example.com", "--password", "password-1"], self.env)
        self.assertEqual(out.returncode, 0, out.stderr)
        token = out.stdout.split("token: ")[1].split()[0]
        self.env["LABELLOOP_DB"] = self.db()  # the environment alone finds the same database
        out = run(["user", "token", "--data-dir", self.dir, "--email", "A@Example.com"], self.env)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), token)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "labelloop.sqlite3")))
        del self.env["LABELLOOP_DB"]  # neither: the data dir's SQLite file, which has no user
        out = run(["user", "token", "--data-dir", self.dir, "--email", "a@example.com"], self.env)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("no labelloop data in " + self.dir, out.stderr)

    def test_password_never_printed(self):
        self.env["LABELLOOP_DB"] = BAD_URL
        out = run(["user", "token", "--data-dir", self.dir, "--email", "a@example.com"], self.env)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("postgresql://nobody:***@/nodb?host=/nonexistent&password=***: cannot "
                      "connect to PostgreSQL", out.stderr)
        self.assertNotIn("s3cret", out.stderr + out.stdout)

    def test_serve_says_where(self):
        db = self.db()
        if llapi.PG:  # PostgreSQL's trust authentication of the tests ignores a password
            parts = urllib.parse.urlsplit(db)
            db = urllib.parse.urlunsplit(parts._replace(
                netloc=parts.netloc.replace("@", ":s3cret-pw@")))
        self.env["LABELLOOP_DB"] = db
        proc = subprocess.Popen([BIN, "serve", "--data-dir", self.dir, "--port", "0",
                                 "--no-training", "--no-zoo", "--admin-email", "a@example.com",
                                 "--admin-password", "password-1"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env)
        try:
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if "serving on" in line:
                    break
            shown = db.replace("s3cret-pw", "***")
            self.assertIn("(data in %s, database %s)" % (self.dir, shown), lines[-1])
        finally:
            proc.terminate()
            rest, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err[-5000:])
        self.assertNotIn("s3cret", "".join(lines) + rest + err)


if __name__ == "__main__":
    unittest.main()
