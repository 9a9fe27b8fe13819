"""The test API server as the Python `kubernetes` client sees it: writes, conflicts, patches, the status
subresource, finalizers, CRD defaulting and validation, Service and Lease rules."""

import copy

import kubernetes
import pytest
from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL = "switchyard.io", "v1alpha1", "addresspools"


def _service(name="web", cls="switchyard.io/lb", **spec):
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80}], **spec}}
    if cls:
        body["spec"]["loadBalancerClass"] = cls
    return body


@pytest.fixture
def api(server):
    client = server.api_client()
    core = kubernetes.client.CoreV1Api(client)
    core.create_namespace({"metadata": {"name": "shop"}})
    return core


@pytest.fixture
def custom(server, api, addresspool_crd):
    client = server.api_client()
    kubernetes.client.ApiextensionsV1Api(client).create_custom_resource_definition(addresspool_crd)
    return kubernetes.client.CustomObjectsApi(client)


def _status(exc: ApiException) -> dict:
    import json
    return json.loads(exc.body)


def test_create_get_list_and_revisions(api):
    created = api.create_namespaced_service("shop", _service())
    assert created.metadata.uid and created.metadata.generation == 1
    assert created.metadata.creation_timestamp is not None
    rv = int(created.metadata.resource_version)
    listed = api.list_namespaced_service("shop")
    assert int(listed.metadata.resource_version) == rv
    assert [s.metadata.name for s in listed.items] == ["web"]
    assert [s.metadata.name for s in api.list_service_for_all_namespaces().items] == ["web"]
    other = api.create_namespaced_service("shop", {"metadata": {"generateName": "gen-"},
                                                   "spec": {"ports": [{"port": 53, "protocol": "UDP"}]}})
    assert other.metadata.name.startswith("gen-") and len(other.metadata.name) == 9
    assert int(other.metadata.resource_version) == rv + 1
    assert other.spec.type == "ClusterIP" and other.spec.ports[0].target_port == 53
    by_name = api.list_namespaced_service("shop", field_selector="metadata.name=web")
    assert [s.metadata.name for s in by_name.items] == ["web"]
    with pytest.raises(ApiException) as e:
        api.create_namespaced_service("shop", _service())
    assert e.value.status == 409 and _status(e.value)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as e:
        api.create_namespaced_service("nowhere", _service())
    assert e.value.status == 404 and _status(e.value)["message"] == 'namespaces "nowhere" not found'
    with pytest.raises(ApiException) as e:
        api.read_namespaced_service("absent", "shop")
    assert e.value.status == 404 and _status(e.value)["details"] == {"name": "absent", "kind": "services"}
    kube_system = api.read_namespace("kube-system")
    assert len(kube_system.metadata.uid) == 36


def test_label_selectors(api):
    api.create_namespaced_service("shop", dict(_service("a"), metadata={"name": "a", "labels": {"tier": "edge"}}))
    api.create_namespaced_service("shop", dict(_service("b"), metadata={"name": "b", "labels": {"tier": "core"}}))
    api.create_namespaced_service("shop", _service("c"))

    def names(sel):
        return [s.metadata.name for s in api.list_namespaced_service("shop", label_selector=sel).items]
    assert names("tier=edge") == ["a"]
    assert names("tier!=edge") == ["b", "c"]
    assert names("tier in (edge,core)") == ["a", "b"]
    assert names("!tier") == ["c"]
    assert names("tier") == ["a", "b"]


def test_stale_put_conflicts_and_unconditional_put_wins(api):
    svc = api.create_namespaced_service("shop", _service())
    fresh = api.patch_namespaced_service("web", "shop", {"metadata": {"labels": {"a": "1"}}})
    stale = api.api_client.sanitize_for_serialization(svc)
    stale["metadata"]["labels"] = {"b": "2"}
    with pytest.raises(ApiException) as e:
        api.replace_namespaced_service("web", "shop", stale)
    assert e.value.status == 409 and _status(e.value)["reason"] == "Conflict"
    assert "the object has been modified" in _status(e.value)["message"]
    del stale["metadata"]["resourceVersion"]
    replaced = api.replace_namespaced_service("web", "shop", stale)
    assert replaced.metadata.labels == {"b": "2"}
    assert int(replaced.metadata.resource_version) > int(fresh.metadata.resource_version)
    # The allocated cluster IP and node port survive an update that does not carry them.
    assert replaced.spec.cluster_ip == svc.spec.cluster_ip
    assert replaced.spec.ports[0].node_port == svc.spec.ports[0].node_port


