"""What happens to an object on its way in (decode, defaults, status-subresource strategy, validation) and
the side effects of writes (CRDs start or stop serving their resources, a deleted namespace takes its
contents with it). Kind-specific rules are the ones Switchyard relies on, with the real messages."""

import copy
import ipaddress
import json
import re

from . import errors, schema
from .resources import ResourceType

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]


def _cause(field, message, reason="FieldValueInvalid"):
    return {"reason": reason, "message": message, "field": field}


def _q(v):
    return json.dumps(v)


# --- the pipeline ------------------------------------------------------------------------------------------

def admit(store, rt: ResourceType, obj: dict, old, subresource, query: dict, warnings):
    name = obj["metadata"].get("name", "")
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if (api_version and api_version != rt.api_version) or (kind and kind != rt.kind):
        raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected API "
                                 f"version ({rt.api_version})" if api_version != rt.api_version else
                                 f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind

    # Decoding: unknown fields are dropped (Warn, the default; Ignore) or rejected (Strict).
    mode = (query.get("fieldValidation") or "Warn")
    def_name = schema.definition_name(rt.group, rt.version, rt.kind)
    crd_schema = _crd_schema(rt)
    if rt.crd is not None:
        unknown = prune_meta(obj) + schema.prune_custom(obj, crd_schema) if crd_schema else prune_meta(obj)
    else:
        unknown = schema.prune_builtin(obj, def_name) if def_name else []
    if unknown and mode == "Strict":
        raise errors.bad_request("strict decoding error: " + ", ".join(f'unknown field "{u}"' for u in unknown))
    if unknown and mode == "Warn" and warnings is not None:
        warnings.extend(f'unknown field "{u}"' for u in unknown)

    if def_name and rt.crd is None:
        try:
            schema.normalize_times(obj, def_name)
        except schema.TimeError as e:
            raise errors.bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {e}')
    if crd_schema:
        schema.apply_defaults(obj, crd_schema)
    defaults = DEFAULTS.get((rt.group, rt.kind))
    if defaults:
        defaults(store, obj, old)

    # The status subresource's strategy.
    if rt.status:
        if old is None:
            if rt.crd is not None:
                obj.pop("status", None)
            elif rt.kind in EMPTY_STATUS:
                obj["status"] = copy.deepcopy(EMPTY_STATUS[rt.kind])
        elif subresource == "status":
            if rt.crd is not None:
                status = obj.get("status")
                obj = copy.deepcopy(old)
                if status is None:
                    obj.pop("status", None)
                else:
                    obj["status"] = status
            else:
                for k in [k for k in old if k not in ("metadata", "status", "apiVersion", "kind")]:
                    obj[k] = copy.deepcopy(old[k])
                for k in [k for k in obj if k not in old and k not in ("metadata", "status")]:
                    del obj[k]
                if rt.kind in ("Deployment", "DaemonSet"):
                    _set_or_drop(obj["metadata"], "labels", old["metadata"].get("labels"))
        elif "status" in old:
            obj["status"] = copy.deepcopy(old["status"])
        else:
            obj.pop("status", None)

    # Go's omitempty: empty metadata maps and lists are not written.
    for k in ("labels", "annotations", "finalizers", "ownerReferences"):
        if k in obj["metadata"] and not obj["metadata"][k]:
            del obj["metadata"][k]

    # Validation.
    causes = validate_meta(rt, obj, old)
    if def_name and rt.crd is None:
        causes += schema.causes_from(schema.builtin_validator(def_name), obj)
    if crd_schema:
        causes += schema.causes_from(_custom_validator(rt), obj)
    check = VALIDATORS.get((rt.group, rt.kind))
    if check:
        causes += check(store, obj, old, subresource)
    if causes:
        raise errors.invalid(rt, name, causes)
    return obj


def _set_or_drop(d, key, value):
    if value is None:
        d.pop(key, None)
    else:
        d[key] = copy.deepcopy(value)


_META_FIELDS = {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
                "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
                "ownerReferences", "finalizers", "managedFields"}


