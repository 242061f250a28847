"""Requests an HTTP client library would not send as written, against a running `cascade serve`:
raw bytes on a socket, each checked for one clear problem+json answer.

Usage: raw_checks.py PORT ADMIN_KEY
"""
import json
import socket
import sys

port, key = int(sys.argv[1]), sys.argv[2]
failures = 0


def raw(request: bytes) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def check(ok: bool, what: str) -> None:
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += 0 if ok else 1


def get(path: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\n"
            "Connection: close\r\n\r\n").encode()


# A malformed percent escape in an id (clients re-encode these, so only a raw request sends it).
for bad in ["%ZZ", "%C3", "%FF%FE"]:
    status, headers, body = raw(get(f"/v1/queries/{bad}"))
    problem = json.loads(body or b"{}") if headers.get("content-type") == "application/problem+json" else {}
    check(status == 400 and problem.get("type", "").endswith("/invalid-path"),
          f"GET /v1/queries/{bad}: 400 invalid-path problem+json (got {status})")
# A well-formed one finds the id it encodes (404 here: no such query, but named decoded).
status, headers, body = raw(get("/v1/queries/e%201"))
check(status == 404 and b"no query e 1 " in body, f"GET /v1/queries/e%201 looks up the id 'e 1' (got {status})")

if failures:
    print(f"{failures} raw-request checks failed")
    sys.exit(1)
print("all raw-request checks passed")
