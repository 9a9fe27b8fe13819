"""The object store: one revision counter for every write, a bounded event history for watch resumption,
open watches fed under the same lock as the writes (so events reach each watch in revision order)."""

import collections
import copy
import datetime
import queue
import random
import string
import threading
import uuid

from . import errors, kinds, patch as patches, schema, selectors
from .errors import ApiError
from .resources import Registry, ResourceType


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


Event = collections.namedtuple("Event", "rv key type obj old")

CLOSE = object()     # queue sentinel: the watch ends abruptly (as if the server went away)
STOP = object()      # queue sentinel: the watch ends properly (final chunk), the server is stopping


class Watcher:
    def __init__(self, rt: ResourceType, namespace, label_match, field_match):
        self.rt = rt
        self.namespace = namespace
        self.label_match = label_match
        self.field_match = field_match
        self.queue = queue.Queue()

    def matches(self, obj) -> bool:
        if obj is None:
            return False
        meta = obj.get("metadata", {})
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        return self.label_match(meta.get("labels")) and self.field_match(obj)

    def translate(self, ev: Event):
        """The event this watch sees: an object that starts matching its selectors is ADDED for it, one that
        stops matching is DELETED (as the real watch cache does)."""
        now, before = self.matches(ev.obj), self.matches(ev.old)
        if ev.type == "MODIFIED":
            if now and before:
                return ("MODIFIED", ev.obj)
            if now:
                return ("ADDED", ev.obj)
            if before:
                return ("DELETED", ev.obj)
            return None
        return (ev.type, ev.obj) if now else None