def prune_meta(obj) -> list:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return []
    unknown = [k for k in meta if k not in _META_FIELDS]
    for k in unknown:
        del meta[k]
    return [f"metadata.{k}" for k in unknown]


def _crd_schema(rt):
    if rt.crd is None:
        return None
    return (rt.crd.get("schema") or {}).get("openAPIV3Schema")


_validators = {}


def _custom_validator(rt):
    key = (rt.crd_name, rt.version, id(rt.crd))
    v = _validators.get(key)
    if v is None:
        v = _validators[key] = schema.custom_validator(_crd_schema(rt))
    return v


def validate_meta(rt, obj, old) -> list:
    meta = obj["metadata"]
    name = meta.get("name", "")
    causes = []
    if rt.kind == "Namespace" or (rt.kind == "Service" and rt.group == ""):
        pattern, what = (DNS1123_LABEL, "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                         "characters or '-', and must start and end with an alphanumeric character") \
            if rt.kind == "Namespace" else (DNS1035_LABEL, "a DNS-1035 label must consist of lower case "
                                            "alphanumeric characters or '-', start with an alphabetic character, "
                                            "and end with an alphanumeric character")
        if not pattern.match(name) or len(name) > 63:
            causes.append(_cause("metadata.name", f"Invalid value: {_q(name)}: {what}"))
    elif rt.group.startswith("rbac."):
        if "/" in name or "%" in name or name in (".", ".."):
            causes.append(_cause("metadata.name", f"Invalid value: {_q(name)}: may not contain '/' or '%'"))
    elif not DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
        causes.append(_cause("metadata.name", f"Invalid value: {_q(name)}: a lowercase RFC 1123 subdomain must "
                             "consist of lower case alphanumeric characters, '-' or '.', and must start and end "
                             "with an alphanumeric character"))
    if old is not None and old["metadata"].get("deletionTimestamp"):
        added = set(meta.get("finalizers") or []) - set(old["metadata"].get("finalizers") or [])
        if added:
            causes.append(_cause("metadata.finalizers", "Forbidden: no new finalizers can be added if the object "
                                 "is being deleted, found new finalizers " + json.dumps(sorted(added)),
                                 "FieldValueForbidden"))
    for k, v in (meta.get("labels") or {}).items():
        if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.match(v):
            causes.append(_cause(f"metadata.labels", f"Invalid value: {_q(v)}: a valid label must be an empty "
                                 "string or consist of alphanumeric characters, '-', '_' or '.'"))
        if not _qualified_key(k):
            causes.append(_cause("metadata.labels", f"Invalid value: {_q(k)}: name part must consist of "
                                 "alphanumeric characters, '-', '_' or '.'"))
    for k in (meta.get("annotations") or {}):
        if not _qualified_key(k):
            causes.append(_cause("metadata.annotations", f"Invalid value: {_q(k)}: name part must consist of "
                                 "alphanumeric characters, '-', '_' or '.'"))
    return causes


def _qualified_key(k) -> bool:
    if not isinstance(k, str):
        return False
    prefix, _, n = k.rpartition("/")
    if prefix and (not DNS1123_SUBDOMAIN.match(prefix) or len(prefix) > 253):
        return False
    return bool(QUALIFIED_NAME.match(n)) and len(n) <= 63


# --- defaults ----------------------------------------------------------------------------------------------

EMPTY_STATUS = {"Service": {"loadBalancer": {}}, "Namespace": {"phase": "Active"}, "Deployment": {},
                "DaemonSet": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                              "numberReady": 0}, "CustomResourceDefinition": {}}


