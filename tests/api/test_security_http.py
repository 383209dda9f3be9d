"""Attacks on the HTTP layer (issue 16, items 2 and 8): bodies without credentials are answered
before they are read and cost no memory, public routes take small bodies only, bodies held in
memory are capped, large uploads are spooled to disk, and one client address can neither hold
every connection nor keep half-open ones for long."""
import os
import socket
import threading
import time
import unittest

from llapi import Server, ServerTest, multipart, proc_kb

MIB = 1 << 20


def raw_post(port, path, length, source="127.0.0.1", headers=""):
    """Sends only the headers of a POST declaring `length` body bytes; returns the socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s"
               "Content-Length: %d\r\n\r\n" % (path, headers, length)).encode())
    return s


def first_line(s):
    try:
        return s.recv(4096).split(b"\r\n")[0].decode()
    except socket.timeout:
        return "timeout"


def closed_by_server(s, timeout):
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class EarlyAnswerTest(ServerTest):
    def test_401_before_the_body(self):
        # the token is checked from the headers: the answer comes though no body byte was sent
        s = raw_post(self.s.port, "/api/projects", 240 * MIB)
        self.assertEqual(first_line(s), "HTTP/1.1 401 Unauthorized")
        s.close()
        s = raw_post(self.s.port, "/api/projects/1/import", 240 * MIB,
                     headers="Authorization: Token %s\r\n" % ("0" * 40))
        self.assertEqual(first_line(s), "HTTP/1.1 401 Unauthorized")
        s.close()

    def test_unauthenticated_bodies_cost_no_memory(self):
        before = proc_kb(self.s.proc.pid, "VmHWM")

        def send(path):
            s = raw_post(self.s.port, path, 64 * MIB)
            chunk = b" " * MIB
            try:
                for _ in range(64):
                    s.sendall(chunk)
            except OSError:
                pass  # answered and closed early
            s.close()
        ts = [threading.Thread(target=send, args=("/api/projects",)) for _ in range(6)]
        ts += [threading.Thread(target=send, args=("/api/projects/validate",))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        grown = (proc_kb(self.s.proc.pid, "VmHWM") - before) / 1024
        self.assertLess(grown, 40, "peak RSS grew by %.0f MB for 7 x 64 MiB refused bodies" % grown)

    def test_public_route_takes_small_bodies(self):
        body = b'{"label_config": "<View/>", "pad": "' + b"x" * (2 * MIB) + b'"}'
        self.assertError(self.s.post("/api/projects/validate", raw=body, token=None), 413)
        self.assertError(self.s.post("/api/auth/login", raw=body, token=None), 413)

    def test_unauthenticated_bodies_in_memory_are_capped(self):
        # 16 MiB for all unauthenticated bodies at once: the 17th megabyte is refused at once
        socks = [raw_post(self.s.port, "/api/projects/validate", MIB, source="127.0.0.4")
                 for _ in range(16)]
        time.sleep(0.3)
        s = raw_post(self.s.port, "/api/projects/validate", MIB, source="127.0.0.4")
        self.assertEqual(first_line(s), "HTTP/1.1 503 Service Unavailable")
        for c in socks + [s]:
            c.close()

    def test_large_upload_is_spooled_to_disk(self):
        pid = self.s.create_project()
        body, ctype = multipart([("file", "big.jpg", b"\xff\xd8\xff" + b"\0" * (30 * MIB))])
        s = socket.create_connection(("127.0.0.1", self.s.port), timeout=30)
        s.sendall(("POST /api/projects/%d/import HTTP/1.1\r\nHost: x\r\nAuthorization: Token %s"
                   "\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                   % (pid, self.s.token, ctype, len(body))).encode())
        s.sendall(body[:10 * MIB])
        time.sleep(0.5)
        spool = os.path.join(self.s.dir, "tmp")
        fds = "/proc/%d/fd" % self.s.proc.pid
        links = []
        for fd in os.listdir(fds):
            try:
                links.append(os.readlink(os.path.join(fds, fd)))
            except OSError:
                pass
        self.assertTrue([l for l in links if l.startswith(spool)],
                        "no open file under %s while a 30 MiB upload arrives" % spool)
        s.sendall(body[10 * MIB:])
        self.assertEqual(first_line(s), "HTTP/1.1 400 Bad Request")  # not an image after all
        s.close()


class ConnectionLimitTest(unittest.TestCase):
    def test_per_address_cap_and_header_timeout(self):
        srv = Server("--max-conns-per-ip", "8", "--header-timeout-s", "2")
        try:
            idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=10,
                                             source_address=("127.0.0.2", 0)) for _ in range(8)]
            extra = socket.create_connection(("127.0.0.1", srv.port), timeout=10,
                                             source_address=("127.0.0.2", 0))
            self.assertTrue(closed_by_server(extra, 5), "a 9th connection from one address")
            self.assertEqual(srv.get("/health", token=None).status, 200)
            # half-open connections are closed once the header timeout has passed
            self.assertTrue(all(closed_by_server(c, 6) for c in idle))
            for c in idle + [extra]:
                c.close()
        finally:
            srv.stop()

    def test_half_open_flood_from_one_address(self):
        srv = Server()
        try:
            socks = []
            for _ in range(300):
                try:
                    socks.append(socket.create_connection(("127.0.0.1", srv.port), timeout=10,
                                                          source_address=("127.0.0.3", 0)))
                except OSError:
                    break
            time.sleep(0.5)
            kept = sum(not closed_by_server(c, 0.01) for c in socks)
            self.assertLessEqual(kept, 128, "half-open connections one address may hold")
            self.assertEqual(srv.get("/health", token=None).status, 200)
            for c in socks:
                c.close()
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
