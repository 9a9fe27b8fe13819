"""Just enough of the Kubernetes protobuf encoding to read the request bodies kubectl's generators send
(`kubectl create namespace|configmap|serviceaccount` encode typed objects as protobuf). Other kinds in
protobuf answer 415 with a message saying what to do instead."""

import base64

MAGIC = b"k8s\x00"


class Unsupported(Exception):
    pass


def _varint(data, i):
    shift = result = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def fields(data: bytes):
    """(field number, wire type, value) triples; value is an int or bytes."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(data, i)
        elif wt == 2:
            n, i = _varint(data, i)
            v, i = data[i:i + n], i + n
        elif wt == 1:
            v, i = int.from_bytes(data[i:i + 8], "little"), i + 8
        elif wt == 5:
            v, i = int.from_bytes(data[i:i + 4], "little"), i + 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
        yield num, wt, v


def _str(v):
    return v.decode()


def _map(v, value=_str):
    k = val = None
    for n, _, x in fields(v):
        if n == 1:
            k = x.decode()
        elif n == 2:
            val = value(x)
    return k, (val if val is not None else value(b""))


def _time(v):
    import datetime
    secs = 0
    for n, _, x in fields(v):
        if n == 1:
            secs = x
    return datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_ref(v):
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    out = {}
    for n, _, x in fields(v):
        if n in names:
            out[names[n]] = x.decode()
        elif n == 6:
            out["controller"] = bool(x)
        elif n == 7:
            out["blockOwnerDeletion"] = bool(x)
    return out


def object_meta(v) -> dict:
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    out = {}
    for n, _, x in fields(v):
        if n in strings:
            if x:  # proto2 writes empty strings too; JSON omits them
                out[strings[n]] = x.decode()
        elif n == 7:
            out["generation"] = x
        elif n == 8:
            out["creationTimestamp"] = _time(x)
        elif n in (11, 12):
            k, val = _map(x)
            out.setdefault("labels" if n == 11 else "annotations", {})[k] = val
        elif n == 13:
            out.setdefault("ownerReferences", []).append(_owner_ref(x))
        elif n == 14:
            out.setdefault("finalizers", []).append(x.decode())
    return out


def _namespace(raw):
    out = {}
    for n, _, x in fields(raw):
        if n == 1:
            out["metadata"] = object_meta(x)
        elif n == 2:
            finalizers = [f.decode() for m, _, f in fields(x) if m == 1]
            if finalizers:
                out["spec"] = {"finalizers": finalizers}
    return out


def _configmap(raw):
    out = {}
    for n, _, x in fields(raw):
        if n == 1:
            out["metadata"] = object_meta(x)
        elif n == 2:
            k, v = _map(x)
            out.setdefault("data", {})[k] = v
        elif n == 3:
            k, v = _map(x, lambda b: base64.b64encode(b).decode())
            out.setdefault("binaryData", {})[k] = v
        elif n == 4:
            out["immutable"] = bool(x)
    return out


def _serviceaccount(raw):
    out = {}
    for n, _, x in fields(raw):
        if n == 1:
            out["metadata"] = object_meta(x)
        elif n == 3:
            out.setdefault("imagePullSecrets", []).append({"name": next((f.decode() for m, _, f in fields(x)
                                                                          if m == 1), "")})
        elif n == 4:
            out["automountServiceAccountToken"] = bool(x)
    return out


DECODERS = {("v1", "Namespace"): _namespace, ("v1", "ConfigMap"): _configmap,
            ("v1", "ServiceAccount"): _serviceaccount}


def decode(body: bytes) -> dict:
    if not body.startswith(MAGIC):
        raise ValueError("missing the k8s protobuf magic prefix")
    api_version = kind = ""
    raw = b""
    for n, _, x in fields(body[len(MAGIC):]):
        if n == 1:
            for m, _, y in fields(x):
                if m == 1:
                    api_version = y.decode()
                elif m == 2:
                    kind = y.decode()
        elif n == 2:
            raw = x
    decoder = DECODERS.get((api_version, kind))
    if decoder is None:
        raise Unsupported(f"{api_version} {kind}")
    out = {"apiVersion": api_version, "kind": kind}
    out.update(decoder(raw))
    return out
