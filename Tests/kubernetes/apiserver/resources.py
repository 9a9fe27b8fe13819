"""The resource types the server serves: the built-in ones Switchyard uses and those CRDs define."""

from dataclasses import dataclass, field
from typing import Optional

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: list = field(default_factory=list)
    status: bool = False            # has a /status subresource
    categories: list = field(default_factory=list)
    crd: Optional[dict] = None      # the CRD version entry (schema, subresources, printer columns)
    crd_name: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self):
        """Objects are stored per group+plural (all served versions share them)."""
        return (self.group, self.plural)

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def discovery(self) -> list:
        main = {"name": self.plural, "singularName": self.singular or self.kind.lower(),
                "namespaced": self.namespaced, "kind": self.kind, "verbs": VERBS}
        if self.short_names:
            main["shortNames"] = self.short_names
        if self.categories:
            main["categories"] = self.categories
        out = [main]
        if self.status:
            out.append({"name": f"{self.plural}/status", "singularName": "", "namespaced": self.namespaced,
                        "kind": self.kind, "verbs": ["get", "patch", "update"]})
        return out


def _rt(group, version, plural, kind, namespaced, short=(), status=False, categories=()):
    return ResourceType(group, version, plural, kind, namespaced, kind.lower(), list(short), status,
                        list(categories))


BUILTINS = [
    _rt("", "v1", "namespaces", "Namespace", False, ["ns"], status=True),
    _rt("", "v1", "services", "Service", True, ["svc"], status=True, categories=["all"]),
    _rt("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    # The lab schedules pods itself (no kubelet): it writes Pod objects and their status.
    _rt("", "v1", "pods", "Pod", True, ["po"], status=True, categories=["all"]),
    _rt("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
    _rt("", "v1", "events", "Event", True, ["ev"]),
    _rt("events.k8s.io", "v1", "events", "Event", True, ["ev"]),
    _rt("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    _rt("coordination.k8s.io", "v1", "leases", "Lease", True),
    _rt("apps", "v1", "deployments", "Deployment", True, ["deploy"], status=True, categories=["all"]),
    _rt("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], status=True, categories=["all"]),
    _rt("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _rt("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _rt("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _rt("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _rt("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
        ["crd", "crds"], status=True),
]


class Registry:
    """Lookup by (group, version, plural) and by group+version for discovery; CRDs add and remove entries."""

    def __init__(self):
        self.types = {}
        for rt in BUILTINS:
            self.add(rt)

    def add(self, rt: ResourceType):
        self.types[(rt.group, rt.version, rt.plural)] = rt

    def remove_crd(self, crd_name: str):
        for k in [k for k, v in self.types.items() if v.crd_name == crd_name]:
            del self.types[k]

    def get(self, group, version, plural) -> Optional[ResourceType]:
        return self.types.get((group, version, plural))

    def by_key(self, key):
        """Any served version of group+plural (the first registered)."""
        for rt in self.types.values():
            if rt.key == key:
                return rt
        return None

    def groups(self) -> dict:
        """group -> ordered list of versions (first = preferred)."""
        out = {}
        for rt in self.types.values():
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return out

    def in_group_version(self, group, version) -> list:
        return [rt for rt in self.types.values() if rt.group == group and rt.version == version]
