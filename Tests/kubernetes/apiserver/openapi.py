"""OpenAPI v3 (per group-version, as the real /openapi/v3 serves it), enough for kubectl: `apply` asks it
whether a kind's PATCH takes `fieldValidation` (then validation happens here, server-side) and reads the
patch merge keys for strategic merge patches. Schemas come from the published definitions for built-in
kinds and from each CRD's openAPIV3Schema. /openapi/v2 is not served (kubectl only falls back to it)."""

import copy
import hashlib
import json

from . import schema

_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"


def _gv_path(group, version):
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def document(store, path):
    with store.lock:
        gvs = {}
        for rt in store.registry.types.values():
            gvs.setdefault(_gv_path(rt.group, rt.version), []).append(rt)
        if path == "/openapi/v3":
            return {"paths": {p: {"serverRelativeURL": f"/openapi/v3/{p}?hash={_hash(rts)}"}
                              for p, rts in sorted(gvs.items())}}
        rel = path[len("/openapi/v3/"):] if path.startswith("/openapi/v3/") else None
        if rel not in gvs:
            return None
        return _gv_document(gvs[rel])


def _hash(rts) -> str:
    h = hashlib.sha512()
    for rt in rts:
        h.update(f"{rt.group}/{rt.version}/{rt.plural}/{rt.crd_name}".encode())
        if rt.crd is not None:
            h.update(json.dumps(rt.crd, sort_keys=True).encode())
    return h.hexdigest()[:64].upper()


def _convert(node):
    """Published JSON-Schema flavour → OpenAPI v3 as the real server writes it."""
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "$ref":
            out[k] = "#/components/schemas/" + v.rsplit("/", 1)[-1]
        elif k == "type" and isinstance(v, list):
            types = [t for t in v if t != "null"]
            out[k] = types[0] if len(types) == 1 else types
        elif k in ("$schema", "$id"):
            continue
        elif k in ("properties",):
            out[k] = {n: _convert(s) for n, s in v.items()}
        else:
            out[k] = _convert(v)
    return out


def _reachable(names):
    defs = schema.definitions()
    seen, todo = set(), list(names)
    while todo:
        n = todo.pop()
        if n in seen or n not in defs:
            continue
        seen.add(n)
        stack = [defs[n]]
        while stack:
            x = stack.pop()
            if isinstance(x, dict):
                ref = x.get("$ref")
                if isinstance(ref, str):
                    todo.append(ref.rsplit("/", 1)[-1])
                stack.extend(x.values())
            elif isinstance(x, list):
                stack.extend(x)
    return seen


def _operation(rt, action, schema_ref, with_params):
    op = {"description": f"{action} {rt.kind}", "operationId": f"{action}{rt.kind}",
          "x-kubernetes-action": action,
          "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
          "responses": {"200": {"description": "OK", "content": {
              "application/json": {"schema": {"$ref": schema_ref}}}}}}
    if with_params:
        op["parameters"] = [
            {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
        ]
        op["requestBody"] = {"content": {"application/json": {"schema": {"$ref": schema_ref}}}, "required": True}
    return op


def _gv_document(rts):
    schemas = {}
    paths = {}
    builtin_names = []
    for rt in rts:
        if rt.crd is None:
            name = schema.definition_name(rt.group, rt.version, rt.kind)
            if name:
                builtin_names.append(name)
        else:
            name = f"{'.'.join(reversed(rt.group.split('.')))}.{rt.version}.{rt.kind}"
            s = _convert(copy.deepcopy((rt.crd.get("schema") or {}).get("openAPIV3Schema") or {"type": "object"}))
            props = s.setdefault("properties", {})
            props["apiVersion"] = {"type": "string"}
            props["kind"] = {"type": "string"}
            props["metadata"] = {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
            s["x-kubernetes-group-version-kind"] = [{"group": rt.group, "version": rt.version, "kind": rt.kind}]
            schemas[name] = s
            builtin_names.append("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        ref = f"#/components/schemas/{name}"
        prefix = "/" + _gv_path(rt.group, rt.version)
        base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
        paths[base] = {"get": _operation(rt, "list", ref, False), "post": _operation(rt, "post", ref, True)}
        paths[f"{base}/{{name}}"] = {"get": _operation(rt, "get", ref, False), "put": _operation(rt, "put", ref, True),
                                     "patch": _operation(rt, "patch", ref, True),
                                     "delete": _operation(rt, "delete", ref, False)}
        if rt.status:
            paths[f"{base}/{{name}}/status"] = {"get": _operation(rt, "get", ref, False),
                                                "put": _operation(rt, "put", ref, True),
                                                "patch": _operation(rt, "patch", ref, True)}
    defs = schema.definitions()
    for n in _reachable(builtin_names):
        schemas[n] = _convert(defs[n])
    if _INT_OR_STRING in schemas:
        schemas[_INT_OR_STRING] = {"type": "string", "format": "int-or-string"}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.37.0"}, "paths": paths,
            "components": {"schemas": schemas}}
