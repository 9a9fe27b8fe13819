"""Entry point: `python -m apiserver --state-dir DIR ...` (see the package docstring)."""

import argparse
import os
import secrets
import signal
import socket
import sys
import threading

from . import certs
from .server import APIServer, Options, make_ssl_context
from .store import Store


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="apiserver", description="Switchyard's test Kubernetes API server")
    ap.add_argument("--state-dir", required=True, help="where ca.crt, token, kubeconfig, kubeconfig-cert go")
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0 = any free port)")
    ap.add_argument("--token", default=None, help="the bearer token (default: random, written to DIR/token)")
    ap.add_argument("--bookmark-interval", type=float, default=5.0, help="seconds between watch bookmarks")
    ap.add_argument("--watch-history", type=int, default=1000, help="events kept for watch resumption")
    ap.add_argument("--chunking", choices=["plain", "split", "coalesce", "random"], default="plain",
                    help="how watch events map to HTTP chunks (split/coalesce/random test client decoders)")
    args = ap.parse_args(argv)

    host, _, port = args.listen.rpartition(":")
    token = args.token or secrets.token_hex(16)
    # The certificate covers the listen host too: clients in other network namespaces dial that address.
    pki = certs.PKI(extra_hosts=[host] if host else [])
    os.makedirs(args.state_dir, exist_ok=True)
    store = Store(history=args.watch_history)
    # The certificate files must exist before the TLS context loads them; the kubeconfigs need the port.
    paths = certs.write_files(args.state_dir, pki, None, token)
    ctx = make_ssl_context(paths["server.crt"], paths["server.key"], paths["ca.crt"])
    host = (host or "127.0.0.1").strip("[]")
    if ":" in host:
        APIServer.address_family = socket.AF_INET6
    server = APIServer((host, int(port or 0)), store, Options(token, args.bookmark_interval, args.chunking), ctx)
    bound_host, bound_port = server.server_address[:2]
    url = f"https://[{bound_host}]:{bound_port}" if ":" in bound_host else f"https://{bound_host}:{bound_port}"
    certs.write_files(args.state_dir, pki, url, token)

    def stop(signum, frame):
        server.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"READY {url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        store.stop_watches()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
