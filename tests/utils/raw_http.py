"""Requests written by hand on a socket: headers that declare a body never sent, or a body
sent in chunks, to see a server answer as the bytes arrive."""

import socket


def connect(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port))
    conn.settimeout(60)  # only so that a broken server fails the test instead of hanging it
    return conn


def read_response(conn: socket.socket) -> tuple[int, bytes]:
    """The answer's status and the bytes read up to the end of its headers, at least."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, _ = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), data


def declared_only(port: int, path: str, length: int) -> tuple[int, bytes]:
    """POST `path` declaring a `length`-byte body, send none of it, read the answer."""
    with connect(port) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
        )
        return read_response(conn)
