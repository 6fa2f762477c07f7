"""Fixtures for the data tests: the real shared data folder, and a local file server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rulegrad.data import find_shared_data


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ``shared/data`` folder with the real files; tests using it skip when it is absent."""
    found = find_shared_data()
    if found is None:
        pytest.skip("no shared/data/README.md above the cwd or the rulegrad package")
    return found


class FileServer:
    """A web server on 127.0.0.1 serving ``files`` (path -> bytes, or a list of HTTP status
    codes to answer before the bytes); ``requests`` lists the paths asked for."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.failures: dict[str, list[int]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                fails = server.failures.get(self.path)
                status = fails.pop(0) if fails else (200 if self.path in server.files else 404)
                body = server.files[self.path] if status == 200 else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def file_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    """A local server to download from (downloads are allowed for the test; no retry waits)."""
    monkeypatch.delenv("RULEGRAD_OFFLINE", raising=False)
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # pooch's wait between retries
    server = FileServer()
    thread = threading.Thread(target=server.httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
