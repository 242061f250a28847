"""Several `cascade serve` nodes on one PostgreSQL database behind nginx, on loopback.

Used by tools/test-cluster (what must hold: nothing lost, nothing billed twice, kill -9, a
PostgreSQL restart) and tools/bench/cluster (asks/s and p99 for 1, 2 and 3 nodes). Everything is
real: Debian's PostgreSQL (tools/postgres), Debian's nginx, the cascade binary, HTTP over
loopback. Each run creates a database of its own and drops it at the end.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Reply:
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def json(self):
        try:
            return json.loads(self.body or "{}")
        except ValueError:
            return {}


def call(url, method="GET", body=None, key=None, headers=None, timeout=60):
    """One HTTP request; never raises for an HTTP status (a refused connection is status 0)."""
    data = None
    all_headers = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    if key:
        all_headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, response.read().decode(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read().decode(errors="replace"), dict(error.headers))
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
        return Reply(0, str(error), {})


class Cluster:
    """A fresh database, N nodes (each with its own data folder) and nginx in front of them."""

    def __init__(self, binary, nodes=3, embedder="hashing", workdir=None):
        self.binary = binary
        self.embedder = embedder
        self.workdir = workdir or tempfile.mkdtemp(prefix="cascade-cluster-")
        base = subprocess.run(
            [os.path.join(ROOT, "tools", "postgres")], check=True, capture_output=True, text=True
        ).stdout.strip()
        self.admin_url = base
        self.db_name = "cascade_cluster_" + uuid.uuid4().hex[:8]
        self.url = re.sub(r"/[^/?]+(\?.*)?$", "/" + self.db_name, base)
        self.psql_admin(f'CREATE DATABASE "{self.db_name}"')
        self.cli("migrate", "--database", self.url)
        self.nodes = []  # [{"port", "process", "data"}]
        self.nginx = None
        self.nginx_port = None
        for index in range(nodes):
            self.start_node(index)
        self.start_nginx()

    # -- set-up -------------------------------------------------------------------------------

    def psql_admin(self, sql):
        subprocess.run(
            ["psql", self.admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
            check=True, capture_output=True, text=True)

    def cli(self, *args, data=None):
        command = [self.binary, *args]
        if data:
            command += ["--data", data]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def start_node(self, index, port=None):
        data = os.path.join(self.workdir, f"node-{index}")
        port = port or free_port()
        process = subprocess.Popen(
            [self.binary, "serve", "--database", self.url, "--port", str(port), "--data", data,
             "--embedder", self.embedder, "--rate-limit", "100000", "--burst", "100000", "--max-in-flight", "512",
             "--webhook-allow-network", "127.0.0.1/32", "--webhook-retry-schedule", "1s,1s,2s,2s,5s,5s,10s"],
            stdout=subprocess.PIPE, stderr=open(os.path.join(self.workdir, f"node-{index}.log"), "a"),
            text=True, env={**os.environ, "LOG_LEVEL": "warning"})
        line = process.stdout.readline()
        if "listening" not in line:
            raise RuntimeError(f"node {index} did not start: {line}")
        threading.Thread(target=lambda: process.stdout.read(), daemon=True).start()
        node = {"index": index, "port": port, "process": process, "data": data}
        if index < len(self.nodes):
            self.nodes[index] = node
        else:
            self.nodes.append(node)
        self.wait_ready(f"http://127.0.0.1:{port}")
        return node

    def wait_ready(self, base, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if call(base + "/readyz", timeout=5).status == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{base} never became ready")

    def start_nginx(self):
        self.nginx_port = free_port()
        folder = os.path.join(self.workdir, "nginx")
        os.makedirs(folder, exist_ok=True)
        upstreams = "\n".join(f"        server 127.0.0.1:{n['port']} max_fails=1 fail_timeout=2s;" for n in self.nodes)
        config = f"""
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream cascade {{
{upstreams}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{self.nginx_port};
        client_max_body_size 20m;
        location / {{
            proxy_pass http://cascade;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host:$server_port;
            # A node that refuses the connection is skipped; a POST already sent is never
            # replayed on another node (the client retries with its Idempotency-Key).
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""
        path = os.path.join(folder, "nginx.conf")
        with open(path, "w") as f:
            f.write(config)
        self.nginx = subprocess.Popen(["nginx", "-c", path, "-g", "daemon off;"], stderr=subprocess.PIPE)
        self.wait_ready(self.front)

    @property
    def front(self):
        return f"http://127.0.0.1:{self.nginx_port}"

    def node_url(self, index):
        return f"http://127.0.0.1:{self.nodes[index]['port']}"

    def kill_node(self, index):
        self.nodes[index]["process"].send_signal(signal.SIGKILL)
        self.nodes[index]["process"].wait()

    def restart_postgres(self):
        version = sorted(os.listdir("/usr/lib/postgresql"), key=int)[-1]
        command = ["pg_ctlcluster", version, "main", "restart"]
        if os.geteuid() != 0:
            command = ["sudo"] + command
        subprocess.run(command, check=True, capture_output=True)

    def close(self):
        if self.nginx:
            self.nginx.terminate()
            self.nginx.wait()
        for node in self.nodes:
            if node["process"].poll() is None:
                node["process"].terminate()
                try:
                    node["process"].wait(timeout=30)
                except subprocess.TimeoutExpired:
                    node["process"].kill()
        try:
            self.psql_admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        except subprocess.CalledProcessError as error:
            log(f"could not drop {self.db_name}: {error.stderr}")
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- tenants and documents ----------------------------------------------------------------

    def create_tenant(self, tenant, plan="pro"):
        self.cli("tenants", "create", tenant, "--plan", plan, "--database", self.url,
                 data=os.path.join(self.workdir, "admin"))
        admin = json.loads(self.cli("keys", "create", "--tenant", tenant, "--scope", "admin", "--database",
                                    self.url, "--json", data=os.path.join(self.workdir, "admin")))["key"]
        query = json.loads(self.cli("keys", "create", "--tenant", tenant, "--scope", "query", "--database",
                                    self.url, "--json", data=os.path.join(self.workdir, "admin")))["key"]
        return admin, query


def upload(base, key, name, text, timeout=300):
    """Uploads a document and waits for its ingest job; returns the finished job."""
    kind = "text/html" if name.endswith(".html") else "text/markdown"
    reply = call(f"{base}/v1/documents?name={name}", "POST", text.encode(), key, headers={"Content-Type": kind})
    if reply.status != 202:
        raise RuntimeError(f"upload {name}: {reply.status} {reply.body}")
    job_id = reply.json()["job_id"]
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = call(f"{base}/v1/jobs/{job_id}", key=key).json()
        if job.get("finished_at"):
            if job.get("status") != "succeeded":
                raise RuntimeError(f"ingest of {name} failed: {job}")
            return job
        time.sleep(0.1)
    raise RuntimeError(f"ingest of {name} did not finish")


def ask(base, key, question, query_id, retry_for=60.0):
    """Asks like a careful integrator: the same Idempotency-Key until an answer (or a 4xx) comes.
    Returns (reply, attempts)."""
    deadline = time.time() + retry_for
    attempts = 0
    delay = 0.05
    while True:
        attempts += 1
        reply = call(f"{base}/v1/ask", "POST", {"question": question}, key,
                     headers={"Idempotency-Key": query_id}, timeout=30)
        if reply.status == 200 or (400 <= reply.status < 500 and reply.status != 429) or time.time() > deadline:
            return reply, attempts
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


SQLITE_DOCS = os.path.join(ROOT, "corpora", "sqlite-docs")


def support_documents(limit=None):
    """The shipped SQLite documentation pages (what the cluster serves), in name order."""
    names = sorted(n for n in os.listdir(SQLITE_DOCS) if n.endswith(".html"))[:limit]
    pages = []
    for name in names:
        with open(os.path.join(SQLITE_DOCS, name), encoding="utf-8", errors="replace") as f:
            pages.append((name, f.read()))
    return pages


def support_questions():
    """The evaluation set's support questions (68), in file order."""
    with open(os.path.join(SQLITE_DOCS, "eval", "queries.jsonl"), encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]
