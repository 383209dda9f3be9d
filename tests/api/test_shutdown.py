"""Clean shutdown: SIGTERM while a large import is in flight lets it finish or not happen at all
(never half), the process exits 0 (no leaks under the sanitizers), and the data is all there
after a restart."""
import shutil
import signal
import tempfile
import threading
import time
import unittest

from llapi import Server


class ShutdownTest(unittest.TestCase):
    def test_sigterm_during_import(self):
        data = tempfile.mkdtemp(prefix="llapi-shutdown-")
        try:
            s = Server(data_dir=data)
            pid = s.create_project()
            s.import_tasks(pid, [{"image": "first"}])
            result = {}

            def big_import():
                try:
                    result["r"] = s.post("/api/projects/%d/import" % pid,
                                         [{"image": str(i)} for i in range(20000)])
                except OSError as e:  # the connection may close before the answer is sent
                    result["error"] = e
            t = threading.Thread(target=big_import)
            t.start()
            time.sleep(0.3)
            s.proc.send_signal(signal.SIGTERM)
            t.join(timeout=120)
            out = s.stop()  # exit status 0 is checked there
            self.assertIn("stopped", out)
            s2 = Server(data_dir=data)
            try:
                total = s2.get("/api/tasks?project=%d" % pid).json()["total"]
                self.assertIn(total, (1, 20001))
                if "r" in result and result["r"].status == 201:
                    self.assertEqual(total, 20001)
                p = s2.get("/api/projects/%d" % pid).json()
                self.assertEqual(p["task_number"], total)
            finally:
                s2.stop()
        finally:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
