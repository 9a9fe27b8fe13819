"""What the Kubernetes lab (`switchyard lab up --kubernetes`) needs of the test API server: a certificate valid
for the address it listens on in the lab (agents in other network namespaces dial 10.77.2.1, not loopback), and
Pods, which the lab writes itself as the kubelet would (spec by apply, podIP/phase/Ready through /status)."""

import ipaddress
import json

import yaml
from cryptography import x509

from apiserver import certs


def _sans(server):
    with open(f"{server.dir}/server.crt", "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def test_the_certificate_covers_the_listen_host(start_server):
    s = start_server("--listen", "127.0.0.2:0")
    assert s.url.startswith("https://127.0.0.2:")
    assert ipaddress.ip_address("127.0.0.2") in _sans(s).get_values_for_type(x509.IPAddress)
    # kubectl verifies the server certificate against the kubeconfig's CA for the address it dialled.
    res = s.kubectl("get", "ns", "default", "-o", "json")
    assert json.loads(res.stdout)["metadata"]["name"] == "default"


def test_the_default_certificate_names_only_loopback(server):
    ips = _sans(server).get_values_for_type(x509.IPAddress)
    assert sorted(map(str, ips)) == ["127.0.0.1", "::1"]


def test_extra_names_skip_wildcards_and_duplicates():
    names = certs.subject_alternative_names(["0.0.0.0", "[::]", "127.0.0.1", "[fd77:2::1]", "api.lab"])
    ips = [n.value for n in names if isinstance(n, x509.IPAddress)]
    dns = [n.value for n in names if isinstance(n, x509.DNSName)]
    assert [str(i) for i in ips] == ["127.0.0.1", "::1", "fd77:2::1"]
    assert dns == ["localhost", "kubernetes", "kubernetes.default.svc", "api.lab"]


POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"}},
       "spec": {"nodeName": "w1", "containers": [{"name": "server", "image": "switchyard-lab:none",
                                                  "ports": [{"containerPort": 8080}]}]}}


def test_pods_take_the_kubelets_status_and_keep_it_across_apply(server):
    path = f"{server.dir}/pod.yaml"
    with open(path, "w") as f:
        yaml.safe_dump(POD, f)
    server.kubectl("apply", "-f", path)
    status = {"status": {"phase": "Running", "podIP": "10.78.1.10", "podIPs": [{"ip": "10.78.1.10"}],
                         "conditions": [{"type": "Ready", "status": "True"}]}}
    server.kubectl("patch", "pod", "web-1", "--subresource=status", "--type=merge", "-p", json.dumps(status))
    server.kubectl("apply", "-f", path)  # the spec again: the status stays
    got = json.loads(server.kubectl("get", "pod", "web-1", "-o", "json").stdout)
    assert got["spec"]["nodeName"] == "w1"
    assert got["status"]["podIP"] == "10.78.1.10" and got["status"]["phase"] == "Running"
    assert got["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    assert "web-1" in server.kubectl("get", "pods").stdout
