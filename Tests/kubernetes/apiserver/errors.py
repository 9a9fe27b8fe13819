"""API errors rendered as metav1.Status objects, with the reasons and wording of the real server."""


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict:
        out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            out["details"] = self.details
        return out


def _details(rt, name):
    d = {"kind": rt.plural}
    if name:
        d["name"] = name
    if rt.group:
        d["group"] = rt.group
    return d


def not_found(rt, name):
    return ApiError(404, "NotFound", f'{rt.qualified} "{name}" not found', _details(rt, name))


def namespace_not_found(ns):
    return ApiError(404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"})


def already_exists(rt, name):
    return ApiError(409, "AlreadyExists", f'{rt.qualified} "{name}" already exists', _details(rt, name))


def conflict(rt, name):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {rt.qualified} "{name}": the object has '
                                     "been modified; please apply your changes to the latest version and try again",
                    _details(rt, name))


def invalid(rt, name, causes):
    group_kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    text = "; ".join(f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes)
    if len(causes) > 1:
        text = "[" + ", ".join(f"{c['field']}: {c['message']}" for c in causes) + "]"
    d = {"name": name, "kind": rt.kind, "causes": causes}
    if rt.group:
        d["group"] = rt.group
    return ApiError(422, "Invalid", f'{group_kind} "{name}" is invalid: {text}', d)


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def expired(message):
    return ApiError(410, "Expired", message)
