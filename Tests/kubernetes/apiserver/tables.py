"""Server-side printing: the meta.k8s.io Table kubectl asks for (Accept: application/json;as=Table;...), with
the columns the real server prints for the kinds Switchyard uses, a CRD's additionalPrinterColumns, and
Name/Age for the rest."""

import datetime



def wanted(accept: str):
    """The Table apiVersion the client accepts (v1 preferred), or None."""
    for part in (accept or "").split(","):
        params = dict(p.strip().split("=", 1) for p in part.split(";")[1:] if "=" in p)
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1",
                                                                                                     "v1beta1"):
            return f"meta.k8s.io/{params['v']}"
    return None


def _age(ts: str) -> str:
    try:
        then = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    s = max(0, int((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds()))
    if s < 120:
        return f"{s}s"
    if s < 3600 * 3:
        return f"{s // 60}m"
    if s < 86400 * 2:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def _col(name, typ="string", fmt="", priority=0, description=""):
    return {"name": name, "type": typ, "format": fmt, "description": description or name, "priority": priority}


NAME = _col("Name", fmt="name", description="Name must be unique within a namespace.")
AGE = _col("Age", description="CreationTimestamp is a timestamp representing the server time when this object "
                              "was created.")


def _service_row(o):
    spec, status = o.get("spec") or {}, o.get("status") or {}
    typ = spec.get("type", "ClusterIP")
    ips = [i.get("ip") or i.get("hostname") for i in (status.get("loadBalancer") or {}).get("ingress") or []]
    ips = [i for i in ips if i] + list(spec.get("externalIPs") or [])
    external = ",".join(ips) if ips else ("<pending>" if typ == "LoadBalancer" else
                                          spec.get("externalName", "<none>") if typ == "ExternalName" else "<none>")
    ports = ",".join(f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}" if p.get("nodePort")
                     else f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [typ, spec.get("clusterIP", "<none>"), external, ports or "<none>", _age(o["metadata"].get(
        "creationTimestamp")), selector]


PRINTERS = {
    ("", "Service"): ([_col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), AGE,
                       _col("Selector", priority=1)], _service_row),
    ("", "Namespace"): ([_col("Status"), AGE], lambda o: [(o.get("status") or {}).get("phase", ""),
                                                         _age(o["metadata"].get("creationTimestamp"))]),
    ("", "ConfigMap"): ([_col("Data", "integer"), AGE], lambda o: [len(o.get("data") or {}) + len(
        o.get("binaryData") or {}), _age(o["metadata"].get("creationTimestamp"))]),
    ("coordination.k8s.io", "Lease"): ([_col("Holder"), AGE], lambda o: [
        (o.get("spec") or {}).get("holderIdentity", ""), _age(o["metadata"].get("creationTimestamp"))]),
    ("apps", "Deployment"): ([_col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), AGE],
                             lambda o: [f"{(o.get('status') or {}).get('readyReplicas', 0)}/"
                                        f"{(o.get('spec') or {}).get('replicas', 1)}",
                                        (o.get("status") or {}).get("updatedReplicas", 0),
                                        (o.get("status") or {}).get("availableReplicas", 0),
                                        _age(o["metadata"].get("creationTimestamp"))]),
}


def _jsonpath(obj, path):
    """The simple `.a.b` paths printer columns use; lists print as JSON like the real server."""
    import json
    cur = obj
    for p in path.strip(".").split("."):
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    if isinstance(cur, (list, dict)):
        return json.dumps(cur, separators=(",", ":"))
    return cur


def columns_and_row(rt):
    key = (rt.group, rt.kind)
    if key in PRINTERS:
        cols, fn = PRINTERS[key]
        return [NAME] + cols, fn
    if rt.crd is not None and rt.crd.get("additionalPrinterColumns"):
        pcs = rt.crd["additionalPrinterColumns"]
        cols = [_col(c["name"], c.get("type", "string"), c.get("format", ""), c.get("priority", 0),
                     c.get("description", "")) for c in pcs]
        return [NAME] + cols, lambda o: [_age(v) if c.get("type") == "date" and isinstance(v, str) else v
                                         for c, v in ((c, _jsonpath(o, c["jsonPath"])) for c in pcs)]
    if key in CREATED_AT:
        return [NAME, _col("Created At", "date", description="CreationTimestamp is a timestamp representing the "
                           "server time when this object was created.")], \
            lambda o: [o["metadata"].get("creationTimestamp")]
    return [NAME, AGE], lambda o: [_age(o["metadata"].get("creationTimestamp"))]


# Kinds the real server prints with its default table convertor.
CREATED_AT = {("apiextensions.k8s.io", "CustomResourceDefinition"), ("rbac.authorization.k8s.io", "ClusterRole"),
              ("rbac.authorization.k8s.io", "Role")}


def table(rt, objects, api_version, include_object, resource_version=None, headers=True):
    cols, fn = columns_and_row(rt)
    rows = []
    for o in objects:
        row = {"cells": [o["metadata"].get("name", "")] + fn(o)}
        if include_object == "Object":
            row["object"] = o
        elif include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": api_version,
                             "metadata": o["metadata"]}
        rows.append(row)
    out = {"kind": "Table", "apiVersion": api_version, "metadata": {}, "rows": rows}
    if headers:
        out["columnDefinitions"] = cols
    else:
        out["columnDefinitions"] = []
    if resource_version is not None:
        out["metadata"]["resourceVersion"] = resource_version
    return out
