"""A TCP proxy in front of a real server that can drop dead on cue: a remote that goes away.

It forwards bytes untouched (no S3 logic here, the server behind it is moto's real S3 API). When
the client sends a request whose first line contains `cut_on`, the proxy closes every connection
and refuses new ones until `restore()`: the server vanished mid-operation, as far as DVC can tell.
"""

import contextlib
import socket
import threading


class FlakyProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.cut_on: bytes | None = None
        self.down = threading.Event()
        self.cut = threading.Event()  # set once a cut happened
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut_when(self, marker: str) -> None:
        self.cut_on = marker.encode()
        self.cut.clear()

    def go_down(self) -> None:
        self.down.set()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        self.cut_on = None
        self.down.clear()

    def _accept(self) -> None:
        while True:
            client, _ = self._server.accept()
            if self.down.is_set():
                client.close()  # connection refused, in effect
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if from_client and self.cut_on and self.cut_on in chunk.split(b"\r\n", 1)[0]:
                    self.cut.set()
                    self.go_down()
                    return
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.close()