class Store:
    def __init__(self, history: int = 1000):
        self.lock = threading.RLock()
        self.registry = Registry()
        self.rv = 0
        self.objects = collections.defaultdict(dict)       # (group, plural) -> {(ns, name): obj}
        self.history = collections.deque(maxlen=max(1, history))
        self.floor = 0                                      # events after this revision are all in history
        self.watchers = set()
        self.stats = collections.Counter()
        self.ip_counter = 10
        self.node_ports = set()
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(self.registry.get("", "v1", "namespaces"), None, {"metadata": {"name": ns}}, {})

    # --- helpers -------------------------------------------------------------------------------------------

    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def _emit(self, rt, typ, obj, old=None):
        ev = Event(int(obj["metadata"]["resourceVersion"]), rt.key, typ, copy.deepcopy(obj),
                   copy.deepcopy(old) if old is not None else None)
        if len(self.history) == self.history.maxlen:
            self.floor = self.history[0].rv
        self.history.append(ev)
        for w in list(self.watchers):
            if w.rt.key == rt.key:
                t = w.translate(ev)
                if t:
                    w.queue.put(t)

    def namespace_exists(self, ns) -> bool:
        return (None, ns) in self.objects[("", "namespaces")]

    def _check_namespace(self, rt, ns):
        if rt.namespaced and not self.namespace_exists(ns):
            raise errors.namespace_not_found(ns)

    def output(self, rt, obj, in_list=False):
        """A copy for the wire, with the apiVersion of the version the client asked for."""
        out = copy.deepcopy(obj)
        if in_list and not rt.crd:
            out.pop("apiVersion", None)
            out.pop("kind", None)
        else:
            out["apiVersion"] = rt.api_version
            out["kind"] = rt.kind
        return out

    # --- reads ---------------------------------------------------------------------------------------------

    def get(self, rt, ns, name):
        with self.lock:
            obj = self.objects[rt.key].get((ns if rt.namespaced else None, name))
            if obj is None:
                raise errors.not_found(rt, name)
            return copy.deepcopy(obj)

    def list(self, rt, ns, label_selector="", field_selector=""):
        lm, fm = _selectors(label_selector, field_selector)
        with self.lock:
            items = [copy.deepcopy(o) for (ons, _), o in sorted(self.objects[rt.key].items(),
                                                                  key=lambda kv: (kv[0][0] or "", kv[0][1]))
                     if (ns is None or ons == ns) and lm(o["metadata"].get("labels")) and fm(o)]
            return items, str(self.rv)

    def watch(self, rt, ns, resource_version, label_selector="", field_selector="", initial_events=None):
        """Registers a watch; returns (watcher, initial events). initial_events forces (True) or forbids
        (False) the synthetic ADDED events; None = the resourceVersion decides ("0"/absent → state now)."""
        lm, fm = _selectors(label_selector, field_selector)
        w = Watcher(rt, ns, lm, fm)
        with self.lock:
            initial = []
            synthetic = initial_events if initial_events is not None else resource_version in (None, "", "0")
            if synthetic:
                for (ons, _), o in sorted(self.objects[rt.key].items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
                    if w.matches(o):
                        initial.append(("ADDED", copy.deepcopy(o)))
            else:
                try:
                    since = int(resource_version)
                except ValueError:
                    raise errors.bad_request(f"invalid resource version: {resource_version!r}")
                if since < self.floor:
                    raise errors.expired(f"too old resource version: {since} ({self.floor + 1})")
                for ev in self.history:
                    if ev.rv > since and ev.key == rt.key:
                        t = w.translate(ev)
                        if t:
                            initial.append(t)
            self.watchers.add(w)
            self.stats["open_watches"] = len(self.watchers)
            w.start_rv = self.rv
            return w, initial

    def bookmark_rv(self, w):
        """The revision a bookmark may promise: only when nothing is queued for the watch (events are queued
        under the same lock), so a client resuming from it cannot skip an event still on its way."""
        with self.lock:
            return str(self.rv) if w.queue.empty() else None

    def unwatch(self, w):
        with self.lock:
            self.watchers.discard(w)
            self.stats["open_watches"] = len(self.watchers)

    # --- writes --------------------------------------------------------------------------------------------

    def create(self, rt, ns, body, query, warnings=None):
        with self.lock:
            if not isinstance(body, dict):
                raise errors.bad_request("the request body must be a JSON object")
            obj = copy.deepcopy(body)
            meta = obj.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise errors.bad_request("metadata must be an object")
            if rt.namespaced:
                if meta.get("namespace") not in (None, "", ns):
                    raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                             "sent on the request")
                meta["namespace"] = ns
            else:
                meta.pop("namespace", None)
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(random.choice(string.ascii_lowercase + "0123456789")
                                                              for _ in range(5))
            name = meta.get("name") or ""
            if not name:
                raise errors.invalid(rt, "", [{"reason": "FieldValueRequired", "field": "metadata.name",
                                               "message": "name or generateName is required"}])
            self._check_namespace(rt, ns)
            if (meta.get("namespace"), name) in self.objects[rt.key]:
                raise errors.already_exists(rt, name)
            obj = kinds.admit(self, rt, obj, None, None, query, warnings)
            for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
                meta = obj["metadata"]
                meta.pop(k, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta["generation"] = 1
            if _dry_run(query):
                return copy.deepcopy(obj)           # as real: no resourceVersion, nothing stored
            meta["resourceVersion"] = str(self._next_rv())
            self.objects[rt.key][(meta.get("namespace"), name)] = obj
            kinds.after_write(self, rt, obj, None)
            self._emit(rt, "ADDED", obj)
            return copy.deepcopy(obj)

    def update(self, rt, ns, name, body, query, subresource=None, warnings=None, from_patch=False):
        with self.lock:
            key = (ns if rt.namespaced else None, name)
            old = self.objects[rt.key].get(key)
            if old is None:
                raise errors.not_found(rt, name)
            if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
                raise errors.bad_request("the request body must be a JSON object with object metadata")
            obj = copy.deepcopy(body)
            meta = obj.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise errors.bad_request(f'the name of the object ({meta.get("name")}) does not match the name on '
                                         f'the URL ({name})')
            meta["name"] = name
            if rt.namespaced:
                if meta.get("namespace") not in (None, "", ns):
                    raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                             "sent on the request")
                meta["namespace"] = ns
            rv = meta.get("resourceVersion")
            if rv:
                if rv != old["metadata"]["resourceVersion"]:
                    raise errors.conflict(rt, name)
            elif rt.crd is not None or rt.plural == "customresourcedefinitions":
                if not from_patch:
                    raise errors.invalid(rt, name, [{"reason": "FieldValueInvalid", "field": "metadata.resourceVersion",
                                                     "message": "Invalid value: 0: must be specified for an update"}])
            obj = kinds.admit(self, rt, obj, old, subresource, query, warnings)
            meta = obj["metadata"]
            for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
                if k in old["metadata"]:
                    meta[k] = old["metadata"][k]
                else:
                    meta.pop(k, None)
            meta.pop("managedFields", None)
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            if obj == old:
                return copy.deepcopy(old)           # no-op: no new revision, no event
            if _content(obj, rt) != _content(old, rt):
                meta["generation"] = old["metadata"].get("generation", 1) + 1
            if _dry_run(query):
                return copy.deepcopy(obj)
            meta["resourceVersion"] = str(self._next_rv())
            if meta.get("deletionTimestamp") and not meta.get("finalizers"):
                del self.objects[rt.key][key]
                kinds.after_delete(self, rt, obj)
                self._emit(rt, "DELETED", obj, old)
                return copy.deepcopy(obj)
            self.objects[rt.key][key] = obj
            kinds.after_write(self, rt, obj, old)
            self._emit(rt, "MODIFIED", obj, old)
            return copy.deepcopy(obj)

    def patch(self, rt, ns, name, content_type, body, query, subresource=None, warnings=None):
        with self.lock:
            current = self.get(rt, ns, name)
            current["apiVersion"], current["kind"] = rt.api_version, rt.kind
            ct = content_type.split(";")[0].strip()
            try:
                if ct == "application/merge-patch+json":
                    patched = patches.merge_patch(current, body)
                elif ct == "application/json-patch+json":
                    patched = patches.json_patch(current, body)
                elif ct == "application/strategic-merge-patch+json":
                    if rt.crd is not None:
                        raise ApiError(415, "UnsupportedMediaType",
                                       f"the body of the request was in an unknown format - accepted media types "
                                       f"include: application/json-patch+json, application/merge-patch+json, "
                                       f"application/apply-patch+yaml")
                    patched = patches.strategic_merge_patch(current, body,
                                                            schema.definition_name(rt.group, rt.version, rt.kind))
                else:
                    raise ApiError(415, "UnsupportedMediaType",
                                   f"the body of the request was in an unknown format - accepted media types include: "
                                   f"application/json-patch+json, application/merge-patch+json, "
                                   f"application/strategic-merge-patch+json")
            except patches.PatchError as e:
                raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: {e}")
            if not isinstance(patched, dict):
                raise errors.bad_request("the patch did not produce an object")
            return self.update(rt, ns, name, patched, query, subresource, warnings, from_patch=True)

    def delete(self, rt, ns, name, options=None, query=None):
        with self.lock:
            key = (ns if rt.namespaced else None, name)
            old = self.objects[rt.key].get(key)
            if old is None:
                raise errors.not_found(rt, name)
            pre = (options or {}).get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise ApiError(409, "Conflict", f"Precondition failed: UID in precondition: {pre['uid']}, UID in "
                                                f"object meta: {old['metadata']['uid']}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", f"Precondition failed: ResourceVersion in precondition: "
                                                f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                                f"{old['metadata']['resourceVersion']}")
            if _dry_run(query) or (options or {}).get("dryRun"):
                return copy.deepcopy(old), not old["metadata"].get("finalizers")
            if old["metadata"].get("finalizers"):
                if old["metadata"].get("deletionTimestamp"):
                    return copy.deepcopy(old), False
                obj = copy.deepcopy(old)
                obj["metadata"]["deletionTimestamp"] = now_rfc3339()
                obj["metadata"]["deletionGracePeriodSeconds"] = 0
                obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
                obj["metadata"]["resourceVersion"] = str(self._next_rv())
                self.objects[rt.key][key] = obj
                self._emit(rt, "MODIFIED", obj, old)
                return copy.deepcopy(obj), False
            kinds.before_delete(self, rt, old)
            obj = copy.deepcopy(old)
            obj["metadata"]["resourceVersion"] = str(self._next_rv())
            del self.objects[rt.key][key]
            kinds.after_delete(self, rt, obj)
            self._emit(rt, "DELETED", obj, old)
            return copy.deepcopy(obj), True

    # --- test knobs ----------------------------------------------------------------------------------------

    def compact(self):
        with self.lock:
            self.history.clear()
            self.floor = self.rv

    def stop_watches(self, wait: float = 2.0):
        """Ends every watch with its final chunk and waits (bounded) until their handlers are done."""
        import time
        with self.lock:
            for w in self.watchers:
                w.queue.put(STOP)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with self.lock:
                if not self.watchers:
                    return
            time.sleep(0.02)

    def close_watches(self) -> int:
        with self.lock:
            ws = list(self.watchers)
            for w in ws:
                w.queue.put(CLOSE)
            return len(ws)


def _dry_run(query) -> bool:
    return bool((query or {}).get("dryRun"))


def _content(obj, rt):
    """What metadata.generation counts: all but metadata (and status where it is a subresource)."""
    skip = ("metadata", "status", "apiVersion", "kind") if rt.status else ("metadata", "apiVersion", "kind")
    return {k: v for k, v in obj.items() if k not in skip}


def _selectors(label_selector, field_selector):
    try:
        return selectors.parse_labels(label_selector), selectors.parse_fields(field_selector)
    except selectors.SelectorError as e:
        raise errors.bad_request(str(e))
