#!/usr/bin/env python3
"""A throw-away PostgreSQL for the tests (issue 21): initdb in a temporary folder, its own free
port, the unix socket in that folder, no TCP; run as the unprivileged `postgres` user of Debian's
package when the tests run as root (initdb refuses root). Durability is off unless asked for
(fsync, synchronous_commit, full_page_writes): the data is thrown away.

    llpg.py start STATE [--durable]
                          starts one and writes its URL to STATE (a file) and its folder to
                          STATE.dir; --durable keeps PostgreSQL's defaults (fsync, synchronous
                          commit, full page writes) for benchmarks (bench/scale) that compare
                          it with SQLite, which syncs every commit
    llpg.py stop STATE    stops it and removes its folder and STATE (nothing when none runs)

ctest runs `start` as a fixture's setup and `stop` as its cleanup, which runs even when a test
failed. Python's standard library only, like the API harness."""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile


def bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]))
    if not found:
        sys.exit("llpg: no PostgreSQL server (Debian package `postgresql`; scripts/install.sh)")
    return os.path.dirname(found[-1])


def as_user(cmd):
    """cmd as `postgres` when we are root (runuser), else as ourselves."""
    if os.getuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(state, durable=False):
    stop(state)
    top = tempfile.mkdtemp(prefix="llpg-")
    if os.getuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(top, pw.pw_uid, pw.pw_gid)
    data, port, bins = os.path.join(top, "data"), free_port(), bindir()
    with open(state + ".dir", "w") as f:
        f.write(top)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
    subprocess.run(as_user([f"{bins}/initdb", "-D", data, "-A", "trust", "-U", "postgres",
                            "-E", "UTF8", "--no-sync", "--locale=C"]), check=True, **quiet)
    opts = f"-k {top} -p {port} -c listen_addresses='' -c max_connections=200"
    if not durable:
        opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(as_user([f"{bins}/pg_ctl", "-D", data, "-o", opts, "-l",
                            os.path.join(top, "log"), "-w", "-t", "60", "start"]),
                   check=True, **quiet)
    with open(state, "w") as f:
        f.write(f"postgresql://postgres@/postgres?host={top}&port={port}\n")


def stop(state):
    try:
        with open(state + ".dir") as f:
            top = f.read().strip()
    except FileNotFoundError:
        return
    data = os.path.join(top, "data")
    if os.path.exists(os.path.join(data, "postmaster.pid")):
        subprocess.run(as_user([f"{bindir()}/pg_ctl", "-D", data, "-m", "immediate", "-w",
                                "stop"]), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    shutil.rmtree(top, ignore_errors=True)
    for p in (state, state + ".dir"):
        if os.path.exists(p):
            os.remove(p)


if __name__ == "__main__":
    args = sys.argv[1:]
    durable = args[0:1] == ["start"] and "--durable" in args
    if durable:
        args.remove("--durable")
    if len(args) != 2 or args[0] not in ("start", "stop"):
        sys.exit("usage: llpg.py start STATE [--durable] | stop STATE")
    if args[0] == "start":
        start(os.path.abspath(args[1]), durable)
    else:
        stop(os.path.abspath(args[1]))
