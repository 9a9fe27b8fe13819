"""deploy/kubernetes/ and examples/kubernetes/, checked offline.

Every manifest and every built-in-kind example against the published schemas of every Kubernetes version
Switchyard claims (kubernetes-validate --strict), the AddressPool examples against the CRD's own
openAPIV3Schema both ways (the good ones pass, the deliberately bad ones fail), the CRD's structural-schema
rules, the RBAC rules against the exact least-privilege sets the controller and the two agents need (adding
a verb, a resource or a wildcard fails here first), and the agents' pods: exactly the capabilities listed.

Run: `$(scripts/py-env.sh)/bin/pytest -q Tests/kubernetes -k manifests`.
"""

import copy
import ipaddress
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
BAD_EXAMPLES = sorted((EXAMPLES / "invalid").glob("*.yaml"))


def load_all(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


# AddressPools are checked against the CRD's schema; everything else (Services) against the published ones.
GOOD_EXAMPLES = sorted(path for path in EXAMPLES.glob("*.yaml")
                       if all(obj["kind"] == "AddressPool" for obj in load_all(path)))
OTHER_EXAMPLES = sorted(set(EXAMPLES.glob("*.yaml")) - set(GOOD_EXAMPLES))


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
    """kubectl apply -f applies by file name: whatever an object names must come in an earlier file (the
    namespace, the CRD, the service accounts before the bindings and the pods that use them)."""
    assert [path.name for path in MANIFESTS] == [
        "00-namespace.yaml", "10-crd-addresspools.yaml", "15-service-accounts.yaml", "20-rbac-agent.yaml",
        "20-rbac-controller.yaml", "20-rbac-endpoint-agent.yaml", "30-controller.yaml",
        "40-agent-daemonset.yaml", "50-endpoint-agent-daemonset.yaml",
    ]
    kinds_in_order = [obj["kind"] for _, obj in all_objects()]
    assert kinds_in_order[0] == "Namespace", "kubectl apply -f applies by file name: the namespace goes first"
    assert kinds_in_order[1] == "CustomResourceDefinition", "the CRD follows the namespace"
    first_file = {}
    for file, obj in all_objects():
        first_file.setdefault((obj["kind"], obj["metadata"]["name"]), file)
    for file, obj in all_objects():
        if obj["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            for subject in obj["subjects"]:
                assert first_file[("ServiceAccount", subject["name"])] < file, f"{file}: {subject} not yet made"
        if obj["kind"] in ("Deployment", "DaemonSet"):
            account = obj["spec"]["template"]["spec"]["serviceAccountName"]
            assert first_file[("ServiceAccount", account)] < file, f"{file}: {account} not yet made"


def validate_strictly(version, paths):
    """kubernetes-validate --strict on `paths`; the names of the objects that passed."""
    result = subprocess.run(
        [str(VENV_BIN / "kubernetes-validate"), "--strict", "-k", version, *map(str, paths)],
        capture_output=True, text=True, timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # kubernetes-validate only warns (exit 0) for a kind it has no schema for: require a pass for
    # every object instead.
    assert "WARN" not in output and "ERROR" not in output, output
    return re.findall(r"passed for resource (\S+)", output)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate_strictly_against_published_schemas(version):
    passed = validate_strictly(version, MANIFESTS)
    assert len(passed) == len(all_objects())
    assert "daemonset/switchyard-endpoint-agent" in passed


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_service_examples_validate_strictly_against_published_schemas(version):
    assert OTHER_EXAMPLES, "examples/kubernetes/ holds no Service example"
    passed = validate_strictly(version, OTHER_EXAMPLES)
    assert len(passed) == sum(len(load_all(path)) for path in OTHER_EXAMPLES)


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
    assert "service-port-mapping.yaml" in {path.name for path in OTHER_EXAMPLES}


def test_manifests_service_example_maps_a_port_for_the_endpoint_agent():
    """What the example promises in its comments: a Service of our class, port 80 to 8080, stateful, ClientIP
    affinity, source ranges that are network addresses (a host bit below the length is refused)."""
    (service,) = load_all(EXAMPLES / "service-port-mapping.yaml")
    assert service["kind"] == "Service"
    spec = service["spec"]
    assert spec["type"] == "LoadBalancer" and spec["loadBalancerClass"] == "switchyard.io/lb"
    assert service["metadata"]["annotations"] == {"switchyard.io/mode": "stateful"}
    assert [(port["port"], port["targetPort"], port["protocol"]) for port in spec["ports"]] == [(80, 8080, "TCP")]
    assert spec["sessionAffinity"] == "ClientIP"
    assert spec["loadBalancerSourceRanges"]
    for prefix in spec["loadBalancerSourceRanges"]:
        assert str(ipaddress.ip_network(prefix, strict=True)) == prefix


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
# Read-only: no nodes, no pods, no events.
ENDPOINT_AGENT_CLUSTER_GRANTS = (
    read("", "services") | read("discovery.k8s.io", "endpointslices") | read("switchyard.io", "addresspools")
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


def test_manifests_endpoint_agent_rbac_is_exactly_what_it_needs():
    role = find("ClusterRole", "switchyard-endpoint-agent")
    assert grants(role) == ENDPOINT_AGENT_CLUSTER_GRANTS
    assert not any(rule.get("resourceNames") or rule.get("nonResourceURLs") for rule in role["rules"])


def test_manifests_roles_are_bound_to_their_own_service_account_only():
    # binding → (role, the one service account it binds)
    expected = {
        ("ClusterRoleBinding", "switchyard-controller"): ("ClusterRole", "switchyard-controller",
                                                          "switchyard-controller"),
        ("RoleBinding", "switchyard-controller-leader-election"):
            ("Role", "switchyard-controller-leader-election", "switchyard-controller"),
        ("ClusterRoleBinding", "switchyard-agent"): ("ClusterRole", "switchyard-agent", "switchyard-agent"),
        ("ClusterRoleBinding", "switchyard-endpoint-agent"):
            ("ClusterRole", "switchyard-endpoint-agent", "switchyard-endpoint-agent"),
    }
    bindings = {(obj["kind"], obj["metadata"]["name"]): obj for _, obj in all_objects()
                if obj["kind"] in ("RoleBinding", "ClusterRoleBinding")}
    assert set(bindings) == set(expected)
    for key, binding in bindings.items():
        role_kind, role_name, account = expected[key]
        assert (binding["roleRef"]["kind"], binding["roleRef"]["name"]) == (role_kind, role_name)
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account, "namespace": "switchyard-system"}]


def test_manifests_each_component_has_its_own_service_account():
    accounts = {obj["metadata"]["name"] for _, obj in all_objects() if obj["kind"] == "ServiceAccount"}
    assert accounts == {"switchyard-controller", "switchyard-agent", "switchyard-endpoint-agent"}
    used = [obj["spec"]["template"]["spec"]["serviceAccountName"] for _, obj in all_objects()
            if obj["kind"] in ("Deployment", "DaemonSet")]
    assert sorted(used) == sorted(accounts), "one workload per account"


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


def pod_and_container(kind, name):
    pod = find(kind, name)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


def env_from_field(container):
    return {var["name"]: var["valueFrom"]["fieldRef"]["fieldPath"] for var in container.get("env", [])
            if "fieldRef" in var.get("valueFrom", {})}


def host_paths(pod, container):
    """mountPath → (host path, mountPropagation, readOnly) for every hostPath mount."""
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    return {mount["mountPath"]: (volumes[mount["name"]]["hostPath"]["path"], mount.get("mountPropagation"),
                                 mount.get("readOnly", False))
            for mount in container["volumeMounts"] if "hostPath" in volumes[mount["name"]]}


def agent_node_file():
    """The LB agents' node.yaml, as the ConfigMap mounted at /etc/switchyard holds it."""
    pod, container = pod_and_container("DaemonSet", "switchyard-agent")
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    config_map = volumes[mounts["/etc/switchyard"]]["configMap"]["name"]
    return find("ConfigMap", config_map)["data"]["node.yaml"]


def test_manifests_agent_gets_host_network_bpffs_and_only_the_listed_capabilities():
    pod, container = pod_and_container("DaemonSet", "switchyard-agent")
    assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert pod["nodeSelector"] == {"switchyard.io/lb-node": "true"}
    assert pod["serviceAccountName"] == "switchyard-agent"
    security = container["securityContext"]
    assert "privileged" not in security
    assert security["capabilities"]["drop"] == ["ALL"]
    assert set(security["capabilities"]["add"]) == {"NET_ADMIN", "SYS_ADMIN", "BPF", "PERFMON", "SYS_RESOURCE",
                                                    "NET_RAW"}
    assert host_paths(pod, container)["/sys/fs/bpf"] == ("/sys/fs/bpf", "HostToContainer", False)
    config = yaml.safe_load(agent_node_file())
    assert config["node"]["pinDirectory"].startswith("/sys/fs/bpf/")


def test_manifests_agent_runs_in_kubernetes_mode_with_a_node_only_file():
    """The services come from the API; the one file every LB node shares holds no node name (each agent
    takes its Node's from NODE_NAME) and no services."""
    _, container = pod_and_container("DaemonSet", "switchyard-agent")
    assert container["args"] == ["agent", "--kubernetes", "--config", "/etc/switchyard/node.yaml"]
    assert env_from_field(container)["NODE_NAME"] == "spec.nodeName"
    config = yaml.safe_load(agent_node_file())
    assert config["services"] == []
    assert "name" not in config["node"]
    assert {"interface", "pinDirectory", "stateDirectory", "metricsAddress", "adminSocket"} <= set(config["node"])
    # The flow store and BGP blocks are there to be uncommented, not on by default.
    assert "flowStore" not in config["node"] and "bgp" not in config["node"]
    assert "# flowStore:" in agent_node_file() and "# bgp:" in agent_node_file()


def test_manifests_endpoint_agent_runs_locked_down_on_every_node():
    daemonset = find("DaemonSet", "switchyard-endpoint-agent")
    pod, container = pod_and_container("DaemonSet", "switchyard-endpoint-agent")
    assert pod["serviceAccountName"] == "switchyard-endpoint-agent"
    assert container["image"] == "localhost/switchyard:latest"
    assert container["command"] == ["/usr/local/bin/switchyard"]
    assert container["args"][0] == "endpoint-agent"
    assert "--node-name=$(NODE_NAME)" in container["args"]
    assert env_from_field(container)["NODE_NAME"] == "spec.nodeName"
    # Every node, whatever its taints: pods run everywhere.
    assert "nodeSelector" not in pod and "affinity" not in pod
    assert pod["tolerations"] == [{"operator": "Exists"}]
    assert pod["priorityClassName"] == "system-node-critical"
    assert daemonset["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    # setns into the pods' namespace files needs no host network.
    assert pod.get("hostNetwork", False) is False
    assert not {"hostPID", "hostIPC"} & set(pod)
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert "privileged" not in security and "privileged" not in pod["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert sorted(security["capabilities"]["add"]) == ["BPF", "NET_ADMIN", "PERFMON", "SYS_ADMIN"]
    assert {"requests", "limits"} <= set(container["resources"])
    assert "memory" in container["resources"]["limits"]


def test_manifests_endpoint_agent_sees_the_hosts_pins_namespaces_and_state():
    pod, container = pod_and_container("DaemonSet", "switchyard-endpoint-agent")
    mounts = host_paths(pod, container)
    assert mounts == {
        "/sys/fs/bpf": ("/sys/fs/bpf", "HostToContainer", False),
        # New pods' namespace files are bind mounts made after the agent started: only propagation shows them.
        "/var/run/netns": ("/var/run/netns", "HostToContainer", True),
        "/var/lib/switchyard": ("/var/lib/switchyard", None, False),
    }
    args = container["args"]
    assert "--netns-dir=/var/run/netns" in args
    pin = next(arg.split("=", 1)[1] for arg in args if arg.startswith("--pin-directory="))
    state = next(arg.split("=", 1)[1] for arg in args if arg.startswith("--state-file="))
    assert pin.startswith("/sys/fs/bpf/") and state.startswith("/var/lib/switchyard/")
    # Not the LB agent's pins: both may run on one node.
    lb_pins = yaml.safe_load(agent_node_file())["node"]["pinDirectory"]
    assert pin != lb_pins


def agent_node_file_with(name, *, uncomment=False):
    """The node file as one LB node's agent reads it: NODE_NAME filled in; with `uncomment`, also the
    commented flowStore and bgp blocks switched on (and the address a node with BGP needs)."""
    text = agent_node_file()
    assert text.startswith("node:\n")
    extra = f"  name: {name}\n" + ("  ipv4Source: 192.0.2.11\n" if uncomment else "")
    text = "node:\n" + extra + text[len("node:\n"):]
    if uncomment:
        text = re.sub(r"^(\s*)# (flowStore:|bgp:)", r"\1\2", text, flags=re.M)
        text = re.sub(r"^(\s*)#   ", r"\1  ", text, flags=re.M)
    return text


@pytest.mark.parametrize("uncomment", [False, True], ids=["as-shipped", "flowstore-and-bgp-on"])
def test_manifests_agent_config_map_passes_switchyard_validate(tmp_path, uncomment):
    binary = REPO / "dist" / "switchyard"
    if not binary.exists():
        pytest.skip("dist/switchyard is missing: build it with scripts/release.sh")
    config = tmp_path / "node.yaml"
    config.write_text(agent_node_file_with("lb-1", uncomment=uncomment))
    if uncomment:
        assert "flowStore" in yaml.safe_load(config.read_text())["node"]
        assert "bgp" in yaml.safe_load(config.read_text())["node"]
    result = subprocess.run([str(binary), "validate", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
