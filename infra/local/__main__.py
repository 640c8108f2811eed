"""`python -m infra.local` (`make run`): the whole SignalOS stack on one machine, no AWS account.

- moto's server is the AWS (AWS_ENDPOINT_URL points every client at it); template.yaml's
  tables, queues, bucket and secrets are created in it;
- an HTTP front on 127.0.0.1:$PORT (default 3000) routes each request as the template's HTTP API
  does and invokes that function's handler in this process with a payload-2.0 event;
- pollers play every SQS and DynamoDB-stream trigger of the template;
- an admin user is seeded (SIGNALOS_ADMIN_USERNAME / SIGNALOS_ADMIN_PASSWORD, generated and
  printed when unset); the Telegram webhook secret is TELEGRAM_WEBHOOK_SECRET or generated;
- extras (infra/local/extras.py, e.g. a paper bridge agent) start after the ready line.

Ctrl-C or SIGTERM stops everything and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra.local.apigw import HttpResponse, LocalApi, error_body
from infra.local.extras import LocalStackInfo, start_extras, stop_extras
from infra.local.invoke import FunctionRunner
from infra.local.resources import create_resources, function_environment
from infra.local.template import LOCAL_REGION, load_template
from infra.local.triggers import PollerThreads, discover_triggers

log = logging.getLogger("signalos.local")

READY_LINE = "SignalOS local stack ready at {url}"
STAGE = "local"
# API Gateway's payload limit; the functions enforce their own (smaller) limits.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
# Telegram's rule for setWebhook's secret_token.
_TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _say(line: str) -> None:
    print(line, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_handler(api: LocalApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "SignalOS-local"

        def _read_body(self) -> bytes | None:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                return b"".join(chunks)
            length = int(self.headers.get("content-length") or 0)
            return self.rfile.read(length) if length else None

        def _handle(self) -> None:
            started = time.perf_counter()
            path, _, query = self.path.partition("?")
            method = self.command
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_REQUEST_BYTES:
                self.close_connection = True
                response = HttpResponse(
                    413,
                    [("content-type", "application/json")],
                    error_body(
                        "PAYLOAD_TOO_LARGE",
                        "Request body exceeds 10 MB",
                        request_id="local",
                        details={"limit_bytes": MAX_REQUEST_BYTES},
                    ),
                )
            else:
                body = self._read_body()
                headers = [(k, v) for k, v in self.headers.items() if k.lower() != "transfer-encoding"]
                response = api.handle(
                    method, path, headers=headers, body=body, query=query, source_ip=self.client_address[0]
                )
            self._send(response, head_only=method == "HEAD")
            elapsed = (time.perf_counter() - started) * 1000
            who = response.function_id or "-"
            _say(f"{method} {self.path} {response.status} {elapsed:.1f}ms {who}")

        def _send(self, response: HttpResponse, *, head_only: bool) -> None:
            self.send_response(response.status)
            skip = {"content-length", "transfer-encoding", "connection", "date", "server"}
            for name, value in response.headers:
                if name.lower() not in skip:
                    self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            if not head_only and response.body:
                self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request is printed by _handle

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

    return Handler


def _seed_admin(runner: FunctionRunner) -> tuple[str | None, str | None, bool]:
    """Seed the admin user; returns (username, password, password_was_generated)."""
    try:
        from signalos.auth.bootstrap import seed_admin
    except ImportError:
        _say("warning: signalos.auth.bootstrap is not available; no admin user seeded")
        return None, None, False
    username = os.environ.get("SIGNALOS_ADMIN_USERNAME") or "admin"
    password = os.environ.get("SIGNALOS_ADMIN_PASSWORD")
    generated = not password
    password = password or secrets.token_urlsafe(18)
    try:
        with runner.lock:
            seed_admin(username, password)
    except Exception:
        log.exception("seeding the admin user failed")
        _say("warning: the admin user could not be seeded (see the log above)")
        return None, None, False
    return username, password, generated


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument(
        "--moto-port",
        type=int,
        default=int(os.environ.get("MOTO_PORT", "0")),
        help="port of the embedded AWS (default: a free one)",
    )
    parser.add_argument("--no-pollers", action="store_true", help="do not play SQS/stream triggers")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOCAL_LOG_LEVEL", "INFO"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("werkzeug", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started = time.perf_counter()

    # From here on Ctrl-C/SIGTERM only asks for a stop: startup finishes, then everything stops.
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    # Never a real AWS account: fake credentials, and every client pointed at moto.
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_REGION": LOCAL_REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)

    webhook_secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET") or secrets.token_urlsafe(32)
    if not _TELEGRAM_SECRET.match(webhook_secret):
        _say("error: TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Za-z0-9_- (Telegram's rule)")
        return 2
    os.environ["TELEGRAM_WEBHOOK_SECRET"] = webhook_secret

    try:
        httpd = ThreadingHTTPServer((args.host, args.port), BaseHTTPRequestHandler)
    except OSError as exc:
        _say(f"error: cannot listen on {args.host}:{args.port} ({exc.strerror}); set PORT to another port")
        return 1

    from moto.server import ThreadedMotoServer

    moto_port = args.moto_port or _free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{moto_port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint

    template = load_template()
    resources = create_resources(
        template, STAGE, region=LOCAL_REGION, generated_overrides={"webhook_secret": webhook_secret}
    )
    env = function_environment(template, resources, STAGE)
    os.environ.update(env)
    functions = template.functions()
    runner = FunctionRunner(
        functions,
        stage=STAGE,
        lock=threading.RLock(),
        function_env={
            fid: {
                k: v
                for k, v in function_environment(template, resources, STAGE, fid).items()
                if env.get(k) != v
            }
            for fid in functions
        },
    )
    admin_user, admin_password, generated = _seed_admin(runner)

    api = LocalApi(template, runner, stage=STAGE)
    httpd.RequestHandlerClass = _make_handler(api)
    httpd.daemon_threads = True
    server_thread = threading.Thread(target=httpd.serve_forever, args=(0.1,), name="http-front", daemon=True)
    server_thread.start()

    pollers = PollerThreads(
        []
        if args.no_pollers
        else discover_triggers(template, resources, runner, stage=STAGE, retry_delay=0.5)
    )
    pollers.start()

    base_url = f"http://{args.host}:{httpd.server_address[1]}"
    _say(
        f"SignalOS local stack: {len(functions)} functions, {len(api.router.routes)} routes, "
        f"{sum(r.created for r in resources.values())} AWS resources in moto at {endpoint}"
    )
    for trigger in pollers.triggers:
        _say(f"  trigger: {trigger.description}")
    _say(
        f"Telegram webhook: POST {base_url}/api/v1/telegram/webhook "
        f"with X-Telegram-Bot-Api-Secret-Token: {webhook_secret}"
    )
    if admin_user:
        shown = admin_password if generated else "(from SIGNALOS_ADMIN_PASSWORD)"
        _say(f"Admin user: {admin_user} / {shown}")
    _say(f"Started in {time.perf_counter() - started:.1f}s")
    _say(READY_LINE.format(url=base_url))

    extras = start_extras(
        LocalStackInfo(
            base_url=base_url,
            aws_endpoint_url=endpoint,
            region=LOCAL_REGION,
            stage=STAGE,
            resources=resources,
            env=env,
            admin_username=admin_user,
            admin_password=admin_password,
            telegram_webhook_secret=webhook_secret,
        )
    )

    while not stop.wait(0.5):
        pass

    _say("Stopping the SignalOS local stack")
    pollers.request_stop()
    stop_extras(extras)
    httpd.shutdown()
    httpd.server_close()
    pollers.stop()
    moto.stop()
    _say("Stopped")
    # Everything is stopped and flushed; skip the interpreter's teardown of moto's and boto3's
    # module state (over a second of garbage collection, for nothing).
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
