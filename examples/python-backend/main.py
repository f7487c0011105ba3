#!/usr/bin/env python3
"""Sample backend that Backend Updater installs, starts, health-checks and replaces.

Standard library only. It serves JSON on 127.0.0.1 at the port in the PORT
environment variable and reports the version stored in the VERSION file next to
this script. Marker files next to this script make a deliberately broken
release: FAIL_HEALTH turns /health into 503, CRASH_ON_START exits with status 3.

Exit statuses: 0 after SIGTERM, SIGINT or end of stdin; 1 when the port cannot
be bound; 2 for a missing or invalid PORT or VERSION; 3 for CRASH_ON_START.
"""

import json
import os
import signal
import stat
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "python-backend"


def log(message):
    print(f"{NAME}: {message}", file=sys.stderr, flush=True)


def fail(status, message):
    log(message)
    sys.exit(status)


def read_port():
    raw = os.environ.get("PORT")
    if raw is None or raw.strip() == "":
        fail(2, "PORT environment variable is missing; set it to a TCP port from 1 to 65535")
    try:
        port = int(raw.strip(), 10)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        fail(2, f"PORT environment variable is invalid: {raw!r}; expected a TCP port from 1 to 65535")
    return port


def read_version():
    path = os.path.join(HERE, "VERSION")
    try:
        with open(path, encoding="utf-8") as handle:
            version = handle.readline().strip()
    except OSError as error:
        fail(2, f"cannot read VERSION file {path}: {error.strerror}; put the version on its first line")
    if version == "":
        fail(2, f"VERSION file {path} is empty; put the version on its first line")
    return version


def marker_exists(name):
    return os.path.exists(os.path.join(HERE, name))


def make_handler(version):
    class Handler(BaseHTTPRequestHandler):
        server_version = f"{NAME}/{version}"

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/health":
                # The marker is checked on every request so that a test can
                # turn a running backend unhealthy.
                if marker_exists("FAIL_HEALTH"):
                    self.send_json(503, {"status": "failing", "version": version})
                else:
                    self.send_json(200, {"status": "ok", "version": version})
            elif path == "/":
                self.send_json(200, {"name": NAME, "version": version, "pid": os.getpid()})
            else:
                self.send_json(404, {"error": "not found", "path": path})

        def send_json(self, status, payload):
            body = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            # The supervisor polls /health every 100 ms; one line per request
            # would bury the start and stop lines.
            pass

    return Handler


def stdin_is_pipe():
    """Return True when stdin is a pipe or socket that a parent process keeps open.

    Node.js passes a socket pair for stdio 'pipe'; a shell pipe is a FIFO. Other
    kinds (a terminal, /dev/null, a file) tell nothing about a parent.
    """
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def watch_stdin(stop_requested):
    """Request a stop when stdin reaches end of file, which means the parent died."""
    fd = sys.stdin.fileno()
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if chunk == b"":
            stop_requested("stdin closed")
            return


def main():
    port = read_port()
    version = read_version()
    if marker_exists("CRASH_ON_START"):
        fail(3, f"CRASH_ON_START marker found in {HERE}; exiting with status 3")

    try:
        server = ThreadingHTTPServer((HOST, port), make_handler(version))
    except OSError as error:
        fail(1, f"cannot listen on {HOST}:{port}: {error.strerror}")

    stop_event = threading.Event()
    stop_reason = []

    def stop_requested(reason):
        if not stop_reason:
            stop_reason.append(reason)
        stop_event.set()

    signal.signal(signal.SIGTERM, lambda signum, frame: stop_requested("SIGTERM"))
    signal.signal(signal.SIGINT, lambda signum, frame: stop_requested("SIGINT"))
    if stdin_is_pipe():
        threading.Thread(target=watch_stdin, args=(stop_requested,), daemon=True).start()

    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    log(f"version {version} listening on http://{HOST}:{port} (pid {os.getpid()})")

    # The main thread only waits, so signal handlers run promptly.
    while not stop_event.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    log(f"version {version} on port {port} stopped ({stop_reason[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
