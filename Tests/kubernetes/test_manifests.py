"""deploy/kubernetes/ and examples/kubernetes/, checked offline.

Every manifest against the published schemas of every Kubernetes version Switchyard claims
(kubernetes-validate --strict), the AddressPool examples against the CRD's own openAPIV3Schema both
ways (the good ones pass, the deliberately bad ones fail), the CRD's structural-schema rules, and the
RBAC rules against the exact least-privilege sets the controller and the agent need: adding a verb,
a resource or a wildcard fails here first.

Run: `$(scripts/py-env.sh)/bin/pytest -q Tests/kubernetes -k manifests`.
"""

import copy
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "kubernetes"
EXAMPLES = REPO / "examples" / "kubernetes"
# The CLIs of the venv that runs this file (scripts/py-env.sh), never the system's.
VENV_BIN = Path(sys.executable).parent

# The Kubernetes versions Switchyard claims; the CRD's CEL rules must compile on the oldest.
KUBERNETES_VERSIONS = [f"1.{minor}.0" for minor in range(29, 38)]

MANIFESTS = sorted(DEPLOY.glob("*.yaml"))
GOOD_EXAMPLES = sorted(EXAMPLES.glob("*.yaml"))
BAD_EXAMPLES = sorted((EXAMPLES / "invalid").glob("*.yaml"))


