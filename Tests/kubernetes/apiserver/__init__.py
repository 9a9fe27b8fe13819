"""Switchyard's test Kubernetes API server (test support code, standard library + the test venv's packages).

Start (cwd `Tests/kubernetes`, or `Tests/kubernetes` on PYTHONPATH):

    <venv>/bin/python -m apiserver --state-dir DIR [--listen 127.0.0.1:0] [--token T]
        [--bookmark-interval S] [--watch-history N] [--chunking plain|split|coalesce|random]

It writes DIR/ca.crt, DIR/token, DIR/kubeconfig (bearer token), DIR/kubeconfig-cert (client certificate,
CN admin, O system:masters), DIR/client.crt|key, DIR/server.crt|key, prints exactly one line
`READY https://127.0.0.1:PORT` and serves HTTPS until SIGTERM/SIGINT (exit status 0).

Test-only endpoints (bearer token or client certificate required, like everything but /version, /healthz,
/livez, /readyz):
- POST /testing/compact        drop the watch event history: resuming from any older resourceVersion
                               gets a 410 Expired ERROR event.
- POST /testing/close-watches  end every open watch abruptly (no final chunk), as a server restart would.
- GET  /testing/stats          request counts by verb ("get", "list", "watch", "create", "update", "patch",
                               "delete") and by "verb resource[/status]", open_watches, resourceVersion,
                               unauthorized.

Status subresource, as the real strategies: the main endpoint keeps the stored status (create starts with an
empty one); /status keeps the stored spec. Services and Namespaces take metadata changes through /status
(kubernetes/kubernetes#92022), Deployments/DaemonSets keep their labels, custom resources keep everything
but status.

Times in built-in kinds, as Go decodes them: metav1.Time takes any RFC 3339 time and is written back in UTC
whole seconds; metav1.MicroTime (Lease acquireTime/renewTime, Event eventTime) needs exactly six fractional
digits, else 400 "... cannot be handled as a Lease: parsing time ...".

What this server does NOT reproduce:
- CEL (`x-kubernetes-validations`) rules of CRD schemas are not evaluated; neither are admission webhooks,
  ValidatingAdmissionPolicies, RBAC authorization (any authenticated client may do anything), quota.
- `limit`/`continue` on LIST are ignored (the whole list comes back in one page); `resourceVersionMatch` is
  ignored on LIST (always the current state).
- Field selectors accept equality/inequality on any dotted path (the real server accepts only a per-kind
  list such as metadata.name and metadata.namespace, 400 for others).
- Server-side apply (`application/apply-patch+yaml`) answers 415; managedFields are never written.
  Strategic merge patch honours the published patch merge keys, `$patch`, `$setElementOrder`,
  `$retainKeys`, `$deleteFromPrimitiveList`, but not every corner of the real implementation.
- `dryRun=All` runs defaults and validation and stores nothing (Service cluster IPs/node ports it picks are
  not handed back to the pool). DeleteOptions: only `preconditions` are honoured; no grace periods (an object
  without finalizers disappears at once; with finalizers it gets deletionTimestamp and
  deletionGracePeriodSeconds 0 and goes when the last finalizer is removed); propagationPolicy and
  ownerReferences garbage collection are ignored.
- Deleting a namespace removes its objects at once (no Terminating phase, no namespace controller).
- No controllers: Deployments/DaemonSets never get status, Pods are never run (a test writes their status as
  the kubelet would), no EndpointSlices are made for Services, ServiceAccounts get no tokens, Events are
  stored as written. A CRD is Established in the same write that creates it (the real server needs a moment
  and a second revision).
- CRD versions are served without conversion (every served version shows the same stored fields).
- Responses are JSON only (clients that offer protobuf accept JSON back). Protobuf request bodies are
  read only for v1 Namespace, ConfigMap and ServiceAccount (what `kubectl create namespace|configmap|
  serviceaccount` send); other kinds answer 415 (kubectl apply/create -f send JSON). No CBOR.
- Table output (kubectl's columns) for Services, Namespaces, ConfigMaps, Leases, Deployments and CRDs'
  additionalPrinterColumns (simple `.a.b` paths only); other kinds print Name/Age or Name/Created At.
- No aggregated discovery (clients fall back to /api, /apis); /openapi/v3 has the served kinds' schemas
  and paths; /openapi/v2 is an empty document (kubectl only falls back to it).
- Watches: no watch cache semantics beyond one global event history of --watch-history events; a too-new
  resourceVersion starts at "now" instead of waiting; bookmarks carry the global revision.
- Validation of built-in kinds is the published JSON schema plus the Service/Lease/Namespace/CRD/name rules
  Switchyard relies on; most other per-field rules of the real server are not checked.
- metadata.generation is kept on every kind (bumped when anything but metadata/status changes); the real
  server keeps it only where the kind's strategy does (custom resources, CRDs, Deployments, DaemonSets...).
- A client certificate the test CA did not sign fails the TLS handshake (the real server answers 401);
  any CA-signed certificate with a CN is authenticated.
- No persistence: --state-dir holds only credentials; the objects live in memory.
"""
