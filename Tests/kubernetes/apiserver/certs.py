"""The test PKI: a CA, a server certificate for 127.0.0.1/::1/localhost (and the host the server listens on,
when that is another one) and a client certificate (CN admin, O system:masters), plus the two kubeconfig files
clients use.

Elliptic-curve keys keep start-up fast (RSA generation costs tens of milliseconds per key on a shared core).
"""

import base64
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _builder(subject, issuer, public_key, days=30):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days)))


def subject_alternative_names(extra_hosts=()) -> list:
    """The server certificate's names: the loopback ones every client uses, then each of `extra_hosts` (an IP
    address or a DNS name, e.g. the lab's 10.77.2.1 where pods and agents reach the server). A wildcard listen
    address (0.0.0.0, ::) is no name a client connects to, so it adds nothing."""
    names = [x509.DNSName("localhost"), x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default.svc"),
             x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
    for host in extra_hosts:
        host = host.strip("[]")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            name = x509.DNSName(host)
        else:
            if address.is_unspecified:
                continue
            name = x509.IPAddress(address)
        if name not in names:
            names.append(name)
    return names


class PKI:
    """Everything generated once per server start; PEM bytes ready to write. `extra_hosts`: names the server
    certificate covers beside the loopback ones (see `subject_alternative_names`)."""

    def __init__(self, extra_hosts=()):
        ca_key = _key()
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "switchyard-test-ca")])
        ca_cert = (_builder(ca_name, ca_name, ca_key.public_key())
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .sign(ca_key, hashes.SHA256()))
        server_key = _key()
        server_cert = (_builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
                                ca_name, server_key.public_key())
                       .add_extension(x509.SubjectAlternativeName(subject_alternative_names(extra_hosts)),
                                      critical=False)
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                       .sign(ca_key, hashes.SHA256()))
        client_key = _key()
        client_cert = (_builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "admin"),
                                           x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")]),
                                ca_name, client_key.public_key())
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                       .sign(ca_key, hashes.SHA256()))
        self.ca_cert = _pem_cert(ca_cert)
        self.server_cert = _pem_cert(server_cert)
        self.server_key = _pem_key(server_key)
        self.client_cert = _pem_cert(client_cert)
        self.client_key = _pem_key(client_key)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _kubeconfig(server: str, ca: bytes, user_name: str, user: dict) -> str:
    # JSON is YAML; no PyYAML dependency for writing.
    import json
    doc = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "switchyard-test", "cluster": {"server": server,
                                                             "certificate-authority-data": _b64(ca)}}],
        "users": [{"name": user_name, "user": user}],
        "contexts": [{"name": "switchyard-test", "context": {"cluster": "switchyard-test", "user": user_name,
                                                             "namespace": "default"}}],
        "current-context": "switchyard-test",
    }
    return json.dumps(doc, indent=2) + "\n"


def write_files(state_dir: str, pki: PKI, server, token: str) -> dict:
    """Without a server URL: writes ca.crt, token, server.crt/key, client.crt/key. With one: kubeconfig
    (bearer token) and kubeconfig-cert (client certificate). Returns the paths by name."""
    os.makedirs(state_dir, exist_ok=True)
    files = {
        "ca.crt": pki.ca_cert, "server.crt": pki.server_cert, "server.key": pki.server_key,
        "client.crt": pki.client_cert, "client.key": pki.client_key, "token": token.encode(),
    }
    if server is not None:  # the kubeconfigs only once the port is known
        files = {
            "kubeconfig": _kubeconfig(server, pki.ca_cert, "switchyard-test-token", {"token": token}).encode(),
            "kubeconfig-cert": _kubeconfig(server, pki.ca_cert, "admin", {
                "client-certificate-data": _b64(pki.client_cert), "client-key-data": _b64(pki.client_key)}).encode(),
        }
    paths = {}
    for name, data in files.items():
        path = os.path.join(state_dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        paths[name] = path
    return paths
