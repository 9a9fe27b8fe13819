"""HTTPS front end: authentication, routing, discovery, the verbs, chunked watch streams, /testing/."""

import http.server
import json
import queue
import random
import select
import socket
import ssl
import threading
import time
import urllib.parse

from . import errors, openapi, protobuf, tables
from .errors import ApiError
from .store import CLOSE, STOP, Store

VERSION_INFO = {"major": "1", "minor": "37", "emulationMajor": "1", "emulationMinor": "37",
                "minCompatibilityMajor": "1", "minCompatibilityMinor": "36", "gitVersion": "v1.37.0-switchyard",
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc",
                "platform": "linux/amd64"}

ANONYMOUS_PATHS = {"/version", "/healthz", "/livez", "/readyz"}


class Options:
    def __init__(self, token, bookmark_interval=5.0, chunking="plain"):
        self.token = token
        self.bookmark_interval = bookmark_interval
        self.chunking = chunking


class APIServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, store: Store, options: Options, ssl_context: ssl.SSLContext):
        self.store = store
        self.options = options
        self.ssl_context = ssl_context
        self.stopping = threading.Event()
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # The TLS handshake runs in the request's thread (first read), never in the accept loop.
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "switchyard-test-apiserver"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        try:
            self.connection.do_handshake()
        except (ssl.SSLError, OSError):
            self.close_connection = True
            raise

    def handle(self):
        try:
            super().handle()
        except (ssl.SSLError, ConnectionError, OSError):
            pass

    # --- plumbing ------------------------------------------------------------------------------------------

    def _send_json(self, code, doc, headers=None):
        body = json.dumps(doc, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or []):
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error(self, err: ApiError):
        self._send_json(err.code, err.status())

    def _authenticated(self) -> bool:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[7:].strip() == self.server.options.token:
            return True
        try:
            cert = self.connection.getpeercert()
        except (ValueError, ssl.SSLError):
            cert = None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName" and v:
                        return True
        return False

    def _read_body(self) -> bytes:
        """Read before anything can answer: a body left unread would be parsed as the next request."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = 0
        return self.rfile.read(n) if n > 0 else b""

    def _body(self):
        raw = self._raw_body
        if not raw:
            return None
        ct = self.headers.get("Content-Type", "application/json")
        if ct.startswith("application/vnd.kubernetes.protobuf"):
            try:
                return protobuf.decode(raw)
            except protobuf.Unsupported as e:
                raise ApiError(415, "UnsupportedMediaType", f"the Switchyard test API server reads protobuf request "
                                                            f"bodies only for v1 Namespace, ConfigMap, ServiceAccount "
                                                            f"(not {e}); send JSON (kubectl apply/create -f does)")
            except ValueError as e:
                raise errors.bad_request(f"the request body is not valid protobuf: {e}")
        try:
            if "yaml" in ct:
                import yaml
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, Exception) as e:  # noqa: B014 - yaml errors are plain Exceptions
            raise errors.bad_request(f"the request body is not valid {'YAML' if 'yaml' in ct else 'JSON'}: {e}")

    def _read_chunked(self) -> bytes:
        out = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return out
            out += self.rfile.read(size)
            self.rfile.readline()

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        store = self.server.store
        self._raw_body = self._read_body()
        try:
            if path in ANONYMOUS_PATHS:
                if path == "/version":
                    return self._send_json(200, VERSION_INFO)
                return self._send_text(200, "ok")
            if not self._authenticated():
                with store.lock:
                    store.stats["unauthorized"] += 1
                return self._send_json(401, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                             "status": "Failure", "message": "Unauthorized",
                                             "reason": "Unauthorized", "code": 401})
            if path.startswith("/testing/"):
                return self._testing(method, path)
            if path == "/openapi/v2":
                return self._openapi_v2()
            if path.startswith("/openapi/"):
                doc = openapi.document(store, path)
                if doc is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                return self._send_json(200, doc)
            parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
            if method == "GET":
                disc = self._discovery(parts)
                if disc is not None:
                    return self._send_json(200, disc)
            self._resource(method, parts, query)
        except ApiError as e:
            self._send_error(e)
        except (BrokenPipeError, ConnectionError, ssl.SSLError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - a bug must answer 500, not hang the client
            import traceback
            traceback.print_exc()
            self._send_error(ApiError(500, "InternalError", f"Internal error occurred: {e}"))

    def _openapi_v2(self):
        """An empty Swagger 2.0 document (no definitions): kubectl's client-side validation, its fallback when a
        kind's PATCH does not take fieldValidation, then skips kinds it does not know, as with a real server
        before a CRD is established."""
        if "protobuf" in self.headers.get("Accept", ""):
            info = _pb_string(1, b"Kubernetes") + _pb_string(2, b"v1.37.0")
            body = _pb_string(1, b"2.0") + _pb_string(2, info)
            self.send_response(200)
            self.send_header("Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self._send_json(200, {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.37.0"},
                              "paths": {}, "definitions": {}})

    def _send_text(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # --- /testing ------------------------------------------------------------------------------------------

    def _testing(self, method, path):
        store = self.server.store
        if path == "/testing/compact" and method == "POST":
            store.compact()
            return self._send_json(200, {"compactedTo": str(store.rv)})
        if path == "/testing/close-watches" and method == "POST":
            return self._send_json(200, {"closed": store.close_watches()})
        if path == "/testing/stats" and method == "GET":
            with store.lock:
                stats = dict(store.stats)
                stats["open_watches"] = len(store.watchers)
                stats["resourceVersion"] = str(store.rv)
            return self._send_json(200, stats)
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    # --- discovery -----------------------------------------------------------------------------------------

    def _discovery(self, parts):
        reg = self.server.store.registry
        with self.server.store.lock:
            if parts == ["api"]:
                host = f"{self.server.server_address[0]}:{self.server.server_address[1]}"
                return {"kind": "APIVersions", "versions": ["v1"],
                        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}
            if parts == ["api", "v1"]:
                return self._resource_list("", "v1")
            groups = reg.groups()
            if parts == ["apis"]:
                return {"kind": "APIGroupList", "apiVersion": "v1",
                        "groups": [self._group(g, vs) for g, vs in groups.items() if g]}
            if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
                return dict(self._group(parts[1], groups[parts[1]]), kind="APIGroup", apiVersion="v1")
            if len(parts) == 3 and parts[0] == "apis" and parts[2] in groups.get(parts[1], []):
                return self._resource_list(parts[1], parts[2])
        return None

    @staticmethod
    def _group(g, versions):
        vs = [{"groupVersion": f"{g}/{v}", "version": v} for v in versions]
        return {"name": g, "versions": vs, "preferredVersion": vs[0]}

    def _resource_list(self, group, version):
        resources = []
        for rt in self.server.store.registry.in_group_version(group, version):
            resources.extend(rt.discovery())
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": resources}

    # --- resources -----------------------------------------------------------------------------------------

    def _route(self, parts):
        """→ (resource type, namespace, name, subresource)."""
        reg = self.server.store.registry
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            inner = reg.get(group, version, rest[2])
            if inner is not None and inner.namespaced:
                ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        rt = reg.get(group, version, rest[0])
        if rt is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and not (sub == "status" and rt.status):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if rt.namespaced and name is not None and ns is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return rt, ns, name, sub

    def _resource(self, method, parts, query):
        store = self.server.store
        rt, ns, name, sub = self._route(parts)
        warnings = []
        watch = query.get("watch") in ("1", "true", "True")
        verb = {"GET": "get" if name else ("watch" if watch else "list"), "POST": "create", "PUT": "update",
                "PATCH": "patch", "DELETE": "delete"}[method]
        with store.lock:
            store.stats[verb] += 1
            store.stats[f"{verb} {rt.qualified}{'/' + sub if sub else ''}"] += 1
        table_version = tables.wanted(self.headers.get("Accept", "")) if method == "GET" else None
        if method == "GET" and name is not None:
            obj = store.output(rt, store.get(rt, ns, name))
            if table_version:
                obj = tables.table(rt, [obj], table_version, query.get("includeObject"),
                                   obj["metadata"].get("resourceVersion"))
            return self._send_json(200, obj)
        if method == "GET" and watch:
            return self._watch(rt, ns, query, table_version)
        if method == "GET":
            # An absent namespace lists as empty (as real).
            items, rv = store.list(rt, ns, query.get("labelSelector", ""), query.get("fieldSelector", ""))
            if table_version:
                doc = tables.table(rt, [store.output(rt, o) for o in items], table_version,
                                   query.get("includeObject"), rv)
                return self._send_json(200, doc)
            doc = {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": {"resourceVersion": rv},
                   "items": [store.output(rt, o, in_list=True) for o in items]}
            return self._send_json(200, doc)
        hdrs = lambda: [("Warning", f'299 - {json.dumps(w)}') for w in warnings]  # noqa: E731
        if method == "POST":
            if name is not None or (rt.namespaced and ns is None):
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                        "resource")
            body = self._body()
            obj = store.create(rt, ns, body, query, warnings)
            return self._send_json(201, store.output(rt, obj), hdrs())
        if name is None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if method == "PUT":
            obj = store.update(rt, ns, name, self._body(), query, sub, warnings)
            return self._send_json(200, store.output(rt, obj), hdrs())
        if method == "PATCH":
            ct = self.headers.get("Content-Type", "")
            body = self._body()
            if ct.startswith("application/apply-patch"):
                raise ApiError(415, "UnsupportedMediaType", "server-side apply is not supported by the Switchyard "
                                                            "test API server; use client-side apply")
            obj = store.patch(rt, ns, name, ct, body, query, sub, warnings)
            return self._send_json(200, store.output(rt, obj), hdrs())
        if method == "DELETE":
            options = self._body() or {}
            obj, gone = store.delete(rt, ns, name, options if isinstance(options, dict) else {}, query)
            if gone and not (rt.crd is not None or (rt.group == "" and rt.plural == "services")):
                # Most kinds answer a deletion with a Status; Services and custom resources with the object.
                details = {"name": name, "kind": rt.plural, "uid": obj["metadata"]["uid"]}
                if rt.group:
                    details["group"] = rt.group
                return self._send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                             "status": "Success", "details": details})
            return self._send_json(200, store.output(rt, obj))

    # --- watch ---------------------------------------------------------------------------------------------

    def _watch(self, rt, ns, query, table_version=None):
        store = self.server.store
        opts = self.server.options
        initial = None
        if query.get("sendInitialEvents") in ("true", "1"):
            initial = True
        try:
            watcher, events = store.watch(rt, ns, query.get("resourceVersion"), query.get("labelSelector", ""),
                                          query.get("fieldSelector", ""), initial_events=initial)
        except ApiError as e:
            if e.code != 410:
                raise
            # As the watch cache does: the stream opens, says why it cannot go on, and ends.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.close_connection = True
            self._write_events([{"type": "ERROR", "object": e.status()}])
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        timeout = None
        if query.get("timeoutSeconds"):
            try:
                timeout = float(query["timeoutSeconds"])
            except ValueError:
                raise errors.bad_request(f"invalid timeoutSeconds: {query['timeoutSeconds']!r}")
        deadline = time.monotonic() + timeout if timeout else None
        self._table = (table_version, query.get("includeObject"), [True])
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            self.close_connection = True
            pending = [self._event(rt, t, o) for t, o in events]
            if initial and bookmarks:
                pending.append(self._bookmark(rt, str(watcher.start_rv), {"k8s.io/initial-events-end": "true"}))
            self._write_events(pending)
            next_bookmark = time.monotonic() + opts.bookmark_interval
            while not self.server.stopping.is_set():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                wait = next_bookmark - now
                if deadline is not None:
                    wait = min(wait, deadline - now)
                wait = min(max(wait, 0.0), 0.5)
                if self._peer_gone():
                    return
                try:
                    item = watcher.queue.get(timeout=wait)
                except queue.Empty:
                    if bookmarks and time.monotonic() >= next_bookmark:
                        rv = store.bookmark_rv(watcher)
                        if rv is not None:
                            self._write_events([self._bookmark(rt, rv)])
                    if time.monotonic() >= next_bookmark:
                        next_bookmark = time.monotonic() + opts.bookmark_interval
                    continue
                if item is CLOSE:
                    self._abort()
                    return
                if item is STOP:
                    break
                batch = [item]
                if opts.chunking in ("coalesce", "random"):
                    while True:
                        try:
                            more = watcher.queue.get_nowait()
                        except queue.Empty:
                            break
                        if more is CLOSE or more is STOP:
                            watcher.queue.put(more)
                            break
                        batch.append(more)
                self._write_events([self._event(rt, t, o) for t, o in batch])
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            store.unwatch(watcher)

    def _peer_gone(self) -> bool:
        """A watch with nothing to send would otherwise only notice a client that went away at its next write
        (and count as open until then)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable and not self.connection.pending():
                return False
            self.connection.settimeout(0.05)
            try:
                return self.connection.recv(1) == b""
            finally:
                self.connection.settimeout(None)
        except (socket.timeout, ssl.SSLWantReadError):
            return False
        except (OSError, ValueError):
            return True

    def _abort(self):
        """Ends the stream without the last chunk, as a dying server would."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def _event(self, rt, typ, obj):
        out = self.server.store.output(rt, obj)
        version, include, first = getattr(self, "_table", (None, None, None))
        if version:
            # Column definitions in the first event only, as the real server sends them.
            out = tables.table(rt, [out], version, include, out["metadata"].get("resourceVersion"),
                               headers=first[0])
            first[0] = False
        return {"type": typ, "object": out}

    def _bookmark(self, rt, rv, annotations=None):
        meta = {"resourceVersion": rv}
        if annotations:
            meta["annotations"] = annotations
        return {"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}}

    def _write_events(self, events):
        if not events:
            return
        lines = [json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events]
        mode = self.server.options.chunking
        if mode == "random":
            mode = random.choice(["plain", "split", "coalesce"])
        if mode == "coalesce":
            chunks = [b"".join(lines)]
        elif mode == "split":
            chunks = []
            for line in lines:
                cut = sorted(random.sample(range(1, len(line)), min(2, len(line) - 1)))
                chunks.extend(c for c in (line[:cut[0]], line[cut[0]:cut[-1]], line[cut[-1]:]) if c)
        else:
            chunks = lines
        for c in chunks:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.flush()
            if mode == "split":
                time.sleep(0.001)


def _pb_string(field: int, data: bytes) -> bytes:
    """A length-delimited protobuf field (lengths here stay below 128: one varint byte)."""
    return bytes([(field << 3) | 2, len(data)]) + data


def make_ssl_context(cert_path, key_path, ca_path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path)
    ctx.load_verify_locations(ca_path)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
