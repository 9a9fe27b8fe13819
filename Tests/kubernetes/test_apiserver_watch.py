"""Watches on the test API server: resourceVersion resumption, bookmarks, 410 Expired, timeoutSeconds,
selectors, abrupt closes, and watch streams whose chunks split or coalesce events."""

import json
import threading
import time

import kubernetes
import pytest
from kubernetes import watch
from kubernetes.client.rest import ApiException


def _svc(name, labels=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"ports": [{"port": 80}]}}


@pytest.fixture
def api(server):
    core = kubernetes.client.CoreV1Api(server.api_client())
    core.create_namespace({"metadata": {"name": "shop"}})
    return core


def _later(delay, fn):
    t = threading.Thread(target=lambda: (time.sleep(delay), fn()), daemon=True)
    t.start()
    return t


def _events(server, stream):
    out = []
    for ev in stream:
        server.record({"type": ev["type"], "object": ev["raw_object"]})
        out.append(ev)
    return out


def test_list_then_watch_from_its_resource_version_with_bookmarks(server, api):
    api.create_namespaced_service("shop", _svc("a"))
    listed = api.list_namespaced_service("shop")
    t = _later(0.2, lambda: api.create_namespaced_service("shop", _svc("b")))
    w = watch.Watch()
    events = _events(server, w.stream(api.list_namespaced_service, "shop", resource_version=listed.metadata.
                                      resource_version, allow_watch_bookmarks=True, timeout_seconds=1))
    t.join()
    kinds = [(e["type"], e["raw_object"]["metadata"].get("name")) for e in events]
    assert ("ADDED", "b") in kinds and ("ADDED", "a") not in kinds, kinds
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks, kinds
    b = bookmarks[-1]["raw_object"]
    assert b["kind"] == "Service" and b["apiVersion"] == "v1" and set(b) == {"kind", "apiVersion", "metadata"}
    assert int(b["metadata"]["resourceVersion"]) >= int(listed.metadata.resource_version) + 1
    assert w.resource_version == b["metadata"]["resourceVersion"] or int(w.resource_version) > 0


