"""Schemas: the published ones for built-in kinds (from the kubernetes_validate package, Kubernetes
1.37) and each CRD's openAPIV3Schema. Used to drop unknown fields (as the real decoder and a structural
schema's pruning do), to apply CRD defaults and to validate.
"""

import copy
import functools
import json
import os
import re

import jsonschema
import kubernetes_validate

KUBE_VERSION = "1.37.0"
_DEFS_PATH = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema",
                          f"v{KUBE_VERSION}-local", "_definitions.json")


@functools.lru_cache(maxsize=1)
def definitions() -> dict:
    with open(_DEFS_PATH) as f:
        return json.load(f)["$defs"]


@functools.lru_cache(maxsize=1)
def _gvk_index() -> dict:
    out = {}
    for name, d in definitions().items():
        for gvk in d.get("x-kubernetes-group-version-kind", []):
            out[(gvk["group"], gvk["version"], gvk["kind"])] = name
    return out


def definition_name(group, version, kind):
    return _gvk_index().get((group, version, kind))


@functools.lru_cache(maxsize=None)
def builtin_validator(def_name: str):
    schema = {"$ref": f"#/$defs/{def_name}", "$defs": definitions()}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _resolve_builtin(node):
    while isinstance(node, dict) and "$ref" in node:
        node = definitions()[node["$ref"].rsplit("/", 1)[-1]]
    return node


def field_path(parts) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def prune_builtin(obj, def_name: str) -> list:
    """Drops fields the kind's schema does not know, in place; returns their paths."""
    unknown = []
    _prune(obj, {"$ref": f"#/$defs/{def_name}"}, [], unknown, _resolve_builtin, structural=False)
    return unknown


def _prune(obj, node, path, unknown, resolve, structural):
    node = resolve(node)
    if not isinstance(node, dict) or node.get("x-kubernetes-preserve-unknown-fields"):
        if isinstance(node, dict) and isinstance(obj, dict) and "properties" in node:
            for k, v in obj.items():
                if k in node["properties"]:
                    _prune(v, node["properties"][k], path + [k], unknown, resolve, structural)
        return
    if isinstance(obj, dict):
        props = node.get("properties")
        addl = node.get("additionalProperties")
        if node.get("x-kubernetes-embedded-resource") and structural:
            props = dict(props or {})
            for k in ("apiVersion", "kind", "metadata"):
                props.setdefault(k, {"x-kubernetes-preserve-unknown-fields": True})
        if props is not None:
            for k in list(obj):
                if k in props:
                    _prune(obj[k], props[k], path + [k], unknown, resolve, structural)
                elif isinstance(addl, dict):
                    _prune(obj[k], addl, path + [k], unknown, resolve, structural)
                elif addl is True:
                    continue
                else:
                    unknown.append(field_path(path + [k]))
                    del obj[k]
        elif isinstance(addl, dict):
            for k in obj:
                _prune(obj[k], addl, path + [k], unknown, resolve, structural)
        elif structural and addl is not True and node.get("type") == "object":
            for k in list(obj):
                unknown.append(field_path(path + [k]))
                del obj[k]
    elif isinstance(obj, list) and isinstance(node.get("items"), dict):
        for i, item in enumerate(obj):
            _prune(item, node["items"], path + [i], unknown, resolve, structural)


# --- CRD schemas -------------------------------------------------------------------------------

def _identity(node):
    return node


def prune_custom(obj, schema: dict) -> list:
    """Structural pruning of a custom resource: apiVersion/kind/metadata always kept."""
    unknown = []
    root = copy.copy(schema)
    props = dict(root.get("properties") or {})
    for k in ("apiVersion", "kind", "metadata"):
        props[k] = {"x-kubernetes-preserve-unknown-fields": True}
    root["properties"] = props
    root.setdefault("type", "object")
    _prune(obj, root, [], unknown, _identity, structural=True)
    return unknown


def apply_defaults(obj, node):
    """CRD defaulting: a property with `default` that is absent gets it; nested objects only when present."""
    if not isinstance(node, dict):
        return
    if isinstance(obj, dict):
        for k, sub in (node.get("properties") or {}).items():
            if k not in obj and isinstance(sub, dict) and "default" in sub:
                obj[k] = copy.deepcopy(sub["default"])
            if k in obj:
                apply_defaults(obj[k], sub)
        addl = node.get("additionalProperties")
        if isinstance(addl, dict):
            for k, v in obj.items():
                if k not in (node.get("properties") or {}):
                    apply_defaults(v, addl)
    elif isinstance(obj, list) and isinstance(node.get("items"), dict):
        for item in obj:
            apply_defaults(item, node["items"])


_DROP_KEYS = {"nullable", "x-kubernetes-validations", "x-kubernetes-int-or-string",
              "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource",
              "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "default",
              "example", "externalDocs", "description"}