def test_merge_json_and_strategic_patches(api, server):
    api.create_namespaced_service("shop", _service(ports=[{"name": "http", "port": 80},
                                                          {"name": "dns", "port": 53, "protocol": "UDP"}]))
    # JSON merge patch: lists replace, null deletes.
    status, _, body = server.raw("PATCH", "/api/v1/namespaces/shop/services/web",
                                 {"metadata": {"labels": {"x": "1"}}, "spec": {"selector": {"app": "web"}}},
                                 "application/merge-patch+json")
    assert status == 200 and body["metadata"]["labels"] == {"x": "1"} and body["spec"]["selector"] == {"app": "web"}
    status, _, body = server.raw("PATCH", "/api/v1/namespaces/shop/services/web",
                                 {"metadata": {"labels": {"x": None}}}, "application/merge-patch+json")
    assert status == 200 and "labels" not in body["metadata"]
    # JSON patch.
    status, _, body = server.raw("PATCH", "/api/v1/namespaces/shop/services/web",
                                 [{"op": "add", "path": "/metadata/annotations", "value": {"k": "v"}},
                                  {"op": "replace", "path": "/spec/ports/0/port", "value": 8080}],
                                 "application/json-patch+json")
    assert status == 200 and body["metadata"]["annotations"] == {"k": "v"}
    assert body["spec"]["ports"][0]["port"] == 8080
    status, _, body = server.raw("PATCH", "/api/v1/namespaces/shop/services/web",
                                 [{"op": "test", "path": "/spec/type", "value": "ClusterIP"}],
                                 "application/json-patch+json")
    assert status == 422
    # Strategic merge patch: ports merge by their key (port), not replaced.
    status, _, body = server.raw("PATCH", "/api/v1/namespaces/shop/services/web",
                                 {"spec": {"ports": [{"name": "https", "port": 443}]}},
                                 "application/strategic-merge-patch+json")
    assert status == 200 and [p["port"] for p in body["spec"]["ports"]] == [8080, 53, 443]
    status, _, body = server.raw("PATCH", "/api/v1/namespaces/shop/services/web",
                                 {"spec": {"ports": [{"port": 53, "$patch": "delete"}]}},
                                 "application/strategic-merge-patch+json")
    assert status == 200 and [p["port"] for p in body["spec"]["ports"]] == [8080, 443]
    # A patch that names a stale resourceVersion is a precondition: 409.
    status, _, body = server.raw("PATCH", "/api/v1/namespaces/shop/services/web",
                                 {"metadata": {"resourceVersion": "1", "labels": {"y": "2"}}},
                                 "application/merge-patch+json")
    assert status == 409 and body["reason"] == "Conflict"
    status, _, body = server.raw("PATCH", "/api/v1/namespaces/shop/services/web", {"a": 1},
                                 "application/apply-patch+yaml")
    assert status == 415