def load_all(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def all_objects():
    return [(path.name, obj) for path in MANIFESTS for obj in load_all(path)]


def find(kind, name):
    matches = [obj for _, obj in all_objects() if obj["kind"] == kind and obj["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name} in deploy/kubernetes/, found {len(matches)}"
    return matches[0]


def crd_version():
    crd = find("CustomResourceDefinition", "addresspools.switchyard.io")
    (version,) = crd["spec"]["versions"]
    return version


def pool_schema():
    return crd_version()["schema"]["openAPIV3Schema"]


def apply_defaults(schema, value):
    """The API server's defaulting, for the `default`s this CRD uses (object properties only)."""
    if not isinstance(value, dict) or schema.get("type") != "object":
        return value
    for name, sub in schema.get("properties", {}).items():
        if name not in value and "default" in sub:
            value[name] = copy.deepcopy(sub["default"])
        if name in value:
            apply_defaults(sub, value[name])
    return value


def schema_errors(obj):
    validator = jsonschema.Draft7Validator(pool_schema())
    return sorted(error.message for error in validator.iter_errors(obj))


# --- the published schemas ---------------------------------------------------------------------


def test_manifests_exist_in_apply_order():
    names = [path.name for path in MANIFESTS]
    assert names, "deploy/kubernetes/ holds no manifests"
    kinds_in_order = [obj["kind"] for _, obj in all_objects()]
    assert kinds_in_order[0] == "Namespace", "kubectl apply -f applies by file name: the namespace goes first"
    assert kinds_in_order[1] == "CustomResourceDefinition", "the CRD follows the namespace"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate_strictly_against_published_schemas(version):
    result = subprocess.run(
        [str(VENV_BIN / "kubernetes-validate"), "--strict", "-k", version, *map(str, MANIFESTS)],
        capture_output=True, text=True, timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # kubernetes-validate only warns (exit 0) for a kind it has no schema for: require a pass for
    # every object instead.
    assert "WARN" not in output and "ERROR" not in output, output
    passed = re.findall(r"passed for resource (\S+)", output)
    assert len(passed) == len(all_objects()), output


# --- the CRD -----------------------------------------------------------------------------------


def test_manifests_crd_names_and_scope_follow_the_contract():
    crd = find("CustomResourceDefinition", "addresspools.switchyard.io")
    spec = crd["spec"]
    assert spec["group"] == "switchyard.io"
    assert spec["scope"] == "Cluster"
    assert spec["names"]["kind"] == "AddressPool"
    assert spec["names"]["plural"] == "addresspools"
    assert spec["names"]["shortNames"] == ["ap"]
    version = crd_version()
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}
    columns = {column["jsonPath"] for column in version["additionalPrinterColumns"]}
    assert {".spec.addresses", ".status.assignedIPv4", ".status.availableIPv4",
            ".metadata.creationTimestamp"} <= columns


def test_manifests_crd_schema_is_structural():
    """Every node says its type (the API server rejects a non-structural v1 CRD) and every default
    validates against its own schema."""

    def walk(schema, where):
        assert "type" in schema, f"{where}: no type (not structural)"
        if "default" in schema:
            jsonschema.validate(schema["default"], schema)
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{where}.{name}")
        if isinstance(schema.get("additionalProperties"), dict):
            walk(schema["additionalProperties"], f"{where}[*]")
        if "items" in schema:
            walk(schema["items"], f"{where}[]")

    walk(pool_schema(), "AddressPool")


def test_manifests_crd_defaults_follow_the_contract():
    defaulted = apply_defaults(pool_schema(), {"spec": {"addresses": ["192.0.2.0/28"]}})
    assert defaulted["spec"] == {
        "addresses": ["192.0.2.0/28"], "autoAssign": True, "avoidBuggyIPs": False, "disabled": False,
    }


# CEL functions an API server accepts in new CRDs only after 1.29 (IP/CIDR library: 1.31, format:
# 1.32, two-variable comprehensions: 1.33, semver and image: 1.34): none may appear.
NEWER_CEL_FUNCTIONS = re.compile(r"\b(isCIDR|cidr|isIP|ip|format|isSemver|semver|isImage|image)\s*\(")
TWO_VARIABLE_MACROS = re.compile(r"\b(all|exists|existsOne|transformList|transformMap|transformMapEntry)"
                                 r"\s*\(\s*\w+\s*,\s*\w+\s*,")


def test_manifests_crd_cel_rules_compile_on_the_oldest_claimed_version():
    rules = []

    def walk(schema):
        rules.extend(rule["rule"] for rule in schema.get("x-kubernetes-validations", []))
        for sub in schema.get("properties", {}).values():
            walk(sub)
        if "items" in schema:
            walk(schema["items"])

    walk(pool_schema())
    assert rules, "the CRD has no CEL rules"
    for rule in rules:
        assert not NEWER_CEL_FUNCTIONS.search(rule), f"needs a CEL library newer than Kubernetes 1.29: {rule}"
        assert not TWO_VARIABLE_MACROS.search(rule), f"needs a CEL macro newer than Kubernetes 1.29: {rule}"


# --- examples against the CRD schema -----------------------------------------------------------


@pytest.mark.parametrize("path", GOOD_EXAMPLES, ids=lambda path: path.name)
def test_manifests_example_pools_validate_against_the_crd(path):
    (pool,) = load_all(path)
    assert pool["apiVersion"] == "switchyard.io/v1alpha1" and pool["kind"] == "AddressPool"
    assert schema_errors(pool) == []
    assert schema_errors(apply_defaults(pool_schema(), pool)) == []


@pytest.mark.parametrize("path", BAD_EXAMPLES, ids=lambda path: path.name)
def test_manifests_bad_example_pools_are_rejected(path):
    (pool,) = load_all(path)
    assert schema_errors(pool) != [], f"{path.name} should be rejected by the CRD schema"


def test_manifests_examples_cover_the_three_shapes_and_the_bad_ones():
    assert len(GOOD_EXAMPLES) >= 3, "a MetalLB-style pool, a dual-stack pool, a pool with selectors and defaults"
    assert {path.name for path in BAD_EXAMPLES} >= {"bad-mode.yaml", "missing-addresses.yaml"}


@pytest.mark.parametrize("entry", [
    "192.0.2.0/28", "0.0.0.0/0", "192.0.2.100-192.0.2.110", "10.0.0.1/32",
    "2001:db8::/120", "::/0", "2001:db8::1-2001:db8::ff", "fd00:1:2:3:4:5:6:7/128", "::ffff:192.0.2.1/128",
])
def test_manifests_address_pattern_accepts(entry):
    assert schema_errors({"spec": {"addresses": [entry]}}) == []


@pytest.mark.parametrize("entry", [
    "192.0.2.7", "192.0.2.256/32", "192.0.2/24", "192.0.2.0/100", "192.0.2.1-2001:db8::1",
    "2001:db8::1", "1:2/64", "2001:db8::g/64", "example.com", "", "192.0.2.0/28 ",
])
def test_manifests_address_pattern_rejects(entry):
    assert schema_errors({"spec": {"addresses": [entry]}}) != []


@pytest.mark.parametrize("change, field", [
    (lambda spec: spec.update(addresses=[]), "addresses"),
    (lambda spec: spec.update(defaults={"flowKey": "sourceIP"}), "flowKey"),
    (lambda spec: spec.update(serviceAllocation={"priority": -1}), "priority"),
    (lambda spec: spec.update(autoAssign="yes"), "autoAssign"),
    (lambda spec: spec.update(serviceAllocation={"serviceSelectors": [
        {"matchExpressions": [{"key": "tier", "operator": "Equals"}]}]}), "operator"),
    (lambda spec: spec.update(serviceAllocation={"namespaces": ["Shop"]}), "namespaces"),
])
def test_manifests_crd_rejects_each_bad_field(change, field):
    pool = {"apiVersion": "switchyard.io/v1alpha1", "kind": "AddressPool", "metadata": {"name": "p"},
            "spec": {"addresses": ["192.0.2.0/28"]}}
    assert schema_errors(pool) == []
    change(pool["spec"])
    assert schema_errors(pool) != [], f"a bad {field} was accepted"


# --- RBAC --------------------------------------------------------------------------------------


def grants(role):
    """(apiGroup, resource, verb, resourceName or None) for every combination a role's rules allow."""
    result = set()
    for rule in role["rules"]:
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                for verb in rule["verbs"]:
                    for name in rule.get("resourceNames") or [None]:
                        result.add((group, resource, verb, name))
    return result


def read(group, resource):
    return {(group, resource, verb, None) for verb in ("get", "list", "watch")}


CONTROLLER_CLUSTER_GRANTS = (
    read("", "services") | read("", "namespaces") | read("switchyard.io", "addresspools")
    | {("", "services/status", verb, None) for verb in ("update", "patch")}
    | {("switchyard.io", "addresspools/status", verb, None) for verb in ("update", "patch")}
    | {(group, "events", verb, None) for group in ("", "events.k8s.io") for verb in ("create", "patch")}
)
# create cannot be limited by name (the object does not exist when it is authorized).
CONTROLLER_LEASE_GRANTS = {
    ("coordination.k8s.io", "leases", "get", "switchyard-controller"),
    ("coordination.k8s.io", "leases", "update", "switchyard-controller"),
    ("coordination.k8s.io", "leases", "create", None),
}
AGENT_CLUSTER_GRANTS = (
    read("", "services") | read("discovery.k8s.io", "endpointslices") | read("switchyard.io", "addresspools")
    | {("", "nodes", "get", None), ("", "events", "create", None)}
)


def test_manifests_rbac_has_no_wildcards_or_escalation_paths():
    for file, obj in all_objects():
        if obj["kind"] not in ("Role", "ClusterRole"):
            continue
        assert "aggregationRule" not in obj, f"{file}: {obj['metadata']['name']} aggregates other roles"
        for rule in obj["rules"]:
            for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                assert not any("*" in item for item in rule.get(key, [])), f"{file}: wildcard in {key}: {rule}"
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"]), f"{file}: {rule}"


def test_manifests_controller_rbac_is_exactly_what_it_needs():
    assert grants(find("ClusterRole", "switchyard-controller")) == CONTROLLER_CLUSTER_GRANTS
    lease_role = find("Role", "switchyard-controller-leader-election")
    assert lease_role["metadata"]["namespace"] == "switchyard-system"
    assert grants(lease_role) == CONTROLLER_LEASE_GRANTS


def test_manifests_agent_rbac_is_exactly_what_it_needs():
    assert grants(find("ClusterRole", "switchyard-agent")) == AGENT_CLUSTER_GRANTS


def test_manifests_roles_are_bound_to_their_own_service_account_only():
    expected = {
        ("ClusterRoleBinding", "switchyard-controller"): ("ClusterRole", "switchyard-controller"),
        ("RoleBinding", "switchyard-controller-leader-election"):
            ("Role", "switchyard-controller-leader-election"),
        ("ClusterRoleBinding", "switchyard-agent"): ("ClusterRole", "switchyard-agent"),
    }
    bindings = {(obj["kind"], obj["metadata"]["name"]): obj for _, obj in all_objects()
                if obj["kind"] in ("RoleBinding", "ClusterRoleBinding")}
    assert set(bindings) == set(expected)
    for key, binding in bindings.items():
        assert (binding["roleRef"]["kind"], binding["roleRef"]["name"]) == expected[key]
        account = "switchyard-agent" if "agent" in key[1] else "switchyard-controller"
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account, "namespace": "switchyard-system"}]


# --- workloads ---------------------------------------------------------------------------------


def test_manifests_controller_runs_locked_down():
    deployment = find("Deployment", "switchyard-controller")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["spec"]["replicas"] == 2
    assert pod["serviceAccountName"] == "switchyard-controller"
    assert container["image"] == "localhost/switchyard:latest"
    assert container["command"] == ["/usr/local/bin/switchyard"]
    assert container["args"][:3] == ["controller", "--namespace", "switchyard-system"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["ports"] == [{"name": "metrics", "containerPort": 9101, "protocol": "TCP"}]
    assert {"requests", "limits"} <= set(container["resources"])


def test_manifests_agent_gets_host_network_bpffs_and_only_the_listed_capabilities():
    daemonset = find("DaemonSet", "switchyard-agent")
    pod = daemonset["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert pod["nodeSelector"] == {"switchyard.io/lb-node": "true"}
    assert pod["serviceAccountName"] == "switchyard-agent"
    assert container["args"] == ["agent", "--config", "/etc/switchyard/switchyard.yaml"]
    security = container["securityContext"]
    assert "privileged" not in security
    assert security["capabilities"]["drop"] == ["ALL"]
    assert set(security["capabilities"]["add"]) == {"NET_ADMIN", "SYS_ADMIN", "BPF", "PERFMON", "SYS_RESOURCE",
                                                    "NET_RAW"}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    assert volumes[mounts["/sys/fs/bpf"]]["hostPath"]["path"] == "/sys/fs/bpf"
    config_map = volumes[mounts["/etc/switchyard"]]["configMap"]["name"]
    config = yaml.safe_load(find("ConfigMap", config_map)["data"]["switchyard.yaml"])
    assert config["node"]["pinDirectory"].startswith("/sys/fs/bpf/")


def test_manifests_agent_config_map_passes_switchyard_validate(tmp_path):
    binary = REPO / "dist" / "switchyard"
    if not binary.exists():
        pytest.skip("dist/switchyard is missing: build it with scripts/release.sh")
    config = tmp_path / "switchyard.yaml"
    config.write_text(find("ConfigMap", "switchyard-agent")["data"]["switchyard.yaml"])
    result = subprocess.run([str(binary), "validate", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
