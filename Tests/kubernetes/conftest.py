"""Fixtures for the test API server: start it in a temp dir (killed at teardown even on failure), talk to it
with the Python `kubernetes` client, kubectl (the venv's v1.37) and raw HTTPS, and check that every object
it emitted validates against the published schema of its kind (Kubernetes 1.37, strict: no unknown
fields) or its CRD's schema."""

import copy
import functools
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

import jsonschema
import kubernetes
import kubernetes_validate
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_BIN = os.path.dirname(sys.executable)
KUBECTL = os.path.join(VENV_BIN, "kubectl")


def _die_with_parent():
    """Linux: the server gets SIGTERM if pytest dies without its teardown (killed, timed out)."""
    import ctypes
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Server:
    """One running server process and clients for it."""

    def __init__(self, tmp, *args):
        self.dir = tmp
        self.proc = subprocess.Popen([sys.executable, "-m", "apiserver", "--state-dir", tmp, *args], cwd=HERE,
                                     stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "server.log"), "wb"),
                                     text=True, preexec_fn=_die_with_parent)
        self.emitted = []
        self.url = None

    def wait_ready(self):
        if self.url:
            return self
        tmp = self.dir
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line.startswith("READY https://"):
            self.stop()
            raise RuntimeError(f"the test API server did not start (first line {line!r}); see {tmp}/server.log")
        self.url = line.split(" ", 1)[1]
        self.host, self.port = urllib.parse.urlsplit(self.url).hostname, urllib.parse.urlsplit(self.url).port
        self.token = open(os.path.join(tmp, "token")).read().strip()
        self.kubeconfig = os.path.join(tmp, "kubeconfig")
        self.kubeconfig_cert = os.path.join(tmp, "kubeconfig-cert")
        self.ca = os.path.join(tmp, "ca.crt")
        return self

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    # --- clients -------------------------------------------------------------------------------------------

    def api_client(self, kubeconfig=None) -> kubernetes.client.ApiClient:
        cfg = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=kubeconfig or self.kubeconfig, client_configuration=cfg)
        client = RecordingApiClient(cfg)
        client.server = self
        return client

    def ssl_context(self, client_cert=False):
        ctx = ssl.create_default_context(cafile=self.ca)
        if client_cert:
            ctx.load_cert_chain(os.path.join(self.dir, "client.crt"), os.path.join(self.dir, "client.key"))
        return ctx

    def raw(self, method, path, body=None, content_type="application/json", token=True, record=True):
        """(status, headers, parsed JSON body) of one request over a fresh TLS connection."""
        import http.client
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ssl_context(), timeout=10)
        headers = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = f"Bearer {self.token if token is True else token}"
        data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        doc = json.loads(raw) if raw and resp.getheader("Content-Type", "").startswith("application/json") else raw
        if record and isinstance(doc, dict):
            self.record(doc)
        return resp.status, resp.headers, doc

    def raw_stream(self, path, timeout=10):
        """A watch over a raw TLS socket: returns (HTTP head, [chunk payloads], ended with the final chunk)."""
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        tls = self.ssl_context().wrap_socket(sock, server_hostname="localhost")
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {self.token}\r\n"
                    f"Accept: application/json\r\n\r\n".encode())
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                part = tls.recv(65536)
            except (socket.timeout, ssl.SSLError, ConnectionError):
                break
            if not part:
                break
            data += part
            if data.endswith(b"\r\n0\r\n\r\n") or data.endswith(b"\r\n\r\n0\r\n\r\n"):
                break
        tls.close()
        head, _, body = data.partition(b"\r\n\r\n")
        chunks, complete = [], False
        while body:
            line, _, rest = body.partition(b"\r\n")
            size = int(line, 16)
            if size == 0:
                complete = True
                break
            chunks.append(rest[:size])
            body = rest[size + 2:]
        for c in b"".join(chunks).splitlines():
            if c.strip():
                self.record(json.loads(c))
        return head.decode(), chunks, complete

    def kubectl(self, *args, kubeconfig=None, timeout=30, check=True, input=None):
        env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
                   KUBECONFIG=kubeconfig or self.kubeconfig, HOME=os.path.join(self.dir, "home"))
        res = subprocess.run([KUBECTL, *args], env=env, capture_output=True, text=True, timeout=timeout,
                             input=input)
        if check and res.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({res.returncode}): {res.stderr}")
        if "-o" in args and "json" in args and res.returncode == 0 and res.stdout.strip().startswith("{"):
            self.record(json.loads(res.stdout))
        return res

    def kubectl_popen(self, *args):
        env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
                   KUBECONFIG=self.kubeconfig, HOME=os.path.join(self.dir, "home"))
        return subprocess.Popen([KUBECTL, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    # --- what came back ------------------------------------------------------------------------------------

    def record(self, doc):
        if not isinstance(doc, dict):
            return
        if "type" in doc and "object" in doc and "kind" not in doc:
            doc = doc["object"]
            if doc.get("kind") == "Status" or not doc.get("metadata", {}).get("name"):
                return  # ERROR events and BOOKMARKs (only apiVersion/kind/metadata.resourceVersion)
        kind = doc.get("kind", "")
        if kind == "Status":
            return
        if kind.endswith("List") and isinstance(doc.get("items"), list):
            item_kind = kind[:-4]
            for item in doc["items"]:
                item = dict(item)
                item.setdefault("kind", item_kind)
                item.setdefault("apiVersion", doc.get("apiVersion"))
                self.record(item)
            return
        if kind and doc.get("apiVersion") and (doc.get("metadata") or {}).get("name"):
            self.emitted.append(copy.deepcopy(doc))


class RecordingApiClient(kubernetes.client.ApiClient):
    """Keeps every JSON object the server answered (watches are recorded by the tests' stream helper)."""

    def request(self, method, url, *args, **kwargs):
        resp = super().request(method, url, *args, **kwargs)
        if kwargs.get("_preload_content", True) and getattr(resp, "data", None):
            try:
                self.server.record(json.loads(resp.data))
            except (ValueError, TypeError):
                pass
        return resp


# --- schema checks of emitted objects ----------------------------------------------------------------------

_SCHEMA_DIR = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema",
                           "v1.37.0-local-strict")


@functools.lru_cache(maxsize=1)
def _registry():
    from referencing import Registry, Resource
    with open(os.path.join(_SCHEMA_DIR, "_definitions.json")) as f:
        defs = json.load(f)
    return Resource.from_contents(defs) @ Registry()


@functools.lru_cache(maxsize=None)
def _builtin_validator(kind, api_version):
    import re
    av = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = os.path.join(_SCHEMA_DIR, f"{kind.lower()}-{av}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        schema = json.load(f)
    return jsonschema.Draft202012Validator(schema, registry=_registry(),
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def validate_emitted(server: Server, crd_schemas: dict):
    """Every recorded object validates: built-ins against the published strict schema, custom resources
    against their CRD's openAPIV3Schema (here checked independently of the server's own code)."""
    seen = set()
    problems = []
    for obj in server.emitted:
        key = json.dumps(obj, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        v = _builtin_validator(obj["kind"], obj["apiVersion"])
        if v is None:
            group = obj["apiVersion"].split("/")[0]
            s = crd_schemas.get((group, obj["kind"]))
            if s is None:
                problems.append(f"no schema for {obj['apiVersion']} {obj['kind']}")
                continue
            v = jsonschema.Draft4Validator(s)
            body = {k: v2 for k, v2 in obj.items() if k != "metadata"}
        else:
            body = obj
        for err in v.iter_errors(body):
            problems.append(f"{obj['kind']} {obj['metadata'].get('name')}: {err.json_path}: {err.message}")
    assert not problems, "objects the server emitted do not validate:\n" + "\n".join(problems[:20])
    return len(seen)


class _Spares:
    """A server with the default arguments is spawned one test ahead, so its start-up (mostly imports) runs
    while the previous test does; the suite stays well under its time budget."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="sy-apiserver-")
        self.count = 0
        self.spare = None

    def spawn(self, *args):
        self.count += 1
        d = os.path.join(self.tmp, str(self.count))
        os.makedirs(d)
        return Server(d, "--bookmark-interval", "0.3", *args)

    def take(self, *args):
        if args:
            return self.spawn(*args).wait_ready()
        s = self.spare or self.spawn()
        self.spare = self.spawn()
        return s.wait_ready()

    def close(self):
        if self.spare:
            self.spare.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def _spares():
    spares = _Spares()
    yield spares
    spares.close()


@pytest.fixture
def start_server(_spares):
    """Factory: start_server(*extra_args) → a ready Server; every server started is stopped at teardown."""
    started = []

    def start(*args):
        s = _spares.take(*args)
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()


@pytest.fixture
def server(start_server):
    s = start_server()
    yield s
    validate_emitted(s, {("switchyard.io", "AddressPool"): _schema_as_json_schema(ADDRESSPOOL_SCHEMA)})


def _schema_as_json_schema(node):
    """The CRD schema for jsonschema: nullable → 'null' type; the rest is draft-4 compatible."""
    if isinstance(node, list):
        return [_schema_as_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _schema_as_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes")}
    if "properties" in node:
        out["properties"] = {k: _schema_as_json_schema(v) for k, v in node["properties"].items()}
    return out


_SELECTOR = {"type": "object", "properties": {
    "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
    "matchExpressions": {"type": "array", "items": {"type": "object", "required": ["key", "operator"], "properties": {
        "key": {"type": "string"}, "operator": {"type": "string"},
        "values": {"type": "array", "items": {"type": "string"}}}}}}}

# The AddressPool CRD as the contract describes it (the manifests helper owns the real one).
ADDRESSPOOL_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "required": ["addresses"], "properties": {
            "addresses": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
            "autoAssign": {"type": "boolean", "default": True},
            "avoidBuggyIPs": {"type": "boolean", "default": False},
            "disabled": {"type": "boolean", "default": False},
            "serviceAllocation": {"type": "object", "properties": {
                "priority": {"type": "integer", "format": "int32"},
                "namespaces": {"type": "array", "items": {"type": "string"}},
                "namespaceSelectors": {"type": "array", "items": _SELECTOR},
                "serviceSelectors": {"type": "array", "items": _SELECTOR}}},
            "defaults": {"type": "object", "properties": {
                "mode": {"type": "string", "enum": ["stateless", "stateful"]},
                "flowKey": {"type": "string", "enum": ["connection", "source-ip"]}}},
        }},
        "status": {"type": "object", "properties": {
            "assignedIPv4": {"type": "integer", "format": "int64"},
            "assignedIPv6": {"type": "integer", "format": "int64"},
            "availableIPv4": {"type": "integer", "format": "int64"},
            "availableIPv6": {"type": "integer", "format": "int64"},
            "conditions": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
                           "items": {"type": "object", "required": ["type", "status", "lastTransitionTime",
                                                                    "reason", "message"],
                                     "properties": {
                                         "type": {"type": "string"}, "status": {"type": "string",
                                                                               "enum": ["True", "False", "Unknown"]},
                                         "observedGeneration": {"type": "integer", "format": "int64"},
                                         "lastTransitionTime": {"type": "string", "format": "date-time"},
                                         "reason": {"type": "string"}, "message": {"type": "string"}}}},
        }},
    },
}

ADDRESSPOOL_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "addresspools.switchyard.io"},
    "spec": {"group": "switchyard.io", "scope": "Cluster",
             "names": {"plural": "addresspools", "singular": "addresspool", "kind": "AddressPool",
                       "listKind": "AddressPoolList", "shortNames": ["ap"]},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                           "additionalPrinterColumns": [
                               {"name": "Addresses", "type": "string", "jsonPath": ".spec.addresses"}],
                           "schema": {"openAPIV3Schema": ADDRESSPOOL_SCHEMA}}]},
}


@pytest.fixture
def addresspool_crd():
    return copy.deepcopy(ADDRESSPOOL_CRD)