def _service_defaults(store, obj, old):
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("type", "ClusterIP")
    old_spec = (old or {}).get("spec") or {}
    if old is not None:
        # Allocated values a client did not send are kept (as the real patchAllocatedValues).
        for k in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if k not in spec and k in old_spec and spec.get("type") != "ExternalName":
                spec[k] = copy.deepcopy(old_spec[k])
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old_spec.get("ports") or []
                     if isinstance(p, dict)}
        for p in spec.get("ports") or []:
            if isinstance(p, dict) and "nodePort" not in p and old_ports.get((p.get("port"), p.get("protocol", "TCP"))):
                p["nodePort"] = old_ports[(p.get("port"), p.get("protocol", "TCP"))]
        # A Service that stops being a LoadBalancer loses the class it kept from before.
        if spec.get("type") != "LoadBalancer" and old_spec.get("type") == "LoadBalancer" and \
                spec.get("loadBalancerClass") == old_spec.get("loadBalancerClass"):
            spec.pop("loadBalancerClass", None)
    typ = spec.get("type")
    if typ == "ExternalName":
        return
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if typ in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if typ == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for p in spec.get("ports") or []:
        if not isinstance(p, dict):
            continue
        p.setdefault("protocol", "TCP")
        if "targetPort" not in p and isinstance(p.get("port"), int):
            p["targetPort"] = p["port"]
        if "nodePort" not in p and (typ == "NodePort" or (typ == "LoadBalancer" and
                                                          spec.get("allocateLoadBalancerNodePorts") is not False)):
            p["nodePort"] = _node_port(store)
    if "clusterIP" not in spec and "clusterIPs" not in spec:
        store.ip_counter += 1
        n = store.ip_counter
        spec["clusterIP"] = f"10.96.{n // 250}.{n % 250 + 1}"
    if "clusterIPs" not in spec and isinstance(spec.get("clusterIP"), str):
        spec["clusterIPs"] = [spec["clusterIP"]]
    if "clusterIP" not in spec and spec.get("clusterIPs"):
        spec["clusterIP"] = spec["clusterIPs"][0]
    if "ipFamilies" not in spec:
        fam = ["IPv4"]
        if isinstance(spec.get("clusterIP"), str) and ":" in spec["clusterIP"]:
            fam = ["IPv6"]
        spec["ipFamilies"] = fam
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    status = obj.get("status")
    if isinstance(status, dict):
        for ing in (status.get("loadBalancer") or {}).get("ingress") or []:
            if isinstance(ing, dict) and ing.get("ip") and "ipMode" not in ing:
                ing["ipMode"] = "VIP"


def _node_port(store):
    for port in range(30000 + (len(store.node_ports) * 7) % 2768, 32768):
        if port not in store.node_ports:
            store.node_ports.add(port)
            return port
    for port in range(30000, 32768):
        if port not in store.node_ports:
            store.node_ports.add(port)
            return port
    return 32767


def _namespace_defaults(store, obj, old):
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict) and old is None:
        finalizers = spec.setdefault("finalizers", [])
        if isinstance(finalizers, list) and "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
    labels = obj["metadata"].setdefault("labels", {})
    if isinstance(labels, dict):
        labels["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")


def _deployment_defaults(store, obj, old):
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault("strategy", {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})


def _crd_defaults(store, obj, old):
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("conversion", {"strategy": "None"})
        names = spec.get("names")
        if isinstance(names, dict) and isinstance(names.get("kind"), str):
            names.setdefault("singular", names["kind"].lower())
            names.setdefault("listKind", names["kind"] + "List")


DEFAULTS = {("", "Service"): _service_defaults, ("", "Namespace"): _namespace_defaults,
            ("apps", "Deployment"): _deployment_defaults,
            ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd_defaults}


# --- kind-specific validation ------------------------------------------------------------------------------

