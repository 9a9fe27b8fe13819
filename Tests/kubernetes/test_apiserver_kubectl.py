"""The test API server as kubectl v1.37 sees it: apply (create and patch paths), get, get -w, wait, delete,
authentication by token and by client certificate."""

import json
import time

import kubernetes
import yaml

from conftest import ADDRESSPOOL_CRD

SERVICE = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"type": "LoadBalancer", "loadBalancerClass": "switchyard.io/lb", "selector": {"app": "web"},
             "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
}
POOL = {"apiVersion": "switchyard.io/v1alpha1", "kind": "AddressPool", "metadata": {"name": "public"},
        "spec": {"addresses": ["192.0.2.0/28"]}}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}


def _manifest(*docs):
    return "---\n".join(yaml.safe_dump(d) for d in docs)


def _write(server, name, *docs):
    path = f"{server.dir}/{name}"
    with open(path, "w") as f:
        f.write(_manifest(*docs))
    return path


def test_apply_multi_document_then_reapply_patches(server):
    path = _write(server, "all.yaml", NAMESPACE, ADDRESSPOOL_CRD, POOL, SERVICE)
    first = server.kubectl("apply", "-f", path, check=False)
    # As with a real server: the AddressPool cannot be mapped before its CRD exists; the rest is applied.
    assert first.returncode == 1
    assert "ensure CRDs are installed first" in first.stderr
    assert "service/web created" in first.stdout
    second = server.kubectl("apply", "-f", path)
    assert "addresspool.switchyard.io/public created" in second.stdout
    assert "service/web unchanged" in second.stdout

    pool = json.loads(server.kubectl("get", "addresspool", "public", "-o", "json").stdout)
    assert pool["spec"] == {"addresses": ["192.0.2.0/28"], "autoAssign": True, "avoidBuggyIPs": False,
                            "disabled": False}
    server.record(pool)

    svc = dict(SERVICE, metadata=dict(SERVICE["metadata"], annotations={"switchyard.io/mode": "stateful"}))
    svc["spec"] = dict(SERVICE["spec"], ports=[{"name": "http", "port": 80, "targetPort": 8080},
                                               {"name": "https", "port": 443}])
    pool2 = dict(POOL, spec={"addresses": ["192.0.2.0/28", "2001:db8::/120"], "autoAssign": False})
    patches_before = server.raw("GET", "/testing/stats")[2].get("patch", 0)
    third = server.kubectl("apply", "-f", _write(server, "changed.yaml", NAMESPACE, ADDRESSPOOL_CRD, pool2, svc))
    assert "service/web configured" in third.stdout and "addresspool.switchyard.io/public configured" in third.stdout
    assert server.raw("GET", "/testing/stats")[2]["patch"] >= patches_before + 2

    got = json.loads(server.kubectl("get", "-n", "shop", "svc", "web", "-o", "json").stdout)
    assert got["metadata"]["annotations"]["switchyard.io/mode"] == "stateful"
    assert [p["port"] for p in got["spec"]["ports"]] == [80, 443]
    assert got["spec"]["ports"][1]["targetPort"] == 443 and got["spec"]["ports"][1]["protocol"] == "TCP"
    assert got["spec"]["clusterIP"] and got["spec"]["ports"][0]["nodePort"] >= 30000
    pool = json.loads(server.kubectl("get", "ap", "public", "-o", "json").stdout)
    assert pool["spec"]["autoAssign"] is False and pool["metadata"]["generation"] == 2

    listed = server.kubectl("get", "addresspools").stdout.splitlines()
    assert listed[0].split() == ["NAME", "ADDRESSES"]       # the CRD's printer column
    assert listed[1].split() == ["public", '["192.0.2.0/28","2001:db8::/120"]']


def test_apply_strict_field_validation_rejects_unknown_fields(server):
    server.kubectl("apply", "-f", _write(server, "crd.yaml", ADDRESSPOOL_CRD))
    bad = dict(POOL, spec={"addresses": ["192.0.2.0/28"], "bogus": 1})
    res = server.kubectl("apply", "-f", _write(server, "bad.yaml", bad), check=False)
    assert res.returncode == 1
    assert 'unknown field "spec.bogus"' in res.stderr


def _python_client(server):
    return kubernetes.client.CoreV1Api(server.api_client())


