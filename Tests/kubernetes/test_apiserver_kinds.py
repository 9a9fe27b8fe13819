"""Every built-in kind Switchyard uses round-trips through the test API server and comes back valid under
the published schema; the schema check itself rejects bad objects; the server stops cleanly on SIGTERM."""

import signal
import threading
import time

import pytest

from conftest import validate_emitted

OBJECTS = [
    ("/api/v1/namespaces/shop/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": "cfg"}, "data": {"a": "b"}}),
    ("/api/v1/namespaces/shop/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                 "metadata": {"name": "switchyard-controller"}}),
    ("/api/v1/namespaces/shop/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1"}, "reason": "Assigned",
        "message": "assigned 192.0.2.1", "type": "Normal", "count": 1,
        "involvedObject": {"kind": "Service", "namespace": "shop", "name": "web", "apiVersion": "v1"},
        "source": {"component": "switchyard-controller"}, "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z"}),
    ("/apis/events.k8s.io/v1/namespaces/shop/events", {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "web.2"},
        "eventTime": "2026-01-01T00:00:00.000000Z", "reason": "Assigned", "action": "Allocate", "type": "Normal",
        "reportingController": "switchyard.io/controller", "reportingInstance": "switchyard-controller-0",
        "regarding": {"kind": "Service", "namespace": "shop", "name": "web", "apiVersion": "v1"},
        "note": "assigned 192.0.2.1"}),
    ("/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abc", "labels": {"kubernetes.io/service-name": "web"}}, "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.5"], "conditions": {"ready": True}}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}),
    ("/apis/apps/v1/namespaces/shop/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "switchyard-controller"},
        "spec": {"selector": {"matchLabels": {"app": "c"}}, "template": {
            "metadata": {"labels": {"app": "c"}},
            "spec": {"containers": [{"name": "c", "image": "switchyard:test"}]}}}}),
    ("/apis/apps/v1/namespaces/shop/daemonsets", {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "switchyard-agent"},
        "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {
            "metadata": {"labels": {"app": "a"}},
            "spec": {"hostNetwork": True, "containers": [{"name": "a", "image": "switchyard:test"}]}}}}),
    ("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "switchyard:c"},
        "rules": [{"apiGroups": [""], "resources": ["services", "services/status"],
                   "verbs": ["get", "list", "watch", "update", "patch"]}]}),
    ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "switchyard:c"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "switchyard:c"},
        "subjects": [{"kind": "ServiceAccount", "name": "switchyard-controller", "namespace": "shop"}]}),
    ("/apis/rbac.authorization.k8s.io/v1/namespaces/shop/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "leases"},
        "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}]}),
    ("/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "leases"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "leases"},
        "subjects": [{"kind": "ServiceAccount", "name": "switchyard-controller", "namespace": "shop"}]}),
]


def test_built_in_kinds_round_trip(server):
    assert server.raw("POST", "/api/v1/namespaces", {"metadata": {"name": "shop"}})[0] == 201
    for path, body in OBJECTS:
        status, _, created = server.raw("POST", path, body)
        assert status == 201, (path, created)
        name = body["metadata"]["name"]
        status, _, got = server.raw("GET", f"{path}/{name}")
        assert status == 200 and got["kind"] == body["kind"] and got["apiVersion"] == body["apiVersion"]
        assert got["metadata"]["uid"] == created["metadata"]["uid"]
        status, _, listed = server.raw("GET", path)
        assert listed["kind"] == body["kind"] + "List" and [i["metadata"]["name"] for i in listed["items"]] == [name]
    status, _, dep = server.raw("GET", "/apis/apps/v1/namespaces/shop/deployments/switchyard-controller")
    assert dep["spec"]["replicas"] == 1
    status, _, bad = server.raw("POST", "/apis/apps/v1/namespaces/shop/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bad"}, "spec": {"replicas": "two"}})
    assert status == 422 and {"spec.replicas", "spec.selector", "spec.template"} <= {
        c["field"] for c in bad["details"]["causes"]}
    status, _, bad = server.raw("POST", "/api/v1/namespaces/shop/configmaps", {
        "apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    assert status == 400
    assert validate_emitted(server, {}) >= len(OBJECTS) + 1


def test_the_emitted_object_check_can_fail(server):
    server.emitted.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                           "spec": {"type": "LoadBalancer", "unknownField": 1}})
    with pytest.raises(AssertionError, match="unknownField"):
        validate_emitted(server, {})
    server.emitted[-1] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                          "spec": {"ports": [{"port": "eighty"}]}}
    with pytest.raises(AssertionError, match="eighty"):
        validate_emitted(server, {})
    server.emitted.clear()


def test_sigterm_stops_the_server_with_a_watch_open(server):
    result = {}

    def watch():
        result["stream"] = server.raw_stream("/api/v1/namespaces?watch=1", timeout=10)
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    deadline = time.monotonic() + 5
    while server.raw("GET", "/testing/stats", record=False)[2].get("open_watches", 0) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    start = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(5) == 0
    assert time.monotonic() - start < 3
    t.join(5)
    head, chunks, complete = result["stream"]
    assert head.startswith("HTTP/1.1 200") and complete      # the watch was ended properly
