"""The three patch flavours: JSON merge patch (RFC 7386), JSON patch (RFC 6902, via jsonpatch) and a
strategic merge patch that honours the published x-kubernetes-patch-merge-key/-strategy of built-in kinds
(lists of objects merged by key, `$patch: delete|replace`, `$setElementOrder/...`, `$retainKeys`,
`$deleteFromPrimitiveList/...`)."""

import copy

import jsonpatch

from . import schema


class PatchError(Exception):
    pass


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def json_patch(target, ops):
    if not isinstance(ops, list):
        raise PatchError("json patch must be a list of operations")
    try:
        return jsonpatch.JsonPatch(ops).apply(copy.deepcopy(target))
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, IndexError, TypeError) as e:
        raise PatchError(str(e)) from e


def _resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        node = schema.definitions()[node["$ref"].rsplit("/", 1)[-1]]
    return node if isinstance(node, dict) else {}


def strategic_merge_patch(target, patch, def_name):
    node = {"$ref": f"#/$defs/{def_name}"} if def_name else {}
    return _smp(copy.deepcopy(target), patch, node)


def _smp(target, patch, node):
    node = _resolve(node)
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    if not isinstance(target, dict):
        target = {}
    props = node.get("properties") or {}
    retain = patch.get("$retainKeys")
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k in ("$retainKeys", "$patch"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(target.get(field), list):
                target[field] = [x for x in target[field] if x not in v]
            continue
        sub = _resolve(props.get(k) or node.get("additionalProperties") or {})
        if v is None:
            target.pop(k, None)
        elif isinstance(v, list) and sub.get("x-kubernetes-patch-strategy", "").find("merge") >= 0:
            target[k] = _merge_list(target.get(k), v, sub)
            order = patch.get(f"$setElementOrder/{k}")
            if order is not None:
                target[k] = _reorder(target[k], order, sub.get("x-kubernetes-patch-merge-key"))
        elif isinstance(v, dict):
            target[k] = _smp(target.get(k), v, sub)
            if target[k] is None:
                del target[k]
        else:
            target[k] = copy.deepcopy(v)
    if isinstance(retain, list):
        for k in list(target):
            if k not in retain:
                del target[k]
    return target


def _merge_list(current, patch, node):
    current = copy.deepcopy(current) if isinstance(current, list) else []
    key = node.get("x-kubernetes-patch-merge-key")
    items = _resolve(node.get("items") or {})
    if not key:  # merge strategy on a list of primitives: union
        for v in patch:
            if isinstance(v, dict) and v.get("$patch") == "replace":
                return [x for x in patch if not isinstance(x, dict)]
            if v not in current:
                current.append(v)
        return current
    for v in patch:
        if not isinstance(v, dict):
            raise PatchError(f"list item {v!r} is not an object although the list merges by {key}")
        if v.get("$patch") == "replace":
            return [copy.deepcopy(x) for x in patch if x.get("$patch") != "replace"]
        idx = next((i for i, c in enumerate(current) if isinstance(c, dict) and c.get(key) == v.get(key)), None)
        if v.get("$patch") == "delete":
            if idx is not None:
                del current[idx]
            continue
        if idx is None:
            current.append(_smp({}, v, items))
        else:
            current[idx] = _smp(current[idx], v, items)
    return current


def _reorder(items, order, key):
    if not key:
        return items
    rank = {o.get(key): i for i, o in enumerate(order) if isinstance(o, dict)}
    return sorted(items, key=lambda x: rank.get(x.get(key), len(rank)) if isinstance(x, dict) else len(rank))