def test_status_subresource_semantics_for_services(api):
    svc = api.create_namespaced_service(
        "shop", dict(_service(), status={"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}))
    assert svc.status.load_balancer.ingress is None          # status is not set on create
    body = api.api_client.sanitize_for_serialization(svc)
    body["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    body["metadata"]["labels"] = {"via": "main"}
    main = api.replace_namespaced_service("web", "shop", body)
    assert main.status.load_balancer.ingress is None          # main endpoint ignores status
    assert main.metadata.labels == {"via": "main"}
    body = api.api_client.sanitize_for_serialization(main)
    body["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    body["spec"]["selector"] = {"ignored": "yes"}
    body["metadata"]["labels"] = {"via": "status"}
    st = api.replace_namespaced_service_status("web", "shop", body)
    assert st.status.load_balancer.ingress[0].ip == "192.0.2.1"
    assert st.status.load_balancer.ingress[0].ip_mode == "VIP"  # defaulted
    assert st.spec.selector is None                            # /status ignores spec
    assert st.metadata.labels == {"via": "status"}             # ...but applies metadata (Services)
    assert st.metadata.generation == main.metadata.generation
    again = api.patch_namespaced_service_status("web", "shop", {"status": {"loadBalancer": {
        "ingress": [{"ip": "192.0.2.1", "ipMode": "VIP"}]}}})
    assert again.metadata.resource_version == st.metadata.resource_version   # a no-op write: no new revision


def test_status_validation(api):
    api.create_namespaced_service("shop", _service())
    for ingress, field, text in [
            ({"ip": "not-an-ip"}, "status.loadBalancer.ingress[0].ip", "must be a valid IP address"),
            ({"hostname": "lb.example", "ipMode": "VIP"}, "status.loadBalancer.ingress[0].ipMode",
             "may not be specified when `ip` is not set"),
            ({"ip": "192.0.2.1", "ipMode": "Bogus"}, "status.loadBalancer.ingress[0].ipMode", "Unsupported value")]:
        with pytest.raises(ApiException) as e:
            api.patch_namespaced_service_status("web", "shop", {"status": {"loadBalancer": {"ingress": [ingress]}}})
        st = _status(e.value)
        assert e.value.status == 422 and st["reason"] == "Invalid", st
        assert st["details"]["causes"][0]["field"] == field and text in st["message"], st


def test_load_balancer_class_may_not_change(api):
    api.create_namespaced_service("shop", _service())
    with pytest.raises(ApiException) as e:
        api.patch_namespaced_service("web", "shop", {"spec": {"loadBalancerClass": "other.io/lb"}})
    st = _status(e.value)
    assert e.value.status == 422
    assert 'spec.loadBalancerClass: Invalid value: "other.io/lb": may not change once set' in st["message"]
    assert st["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "spec.loadBalancerClass",
                                        "message": 'Invalid value: "other.io/lb": may not change once set'}]
    with pytest.raises(ApiException) as e:
        api.create_namespaced_service("shop", _service("cip", type="ClusterIP"))
    assert e.value.status == 422 and "may only be used when `type` is 'LoadBalancer'" in _status(e.value)["message"]
    for spec, field in [({"type": "Weird"}, "spec.type"), ({"ports": []}, "spec.ports"),
                        ({"ports": [{"port": 70000}]}, "spec.ports[0].port")]:
        with pytest.raises(ApiException) as e:
            api.create_namespaced_service("shop", _service("bad", **spec))
        assert e.value.status == 422 and field in [c["field"] for c in _status(e.value)["details"]["causes"]]
    # Becoming a ClusterIP Service drops the class (as the real strategy does).
    changed = api.patch_namespaced_service("web", "shop", {"spec": {"type": "ClusterIP"}})
    assert changed.spec.load_balancer_class is None


def test_finalizers_delay_deletion(api):
    api.create_namespaced_service("shop", dict(_service(), metadata={"name": "web",
                                                                     "finalizers": ["switchyard.io/address"]}))
    pending = api.delete_namespaced_service("web", "shop")
    assert pending.metadata.deletion_timestamp is not None
    assert pending.metadata.deletion_grace_period_seconds == 0
    still = api.read_namespaced_service("web", "shop")
    assert still.metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as e:
        api.patch_namespaced_service("web", "shop", {"metadata": {"finalizers": ["switchyard.io/address", "x.io/y"]}})
    assert e.value.status == 422 and "no new finalizers can be added" in _status(e.value)["message"]
    # deletionTimestamp cannot be taken back.
    kept = api.patch_namespaced_service("web", "shop", {"metadata": {"deletionTimestamp": None}})
    assert kept.metadata.deletion_timestamp == still.metadata.deletion_timestamp
    api.patch_namespaced_service("web", "shop", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as e:
        api.read_namespaced_service("web", "shop")
    assert e.value.status == 404
    # Services answer a deletion with the object, most kinds with a Status.
    api.create_namespaced_service("shop", _service())
    assert api.delete_namespaced_service("web", "shop").metadata.name == "web"
    api.create_namespaced_config_map("shop", {"metadata": {"name": "cm"}})
    assert api.delete_namespaced_config_map("cm", "shop")["status"] == "Success"


def test_generation_counts_spec_changes_only(api):
    svc = api.create_namespaced_service("shop", _service())
    labelled = api.patch_namespaced_service("web", "shop", {"metadata": {"labels": {"a": "b"}}})
    assert labelled.metadata.generation == 1
    changed = api.patch_namespaced_service("web", "shop", {"spec": {"selector": {"app": "x"}}})
    assert changed.metadata.generation == 2
    status = api.patch_namespaced_service_status("web", "shop", {"status": {"loadBalancer": {
        "ingress": [{"ip": "192.0.2.9"}]}}})
    assert status.metadata.generation == 2 and svc.metadata.uid == status.metadata.uid


def test_field_validation_modes(server, api):
    body = _service()
    body["spec"]["bogus"] = 1
    status, headers, doc = server.raw("POST", "/api/v1/namespaces/shop/services?fieldValidation=Strict", body)
    assert status == 400 and 'unknown field "spec.bogus"' in doc["message"]
    status, headers, doc = server.raw("POST", "/api/v1/namespaces/shop/services", body)
    assert status == 201 and "bogus" not in doc["spec"]
    assert 'unknown field \\"spec.bogus\\"' in headers["Warning"]


def test_namespace_rules(api):
    with pytest.raises(ApiException) as e:
        api.create_namespace({"metadata": {"name": "Not_A_Label"}})
    assert e.value.status == 422 and _status(e.value)["details"]["causes"][0]["field"] == "metadata.name"
    api.create_namespaced_config_map("shop", {"metadata": {"name": "cm"}, "data": {"a": "b"}})
    api.delete_namespace("shop")
    with pytest.raises(ApiException) as e:
        api.read_namespaced_config_map("cm", "shop")
    assert e.value.status == 404


def test_leases(server, api):
    coord = kubernetes.client.CoordinationV1Api(server.api_client())
    lease = coord.create_namespaced_lease("shop", {"metadata": {"name": "switchyard-controller"}, "spec": {
        "holderIdentity": "a", "leaseDurationSeconds": 15, "acquireTime": "2026-01-01T00:00:00.250000Z",
        "renewTime": "2026-01-01T00:00:01.500000Z", "leaseTransitions": 0}})
    # (Non-zero microseconds: the Python client writes a datetime without them as "...T00:00:00+00:00", which
    # the real server, and this one, cannot decode as a MicroTime.)
    assert lease.spec.holder_identity == "a"
    body = server.api_client().sanitize_for_serialization(lease)
    body["spec"]["holderIdentity"] = "b"
    coord.replace_namespaced_lease("switchyard-controller", "shop", body)
    with pytest.raises(ApiException) as e:
        coord.replace_namespaced_lease("switchyard-controller", "shop", body)   # stale
    assert e.value.status == 409
    for spec, field in [({"leaseDurationSeconds": 0}, "spec.leaseDurationSeconds"),
                        ({"leaseDurationSeconds": "x"}, "spec.leaseDurationSeconds")]:
        with pytest.raises(ApiException) as e:
            coord.patch_namespaced_lease("switchyard-controller", "shop", {"spec": spec})
        assert e.value.status == 422 and field in [c["field"] for c in _status(e.value)["details"]["causes"]]
    # MicroTime, as Go decodes it: exactly six fractional digits, else the body cannot be decoded (400).
    for bad in ("yesterday", "2026-01-01T00:00:02Z", "2026-01-01T00:00:02.123Z"):
        with pytest.raises(ApiException) as e:
            coord.patch_namespaced_lease("switchyard-controller", "shop", {"spec": {"renewTime": bad}})
        assert e.value.status == 400 and "cannot be handled as a Lease" in _status(e.value)["message"]
    coord.patch_namespaced_lease("switchyard-controller", "shop", {"spec": {
        "renewTime": "2026-01-01T02:00:02.123456+02:00"}})
    _, _, stored = server.raw("GET", "/apis/coordination.k8s.io/v1/namespaces/shop/leases/switchyard-controller")
    assert stored["spec"]["renewTime"] == "2026-01-01T00:00:02.123456Z"      # written back in UTC


def test_crd_defaults_validation_and_status(custom, server):
    pool = custom.create_cluster_custom_object(GROUP, VERSION, PLURAL, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "AddressPool", "metadata": {"name": "public"},
        "spec": {"addresses": ["192.0.2.0/28"], "serviceAllocation": {"priority": 1, "unknownField": 3}},
        "status": {"assignedIPv4": 5}})
    assert pool["spec"] == {"addresses": ["192.0.2.0/28"], "autoAssign": True, "avoidBuggyIPs": False,
                            "disabled": False, "serviceAllocation": {"priority": 1}}   # defaulted and pruned
    assert "status" not in pool                                   # status subresource: ignored on create
    for spec, field in [({}, "spec.addresses"), ({"addresses": []}, "spec.addresses"),
                        ({"addresses": ["192.0.2.0/28"], "autoAssign": "yes"}, "spec.autoAssign"),
                        ({"addresses": ["x"], "defaults": {"mode": "fast"}}, "spec.defaults.mode")]:
        with pytest.raises(ApiException) as e:
            custom.create_cluster_custom_object(GROUP, VERSION, PLURAL, {
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "AddressPool", "metadata": {"name": "bad"},
                "spec": spec})
        st = _status(e.value)
        assert e.value.status == 422 and st["reason"] == "Invalid", st
        assert field in [c["field"] for c in st["details"]["causes"]], st
        assert st["message"].startswith('AddressPool.switchyard.io "bad" is invalid: ')
    updated = custom.patch_cluster_custom_object_status(GROUP, VERSION, PLURAL, "public", {
        "metadata": {"labels": {"ignored": "yes"}}, "spec": {"disabled": True},
        "status": {"assignedIPv4": 3, "availableIPv4": 13, "conditions": [
            {"type": "Valid", "status": "True", "reason": "Valid", "message": "",
             "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})
    assert updated["status"]["assignedIPv4"] == 3
    assert updated["status"]["conditions"][0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert updated["spec"]["disabled"] is False and "labels" not in updated["metadata"]  # only status counts
    assert updated["metadata"]["generation"] == 1
    changed = custom.patch_cluster_custom_object(GROUP, VERSION, PLURAL, "public", {
        "spec": {"disabled": True}, "status": {"assignedIPv4": 99}})
    assert changed["spec"]["disabled"] is True and changed["status"]["assignedIPv4"] == 3
    assert changed["metadata"]["generation"] == 2
    # Custom resources need a resourceVersion on PUT.
    body = copy.deepcopy(changed)
    del body["metadata"]["resourceVersion"]
    with pytest.raises(ApiException) as e:
        custom.replace_cluster_custom_object(GROUP, VERSION, PLURAL, "public", body)
    assert e.value.status == 422
    status, _, doc = server.raw("PATCH", f"/apis/{GROUP}/{VERSION}/{PLURAL}/public", {"spec": {}},
                                "application/strategic-merge-patch+json")
    assert status == 415
    listed = custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["public"]
    crd = kubernetes.client.ApiextensionsV1Api(server.api_client()).read_custom_resource_definition(
        "addresspools.switchyard.io")
    assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"
    kubernetes.client.ApiextensionsV1Api(server.api_client()).delete_custom_resource_definition(
        "addresspools.switchyard.io")
    status, _, _ = server.raw("GET", f"/apis/{GROUP}/{VERSION}/{PLURAL}")
    assert status == 404


def test_discovery_and_version(server, custom):
    status, _, doc = server.raw("GET", "/apis")
    assert status == 200 and "switchyard.io" in [g["name"] for g in doc["groups"]]
    status, _, doc = server.raw("GET", f"/apis/{GROUP}/{VERSION}")
    names = {r["name"]: r for r in doc["resources"]}
    assert names["addresspools"]["shortNames"] == ["ap"] and not names["addresspools"]["namespaced"]
    assert "addresspools/status" in names
    status, _, doc = server.raw("GET", "/version", token=False)
    assert status == 200 and doc["minor"] == "37"
    status, _, doc = server.raw("GET", "/openapi/v3")
    assert f"apis/{GROUP}/{VERSION}" in doc["paths"] and "api/v1" in doc["paths"]


def test_dry_run_stores_nothing(server, api):
    created = api.create_namespaced_service("shop", _service(), dry_run="All")
    assert created.metadata.uid and created.metadata.resource_version is None
    assert api.list_namespaced_service("shop").items == []
    with pytest.raises(ApiException) as e:
        api.create_namespaced_service("shop", _service("bad", type="Weird"), dry_run="All")
    assert e.value.status == 422
    real = api.create_namespaced_service("shop", _service())
    patched = api.patch_namespaced_service("web", "shop", {"metadata": {"labels": {"a": "b"}}}, dry_run="All")
    assert patched.metadata.labels == {"a": "b"} and patched.metadata.resource_version == real.metadata.resource_version
    api.delete_namespaced_service("web", "shop", dry_run="All")
    kept = api.read_namespaced_service("web", "shop")
    assert kept.metadata.labels is None and kept.metadata.resource_version == real.metadata.resource_version
