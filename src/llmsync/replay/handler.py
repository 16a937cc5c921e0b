"""The wire: one thread per connection (HTTP/1.1 keep-alive), each request read,
handed to the `ReplayHub` and its `Reply` written back, with the fault plan's
resets and truncations applied on the way out."""

from __future__ import annotations

import contextlib
import socket
import struct
import uuid
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from llmsync.replay.faults import FaultRule
from llmsync.replay.replies import Reply

SMALL_BLOB = 256 * 1024


@dataclass(frozen=True)
class RequestRecord:
    listener: str  # "hub" | "cdn"
    method: str
    path: str
    host: str
    authorized: bool


class Responder(Protocol):
    """What the wire hands each request to (the `ReplayHub`)."""

    def respond(
        self,
        listener: str,
        method: str,
        raw_path: str,
        *,
        query: str,
        body: bytes,
        headers: Message,
        client_ip: str,
    ) -> tuple[Reply, FaultRule | None]: ...


class HubServer(ThreadingHTTPServer):
    daemon_threads = True
    # Many clients at once: the default backlog of 5 drops connections under load.
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], hub: Responder, listener: str) -> None:
        self.hub = hub
        self.listener = listener
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HubServer
    server_version = "llmsync-replay-hub"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle's
        # algorithm meets the client's delayed ACK and each response stalls ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return  # one line per request would be the bottleneck; see ReplayHub.requests

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:  # an LFS upload (`uploads.py`)
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        body = self._read_body()
        raw_path, _, query = self.path.partition("?")
        reply, rule = self.server.hub.respond(
            self.server.listener,
            method,
            raw_path,
            query=query,
            body=body,
            headers=self.headers,
            client_ip=str(self.client_address[0]),
        )
        try:
            self._send(method, reply, rule)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        """A body sent in chunks (an upload streamed without a length)."""
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, method: str, reply: Reply, rule: FaultRule | None) -> None:
        has_body = method != "HEAD" and reply.content_length > 0
        if rule is not None and rule.action == "reset" and not has_body:
            self._reset()
            return
        reason = HTTPStatus(reply.status).phrase
        lines = [f"HTTP/1.1 {reply.status} {reason}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        if not any(name.lower() == "content-length" for name, _ in reply.headers):
            lines.append(f"Content-Length: {reply.content_length}")
        lines.append(f"X-Request-Id: Root={uuid.uuid4()}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        send_length = reply.content_length if has_body else 0
        if rule is not None and rule.action in ("reset", "truncate"):
            send_length = int(send_length * rule.fraction)
        if reply.blob is None or send_length == 0:
            self.wfile.write(head + reply.body[:send_length])
        elif send_length <= SMALL_BLOB:
            # One write for a small file: fewer syscalls and segments than sendfile.
            with reply.blob.open("rb") as handle:
                handle.seek(reply.offset)
                self.wfile.write(head + handle.read(send_length))
        else:
            self.wfile.write(head)
            with reply.blob.open("rb") as handle:
                self.connection.sendfile(handle, reply.offset, send_length)
        if rule is not None and rule.action == "reset":
            self._reset()
        elif rule is not None and rule.action in ("truncate", "header"):
            # A clean close (FIN): before the announced length, or after a
            # body whose length a header fault may have misstated.
            self.close_connection = True

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout turns close() into a TCP reset (RST).
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the connection was reset on purpose
            super().finish()