def _validate_service(store, obj, old, subresource):
    causes = []
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    typ = spec.get("type")
    if typ not in SERVICE_TYPES:
        causes.append(_cause("spec.type", f"Unsupported value: {_q(typ)}: supported values: "
                             + ", ".join(_q(t) for t in SERVICE_TYPES), "FieldValueNotSupported"))
    ports = spec.get("ports") or []
    if typ != "ExternalName" and not ports:
        causes.append(_cause("spec.ports", "Required value", "FieldValueRequired"))
    names = set()
    for i, p in enumerate(ports):
        if not isinstance(p, dict):
            continue
        port = p.get("port")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            causes.append(_cause(f"spec.ports[{i}].port", f"Invalid value: {_q(port)}: must be between 1 and 65535, "
                                 "inclusive"))
        if p.get("protocol") not in ("TCP", "UDP", "SCTP"):
            causes.append(_cause(f"spec.ports[{i}].protocol", f"Unsupported value: {_q(p.get('protocol'))}: "
                                 'supported values: "SCTP", "TCP", "UDP"', "FieldValueNotSupported"))
        n = p.get("name")
        if len(ports) > 1 and not n:
            causes.append(_cause(f"spec.ports[{i}].name", "Required value", "FieldValueRequired"))
        if n in names:
            causes.append(_cause(f"spec.ports[{i}].name", f"Duplicate value: {_q(n)}", "FieldValueDuplicate"))
        names.add(n)
        np = p.get("nodePort")
        if np is not None and (not isinstance(np, int) or not 0 <= np <= 65535):
            causes.append(_cause(f"spec.ports[{i}].nodePort", f"Invalid value: {_q(np)}: must be between 1 and "
                                 "65535, inclusive"))
    lbc = spec.get("loadBalancerClass")
    old_spec = (old or {}).get("spec") or {}
    if old is not None and typ == "LoadBalancer" and old_spec.get("type") == "LoadBalancer" \
            and lbc != old_spec.get("loadBalancerClass"):
        causes.append(_cause("spec.loadBalancerClass", f"Invalid value: {_q(lbc)}: may not change once set"))
    if lbc is not None:
        if typ != "LoadBalancer":
            causes.append(_cause("spec.loadBalancerClass", "Forbidden: may only be used when `type` is "
                                 "'LoadBalancer'", "FieldValueForbidden"))
        elif not isinstance(lbc, str) or not _qualified_key(lbc):
            causes.append(_cause("spec.loadBalancerClass", f"Invalid value: {_q(lbc)}: name part must consist of "
                                 "alphanumeric characters, '-', '_' or '.'"))
    if old is not None and old_spec.get("clusterIP") and spec.get("clusterIP") != old_spec.get("clusterIP") \
            and typ != "ExternalName" and old_spec.get("type") != "ExternalName":
        causes.append(_cause("spec.clusterIPs[0]", f"Invalid value: {_q(spec.get('clusterIP'))}: may not change "
                             "once set"))
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    lb = status.get("loadBalancer") if isinstance(status.get("loadBalancer"), dict) else {}
    for i, ing in enumerate(lb.get("ingress") or []):
        if not isinstance(ing, dict):
            continue
        path = f"status.loadBalancer.ingress[{i}]"
        ip = ing.get("ip")
        if ip:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                causes.append(_cause(f"{path}.ip", f"Invalid value: {_q(ip)}: must be a valid IP address"))
        mode = ing.get("ipMode")
        if mode is not None and not ip:
            causes.append(_cause(f"{path}.ipMode", "Forbidden: may not be specified when `ip` is not set",
                                 "FieldValueForbidden"))
        elif mode is not None and mode not in ("VIP", "Proxy"):
            causes.append(_cause(f"{path}.ipMode", f"Unsupported value: {_q(mode)}: supported values: \"Proxy\", "
                                 "\"VIP\"", "FieldValueNotSupported"))
        host = ing.get("hostname")
        if host:
            try:
                ipaddress.ip_address(host)
                causes.append(_cause(f"{path}.hostname", f"Invalid value: {_q(host)}: must be a DNS name, not an "
                                     "IP address"))
            except ValueError:
                pass
    return causes


def _validate_lease(store, obj, old, subresource):
    causes = []
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    d = spec.get("leaseDurationSeconds")
    if d is not None and isinstance(d, int) and d <= 0:
        causes.append(_cause("spec.leaseDurationSeconds", f"Invalid value: {d}: must be greater than 0"))
    t = spec.get("leaseTransitions")
    if t is not None and isinstance(t, int) and t < 0:
        causes.append(_cause("spec.leaseTransitions", f"Invalid value: {t}: must be greater than or equal to 0"))
    return causes


