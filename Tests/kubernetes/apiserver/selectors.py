"""Label selectors (equality- and set-based) and field selectors (equality on any dotted path; the real
server only accepts a per-kind list such as metadata.name/metadata.namespace)."""

import re


class SelectorError(Exception):
    pass


_SET_RE = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split(selector: str) -> list:
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_labels(selector: str):
    """Returns a predicate over a labels dict."""
    reqs = []
    for part in _split(selector or ""):
        m = _SET_RE.match(part)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((key, op, values))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append((k.strip(), "!=", {v.strip()}))
        elif "==" in part:
            k, v = part.split("==", 1)
            reqs.append((k.strip(), "in", {v.strip()}))
        elif "=" in part:
            k, v = part.split("=", 1)
            reqs.append((k.strip(), "in", {v.strip()}))
        elif part.startswith("!"):
            reqs.append((part[1:].strip(), "!exists", set()))
        elif re.match(r"^[A-Za-z0-9._/-]+$", part):
            reqs.append((part, "exists", set()))
        else:
            raise SelectorError(f"unable to parse requirement: {part!r}")

    def match(labels):
        labels = labels or {}
        for key, op, values in reqs:
            present = key in labels
            if op == "in" and (not present or labels[key] not in values):
                return False
            if op in ("notin", "!=") and present and labels[key] in values:
                return False
            if op == "exists" and not present:
                return False
            if op == "!exists" and present:
                return False
        return True
    return match


def _lookup(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict) or p not in cur:
            return ""
        cur = cur[p]
    return cur if isinstance(cur, str) else ("" if cur is None else str(cur))


def parse_fields(selector: str):
    reqs = []
    for part in _split(selector or ""):
        if "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append((k.strip(), False, v.strip()))
        elif "==" in part:
            k, v = part.split("==", 1)
            reqs.append((k.strip(), True, v.strip()))
        elif "=" in part:
            k, v = part.split("=", 1)
            reqs.append((k.strip(), True, v.strip()))
        else:
            raise SelectorError(f"invalid field selector: {part!r}")

    def match(obj):
        return all((_lookup(obj, k) == v) == eq for k, eq, v in reqs)
    return match
