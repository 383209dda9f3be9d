"""The classic Label Studio SDK's calls (sdk_classic.py replays each request as the SDK sends it
and checks what the SDK reads back): every call works, S3 storages against s3rver, except the
GCS and Azure storages, which labelloop does not have and answers with a 404 saying so."""
import unittest

import sdk_classic
from llapi import S3rver, ServerTest


class ClassicSDKTest(ServerTest):
    def test_every_call(self):
        s3 = S3rver()
        try:
            s3.bucket("sdk-bucket")
            s3.put("sdk-bucket", "a.jpg", b"an image")
            results = sdk_classic.run_all(self.s, s3)
        finally:
            s3.stop()
        failed = {name: e for name, e in results if e and name not in sdk_classic.UNSUPPORTED}
        self.assertEqual(failed, {})
        for name, e in results:
            if name in sdk_classic.UNSUPPORTED:
                self.assertIsNotNone(e, name)
                self.assertIn("labelloop has only S3 storages", e, name)
        self.assertEqual(len(results), len(sdk_classic.CALLS))


if __name__ == "__main__":
    unittest.main()