def _validate_crd(store, obj, old, subresource):
    causes = []
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    group, plural = spec.get("group"), names.get("plural")
    name = obj["metadata"].get("name")
    if name != f"{plural}.{group}":
        causes.append(_cause("metadata.name", f"Invalid value: {_q(name)}: must be spec.names.plural+\".\"+spec.group"))
    if spec.get("scope") not in ("Cluster", "Namespaced"):
        causes.append(_cause("spec.scope", f"Unsupported value: {_q(spec.get('scope'))}: supported values: "
                             "\"Cluster\", \"Namespaced\"", "FieldValueNotSupported"))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(_cause("spec.versions", "Required value", "FieldValueRequired"))
    elif sum(1 for v in versions if isinstance(v, dict) and v.get("storage")) != 1:
        causes.append(_cause("spec.versions", "Invalid value: must have exactly one version marked as storage "
                             "version"))
    if old is not None:
        old_spec = old.get("spec") or {}
        if old_spec.get("group") != group:
            causes.append(_cause("spec.group", f"Invalid value: {_q(group)}: field is immutable"))
        if old_spec.get("scope") != spec.get("scope"):
            causes.append(_cause("spec.scope", f"Invalid value: {_q(spec.get('scope'))}: field is immutable"))
    for i, v in enumerate(versions):
        s = ((v or {}).get("schema") or {}).get("openAPIV3Schema")
        if s is None:
            causes.append(_cause(f"spec.versions[{i}].schema.openAPIV3Schema", "Required value: schemas are "
                                 "required", "FieldValueRequired"))
    return causes


VALIDATORS = {("", "Service"): _validate_service, ("coordination.k8s.io", "Lease"): _validate_lease,
              ("apiextensions.k8s.io", "CustomResourceDefinition"): _validate_crd}


# --- side effects ------------------------------------------------------------------------------------------

def after_write(store, rt, obj, old):
    if rt.plural == "customresourcedefinitions" and rt.group == "apiextensions.k8s.io":
        _serve_crd(store, obj, old)


def _serve_crd(store, crd, old):
    spec = crd["spec"]
    names = spec["names"]
    store.registry.remove_crd(crd["metadata"]["name"])
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        store.registry.add(ResourceType(
            group=spec["group"], version=v["name"], plural=names["plural"], kind=names["kind"],
            namespaced=spec.get("scope") == "Namespaced", singular=names.get("singular", names["kind"].lower()),
            short_names=list(names.get("shortNames") or []), categories=list(names.get("categories") or []),
            status="status" in ((v.get("subresources") or {})), crd=v, crd_name=crd["metadata"]["name"]))
    status = {
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": crd["metadata"]["creationTimestamp"]},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted",
             "lastTransitionTime": crd["metadata"]["creationTimestamp"]}],
        "acceptedNames": copy.deepcopy(names),
        "storedVersions": sorted({v["name"] for v in spec.get("versions") or [] if v.get("storage")}
                                 | set(((old or {}).get("status") or {}).get("storedVersions") or [])),
    }
    crd["status"] = status   # set in place: the same revision (the real server needs a second write)


def before_delete(store, rt, obj):
    if rt.group == "" and rt.plural == "namespaces":
        ns = obj["metadata"]["name"]
        for key in list(store.objects):
            inner = store.registry.by_key(key)
            if inner is None or not inner.namespaced:
                continue
            for (ons, name) in [k for k in store.objects[key] if k[0] == ns]:
                victim = copy.deepcopy(store.objects[key].pop((ons, name)))
                victim["metadata"]["resourceVersion"] = str(store._next_rv())
                store._emit(inner, "DELETED", victim, victim)


def after_delete(store, rt, obj):
    if rt.plural == "customresourcedefinitions" and rt.group == "apiextensions.k8s.io":
        crd_name = obj["metadata"]["name"]
        served = [t for t in store.registry.types.values() if t.crd_name == crd_name]
        if served:
            inner = served[0]
            for key, victim in list(store.objects[inner.key].items()):
                victim = copy.deepcopy(store.objects[inner.key].pop(key))
                victim["metadata"]["resourceVersion"] = str(store._next_rv())
                store._emit(inner, "DELETED", victim, victim)
        store.registry.remove_crd(crd_name)
    if rt.group == "" and rt.plural == "services":
        for p in (obj.get("spec") or {}).get("ports") or []:
            if isinstance(p, dict):
                store.node_ports.discard(p.get("nodePort"))