def to_json_schema(node):
    """OpenAPI v3 schema (CRD flavour) → JSON Schema draft 4: nullable becomes a 'null' type, int-or-string
    accepts both, and the Kubernetes extensions go."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k in _DROP_KEYS:
            continue
        if k in ("properties", "patternProperties", "definitions"):
            out[k] = {name: to_json_schema(s) for name, s in v.items()}
        elif k in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[k] = to_json_schema(v)
        else:
            out[k] = v
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["type"] = ["integer", "string"]
    if node.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = types + ["null"]
    return out


def custom_validator(schema: dict):
    root = to_json_schema(schema)
    props = dict(root.get("properties") or {})
    props.pop("metadata", None)
    root["properties"] = props
    return jsonschema.Draft4Validator(root, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


# --- validation errors as Kubernetes causes ---------------------------------------------------------

def _value_repr(v) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (dict, list)):
        return "\"object\"" if isinstance(v, dict) else "\"array\""
    return json.dumps(v)


def causes_from(validator, obj) -> list:
    """jsonschema errors → [{reason, message, field}] in the shape and wording the real server uses."""
    out = []
    for err in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
        path = list(err.absolute_path)
        if err.validator == "required":
            m = re.match(r"'([^']+)' is a required property", err.message)
            name = m.group(1) if m else "?"
            out.append({"reason": "FieldValueRequired", "message": "Required value",
                        "field": field_path(path + [name])})
        elif err.validator == "enum":
            allowed = ", ".join(json.dumps(x) for x in err.validator_value if x is not None)
            out.append({"reason": "FieldValueNotSupported",
                        "message": f"Unsupported value: {_value_repr(err.instance)}: supported values: {allowed}",
                        "field": field_path(path)})
        elif err.validator == "type":
            t = err.validator_value
            t = [x for x in (t if isinstance(t, list) else [t]) if x != "null"]
            fp = field_path(path)
            out.append({"reason": "FieldValueTypeInvalid",
                        "message": f"Invalid value: {_value_repr(err.instance)}: {fp} in body must be of type "
                                   f"{' or '.join(t)}: {_value_repr(err.instance)}",
                        "field": fp})
        else:
            fp = field_path(path)
            out.append({"reason": "FieldValueInvalid",
                        "message": f"Invalid value: {_value_repr(err.instance)}: {fp} in body {err.message}",
                        "field": fp})
    return out


# --- metav1.Time and metav1.MicroTime, as Go decodes and encodes them ------------------------------------------

_TIME = "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
_MICRO = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"
_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")


class TimeError(Exception):
    pass


def _parse_time(value, micro):
    import datetime
    m = _RFC3339.match(value) if isinstance(value, str) else None
    layout = "2006-01-02T15:04:05.000000Z07:00" if micro else "2006-01-02T15:04:05Z07:00"
    if not m or (micro and (not m.group(7) or len(m.group(7)) != 7)):
        raise TimeError(f'parsing time {json.dumps(value)} as "{layout}": cannot parse it (Go\'s time.Parse'
                        + (", which wants exactly six fractional digits here)" if micro else ")"))
    frac = m.group(7) or ""
    tz = m.group(8).upper()
    try:
        base = datetime.datetime.strptime(value[:19].replace("t", "T"), "%Y-%m-%dT%H:%M:%S")
    except ValueError as e:
        raise TimeError(f"parsing time {json.dumps(value)}: {e}") from e
    offset = datetime.timedelta(0) if tz == "Z" else \
        (1 if tz[0] == "+" else -1) * datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    utc = base - offset
    if micro:
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + frac[:7] + "Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_times(obj, def_name):
    """metav1.Time accepts RFC 3339 (any fraction) and is written back in UTC whole seconds; metav1.MicroTime
    needs exactly six fractional digits. Raises TimeError as the real decoder fails (400)."""
    _times(obj, {"$ref": f"#/$defs/{def_name}"})


def _times(obj, node):
    ref = node.get("$ref", "") if isinstance(node, dict) else ""
    name = ref.rsplit("/", 1)[-1]
    if name in (_TIME, _MICRO):
        return _parse_time(obj, name == _MICRO) if obj is not None else None
    node = _resolve_builtin(node)
    if not isinstance(node, dict):
        return None
    if isinstance(obj, dict):
        props = node.get("properties") or {}
        addl = node.get("additionalProperties")
        for k, v in obj.items():
            sub = props.get(k) or (addl if isinstance(addl, dict) else None)
            if sub is not None:
                out = _times(v, sub)
                if out is not None:
                    obj[k] = out
    elif isinstance(obj, list) and isinstance(node.get("items"), dict):
        for i, v in enumerate(obj):
            out = _times(v, node["items"])
            if out is not None:
                obj[i] = out
    return None