def test_get_watch_sees_a_change(start_server):
    # Events split across chunks: kubectl's decoder must put them back together.
    server = start_server("--chunking", "split")
    server.kubectl("apply", "-f", _write(server, "ns.yaml", NAMESPACE, SERVICE))
    proc = server.kubectl_popen("get", "-n", "shop", "svc", "web", "-w", "-o", "json", "--output-watch-events",
                                "--request-timeout=2s")
    try:
        time.sleep(0.7)
        _python_client(server).patch_namespaced_service("web", "shop", {"metadata": {"labels": {"tier": "edge"}}})
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    decoder, text, events = json.JSONDecoder(), out.strip(), []
    while text:
        ev, end = decoder.raw_decode(text)
        events.append(ev)
        text = text[end:].strip()
    assert [e["type"] for e in events][:2] == ["ADDED", "MODIFIED"], (events, err)
    assert events[1]["object"]["metadata"]["labels"] == {"tier": "edge"}
    for e in events:
        server.record(e["object"])
    from conftest import validate_emitted
    validate_emitted(server, {})


def test_wait_for_jsonpath_completes_after_a_status_write(server):
    server.kubectl("apply", "-f", _write(server, "ns.yaml", NAMESPACE, SERVICE))
    proc = server.kubectl_popen("wait", "-n", "shop", "svc/web",
                                "--for=jsonpath={.status.loadBalancer.ingress[0].ip}=192.0.2.7", "--timeout=20s")
    try:
        time.sleep(1.0)
        assert proc.poll() is None, "kubectl wait returned before the status was written"
        _python_client(server).patch_namespaced_service_status(
            "web", "shop", {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.7", "ipMode": "VIP"}]}}})
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "condition met" in out
    # Server-side printing: the columns of the real Service table.
    table = server.kubectl("get", "-n", "shop", "svc").stdout.splitlines()
    assert table[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert table[1].split()[:5] == ["web", "LoadBalancer", table[1].split()[2], "192.0.2.7",
                                    f"80:{table[1].split()[4].split(':')[1]}"]


def test_delete(server):
    server.kubectl("apply", "-f", _write(server, "ns.yaml", NAMESPACE, SERVICE))
    res = server.kubectl("delete", "-n", "shop", "svc", "web")
    assert 'service "web" deleted' in res.stdout
    gone = server.kubectl("get", "-n", "shop", "svc", "web", check=False)
    assert gone.returncode == 1 and 'services "web" not found' in gone.stderr


def test_wrong_token_is_refused(server):
    res = server.kubectl("get", "ns", "--token", "not-the-token", check=False)
    assert res.returncode == 1
    assert "You must be logged in to the server" in res.stderr
    status, _, body = server.raw("GET", "/api/v1/namespaces", token="wrong")
    assert status == 401 and body["reason"] == "Unauthorized" and body["code"] == 401
    status, _, body = server.raw("GET", "/api/v1/namespaces", token=False)
    assert status == 401


def test_client_certificate_kubeconfig(server):
    res = server.kubectl("get", "ns", "kube-system", "-o", "json", kubeconfig=server.kubeconfig_cert)
    ns = json.loads(res.stdout)
    assert ns["metadata"]["name"] == "kube-system" and len(ns["metadata"]["uid"]) == 36
    with open(server.kubeconfig_cert) as f:
        assert "token" not in yaml.safe_load(f)["users"][0]["user"]
    v1 = kubernetes.client.CoreV1Api(server.api_client(server.kubeconfig_cert))
    assert v1.read_namespace("default").metadata.name == "default"


def test_kubectl_create_generators_send_protobuf(server):
    # `kubectl create namespace|configmap|serviceaccount` send typed protobuf bodies.
    assert "namespace/shop created" in server.kubectl("create", "namespace", "shop").stdout
    server.kubectl("create", "configmap", "-n", "shop", "cfg", "--from-literal=a=b", "--from-literal=c=d")
    server.kubectl("create", "serviceaccount", "-n", "shop", "switchyard-agent")
    ns = json.loads(server.kubectl("get", "ns", "shop", "-o", "json").stdout)
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and "generateName" not in ns["metadata"]
    cm = json.loads(server.kubectl("get", "cm", "-n", "shop", "cfg", "-o", "json").stdout)
    assert cm["data"] == {"a": "b", "c": "d"}
    server.kubectl("get", "sa", "-n", "shop", "switchyard-agent")
    other = server.kubectl("create", "deployment", "-n", "shop", "d", "--image=x", check=False)
    assert other.returncode == 1 and "send JSON" in other.stderr