def test_watch_without_resource_version_starts_with_the_current_state(server, api):
    api.create_namespaced_service("shop", _svc("a"))
    api.create_namespaced_service("shop", _svc("b"))
    events = _events(server, watch.Watch().stream(api.list_namespaced_service, "shop", timeout_seconds=1))
    assert [(e["type"], e["raw_object"]["metadata"]["name"]) for e in events] == [("ADDED", "a"), ("ADDED", "b")]
    # The watch-list form (sendInitialEvents) ends the initial state with a marked bookmark.
    head, chunks, complete = server.raw_stream("/api/v1/namespaces/shop/services?watch=1&sendInitialEvents=true"
                                               "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
                                               "&timeoutSeconds=1")
    lines = [json.loads(x) for x in b"".join(chunks).splitlines()]
    assert [x["type"] for x in lines[:3]] == ["ADDED", "ADDED", "BOOKMARK"] and complete
    assert lines[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_modified_deleted_and_selector_transitions(server, api):
    api.create_namespaced_service("shop", _svc("a", {"tier": "edge"}))
    rv = api.list_namespaced_service("shop").metadata.resource_version

    def writes():
        api.patch_namespaced_service("a", "shop", {"metadata": {"labels": {"tier": "core"}}})  # leaves the selector
        api.patch_namespaced_service("a", "shop", {"metadata": {"labels": {"tier": "edge"}}})  # comes back
        api.patch_namespaced_service("a", "shop", {"metadata": {"annotations": {"x": "y"}}})
        api.delete_namespaced_service("a", "shop")
    t = _later(0.1, writes)
    events = _events(server, watch.Watch().stream(api.list_namespaced_service, "shop", resource_version=rv,
                                                  label_selector="tier=edge", timeout_seconds=1))
    t.join()
    assert [e["type"] for e in events] == ["DELETED", "ADDED", "MODIFIED", "DELETED"]
    rvs = [int(e["raw_object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == 4


def test_watch_resumes_after_the_server_closes_every_watch(server, api):
    api.create_namespaced_service("shop", _svc("a"))
    rv = api.list_namespaced_service("shop").metadata.resource_version
    w = watch.Watch()
    got, failures = [], []

    def consume():
        try:
            for ev in w.stream(api.list_namespaced_service, "shop", resource_version=rv):
                server.record({"type": ev["type"], "object": ev["raw_object"]})
                got.append((ev["type"], ev["raw_object"]["metadata"]["name"]))
        except Exception as e:  # noqa: BLE001 - the abrupt end surfaces as urllib3's ProtocolError
            failures.append(e)
    t = threading.Thread(target=consume, daemon=True)
    t.start()
    deadline = time.monotonic() + 5
    while server.raw("GET", "/testing/stats", record=False)[2].get("open_watches", 0) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    api.create_namespaced_service("shop", _svc("b"))
    while not got:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    status, _, doc = server.raw("POST", "/testing/close-watches", record=False)
    assert status == 200 and doc["closed"] == 1
    t.join(5)
    assert not t.is_alive() and len(failures) == 1, "the stream must end without its final chunk"
    assert "ended prematurely" in str(failures[0])
    api.create_namespaced_service("shop", _svc("c"))          # written while no watch is open
    # Resume from the last resourceVersion seen: nothing is lost, nothing repeats.
    events = _events(server, watch.Watch().stream(api.list_namespaced_service, "shop",
                                                  resource_version=w.resource_version, timeout_seconds=1))
    assert got == [("ADDED", "b")]
    assert [(e["type"], e["raw_object"]["metadata"]["name"]) for e in events] == [("ADDED", "c")]
    stats = server.raw("GET", "/testing/stats", record=False)[2]
    assert stats["watch"] == 2 and stats["open_watches"] == 0


def test_resuming_from_a_compacted_revision_is_410(server, api):
    api.create_namespaced_service("shop", _svc("a"))
    rv = api.list_namespaced_service("shop").metadata.resource_version
    api.create_namespaced_service("shop", _svc("b"))
    status, _, _ = server.raw("POST", "/testing/compact", record=False)
    assert status == 200
    with pytest.raises(ApiException) as e:
        list(watch.Watch().stream(api.list_namespaced_service, "shop", resource_version=rv, timeout_seconds=2))
    assert e.value.status == 410 and "Expired" in e.value.reason
    # On the wire: one ERROR event carrying a Status, then the stream ends.
    head, chunks, complete = server.raw_stream(f"/api/v1/namespaces/shop/services?watch=true&resourceVersion={rv}")
    assert head.startswith("HTTP/1.1 200") and complete
    (line,) = b"".join(chunks).splitlines()
    ev = json.loads(line)
    assert ev["type"] == "ERROR" and ev["object"]["kind"] == "Status"
    assert ev["object"]["code"] == 410 and ev["object"]["reason"] == "Expired"
    # The current revision is still fine.
    now = api.list_namespaced_service("shop").metadata.resource_version
    assert list(watch.Watch().stream(api.list_namespaced_service, "shop", resource_version=now,
                                     timeout_seconds=1)) == []


def test_history_is_bounded(start_server):
    server = start_server("--watch-history", "3")
    api = kubernetes.client.CoreV1Api(server.api_client())
    api.create_namespace({"metadata": {"name": "shop"}})
    first = api.create_namespaced_service("shop", _svc("s0")).metadata.resource_version
    for i in range(1, 5):
        api.create_namespaced_service("shop", _svc(f"s{i}"))
    with pytest.raises(ApiException) as e:
        list(watch.Watch().stream(api.list_namespaced_service, "shop", resource_version=first, timeout_seconds=1))
    assert e.value.status == 410
    recent = int(first) + 2
    events = list(watch.Watch().stream(api.list_namespaced_service, "shop", resource_version=str(recent),
                                       timeout_seconds=1))
    assert [e["raw_object"]["metadata"]["name"] for e in events] == ["s3", "s4"]


def test_timeout_seconds_ends_a_watch_cleanly(server, api):
    start = time.monotonic()
    head, chunks, complete = server.raw_stream("/api/v1/namespaces/shop/services?watch=1&timeoutSeconds=1"
                                               "&allowWatchBookmarks=true")
    elapsed = time.monotonic() - start
    assert head.startswith("HTTP/1.1 200") and "Transfer-Encoding: chunked" in head
    assert complete and 0.9 <= elapsed < 3
    assert all(json.loads(x)["type"] == "BOOKMARK" for x in b"".join(chunks).splitlines())


@pytest.mark.parametrize("mode", ["split", "coalesce"])
def test_clients_cope_with_split_and_coalesced_chunks(start_server, mode):
    server = start_server("--chunking", mode)
    api = kubernetes.client.CoreV1Api(server.api_client())
    api.create_namespace({"metadata": {"name": "shop"}})
    for i in range(3):
        api.create_namespaced_service("shop", _svc(f"s{i}"))
    head, chunks, complete = server.raw_stream("/api/v1/namespaces/shop/services?watch=1&timeoutSeconds=1")
    lines = b"".join(chunks).splitlines()
    assert [json.loads(x)["object"]["metadata"]["name"] for x in lines] == ["s0", "s1", "s2"]
    if mode == "split":
        assert len(chunks) > len(lines) and not all(c.endswith(b"\n") for c in chunks)
    else:
        assert len(chunks) == 1 and chunks[0].count(b"\n") == 3
    # Live events too, through the Python client's line decoder.
    rv = api.list_namespaced_service("shop").metadata.resource_version

    def writes():
        for i in range(3, 6):
            api.create_namespaced_service("shop", _svc(f"s{i}"))
    t = _later(0.1, writes)
    events = _events(server, watch.Watch().stream(api.list_namespaced_service, "shop", resource_version=rv,
                                                  timeout_seconds=1))
    t.join()
    assert [e["raw_object"]["metadata"]["name"] for e in events] == ["s3", "s4", "s5"]


def test_a_client_that_goes_away_no_longer_counts_as_a_watch(server, api):
    import socket
    sock = socket.create_connection((server.host, server.port), timeout=5)
    tls = server.ssl_context().wrap_socket(sock, server_hostname="localhost")
    tls.sendall(f"GET /api/v1/namespaces/shop/services?watch=1 HTTP/1.1\r\nHost: localhost\r\n"
                f"Authorization: Bearer {server.token}\r\n\r\n".encode())
    assert tls.recv(4096).startswith(b"HTTP/1.1 200")
    deadline = time.monotonic() + 5
    while server.raw("GET", "/testing/stats", record=False)[2].get("open_watches", 0) != 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    tls.close()
    while server.raw("GET", "/testing/stats", record=False)[2].get("open_watches", 0) != 0:
        assert time.monotonic() < deadline, "the server still counts a watch whose client closed"
        time.sleep(0.05)
