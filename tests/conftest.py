"""Shared fixtures: an embedded AWS built from template.yaml, and API calls routed through it.

    def test_something(aws, call_api):
        status, headers, body = call_api("POST", "/api/v1/auth/register", json={...})
        aws.ref("UsersTable")                 # physical name / URL / ARN of a template resource
        aws.client("sqs")                     # a boto3 client on the embedded AWS
        aws.secret_json("TelegramSecret")     # {"webhook_secret": "...", "bot_token": ""}
        aws.drain()                           # run the template's SQS/stream triggers until idle
        aws.invoke("SignalWorkerFunction", event)

`aws` is function-scoped (a fresh moto per test, 40-300 ms by load: the template is parsed once);
`aws_module` is the same, shared by the tests of one module (use one or the other in a module).
`call_api` uses whichever of the two the test has.

Code under test must create boto3 clients lazily (at first use, not at import). What a module
caches per process is forgotten between tests by calling every module-level `reset_clients()`
and `clear_cache()` defined in a loaded `signalos.*` module (plus `signalos.common.secrets.reset()`
and Powertools' parameter caches): a module that caches a client should define `reset_clients()`,
one that caches data read from AWS (settings, lookups) `clear_cache()`.
"""

from __future__ import annotations

import json as jsonlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pytest

from infra.local.apigw import HttpResponse, LocalApi
from infra.local.invoke import FunctionRunner, LambdaContext, make_context
from infra.local.resources import LocalResource, create_resources, function_environment
from infra.local.template import LOCAL_REGION, Template, load_template
from infra.local.triggers import SqsTrigger, StreamTrigger, discover_triggers, drain

# Tests never reach a real AWS account, whatever the developer's shell has configured.
FAKE_AWS_ENV = {
    "AWS_DEFAULT_REGION": LOCAL_REGION,
    "AWS_REGION": LOCAL_REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
CLEARED_ENV = (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_STS",
    # Local-stack overrides of secret values: tests read the secrets the template creates.
    "JWT_SIGNING_KEY",
    "TELEGRAM_WEBHOOK_SECRET",
)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.update(FAKE_AWS_ENV)
    for name in CLEARED_ENV:
        os.environ.pop(name, None)


def reset_signalos_clients() -> None:
    """Forget boto3 clients, cached secrets and cached data held by signalos modules (module docstring)."""
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "signalos" or name.startswith("signalos.")):
            continue
        for hook in ("reset_clients", "clear_cache"):
            reset = getattr(module, hook, None)
            if callable(reset) and getattr(reset, "__module__", None) == name:
                reset()
    secrets = sys.modules.get("signalos.common.secrets")
    if secrets is not None and callable(getattr(secrets, "reset", None)):
        secrets.reset()
    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
    if parameters is not None:
        parameters.clear_caches()


@lru_cache(maxsize=1)
def _shared_boto3_session() -> Any:
    # moto resets boto3's default session on every mock start, and a new session re-reads every
    # service model (~50 ms per client per test). One session for the whole run keeps that once.
    import boto3

    return boto3.session.Session()


@dataclass
class EmbeddedAws:
    """The template's resources in moto, with the functions' environment set."""

    template: Template
    resources: dict[str, LocalResource]
    env: dict[str, str]
    runner: FunctionRunner
    region: str = LOCAL_REGION
    _clients: dict[str, Any] = field(default_factory=dict)
    _triggers: list[SqsTrigger | StreamTrigger] | None = None

    def ref(self, logical_id: str) -> str:
        """What `!Ref` gives for a template resource: table/bucket name, queue URL, secret ARN, ..."""
        return self.resources[logical_id].ref

    def attr(self, logical_id: str, attribute: str) -> str:
        """What `!GetAtt logical_id.attribute` gives (Arn, StreamArn, QueueName, ...)."""
        return self.resources[logical_id].attributes[attribute]

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config

            self._clients[service] = _shared_boto3_session().client(
                service, region_name=self.region, config=Config(account_id_endpoint_mode="disabled")
            )
        return self._clients[service]

    def secret_json(self, logical_id: str) -> dict[str, Any]:
        raw = self.client("secretsmanager").get_secret_value(SecretId=self.ref(logical_id))["SecretString"]
        return jsonlib.loads(raw)

    def queue_depth(self, logical_id_or_url: str) -> int:
        """Messages on a queue, visible or in flight (a template logical id or a queue URL)."""
        url = self.ref(logical_id_or_url) if logical_id_or_url in self.resources else logical_id_or_url
        attrs = self.client("sqs").get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def context(self, function_id: str) -> LambdaContext:
        return make_context(self.template.functions()[function_id])

    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        """Call a template function's handler directly with `event` (its own errors propagate)."""
        return self.runner.run(function_id, event, context=self.context(function_id))

    @property
    def triggers(self) -> list[SqsTrigger | StreamTrigger]:
        if self._triggers is None:
            # TRIM_HORIZON: every stream record since the tables were made is delivered on first drain.
            self._triggers = discover_triggers(
                self.template,
                self.resources,
                self.runner,
                region=self.region,
                starting_position="TRIM_HORIZON",
            )
        return self._triggers

    def drain(self, *, max_rounds: int = 50) -> int:
        """Run the template's SQS and stream triggers in this thread until nothing is left to do.

        Returns how many messages/records were delivered. A message whose handler fails stays
        invisible for its queue's visibility timeout (as on AWS), so it is not retried here.
        """
        return drain(self.triggers, max_rounds=max_rounds)


@contextmanager
def embedded_aws(template: Template) -> Iterator[EmbeddedAws]:
    import boto3
    from moto import mock_aws

    patch = pytest.MonkeyPatch()
    for name, value in FAKE_AWS_ENV.items():
        patch.setenv(name, value)
    for name in CLEARED_ENV:
        patch.delenv(name, raising=False)
    try:
        with mock_aws():
            boto3.DEFAULT_SESSION = _shared_boto3_session()
            reset_signalos_clients()
            resources = create_resources(template, "local", region=LOCAL_REGION, generated_overrides={})
            env = function_environment(template, resources, "local")
            for name, value in env.items():
                patch.setenv(name, value)
            runner = FunctionRunner(
                template.functions(),
                function_env={
                    fid: {
                        k: v
                        for k, v in function_environment(template, resources, "local", fid).items()
                        if env.get(k) != v
                    }
                    for fid in template.functions()
                },
            )
            try:
                yield EmbeddedAws(template=template, resources=resources, env=env, runner=runner)
            finally:
                reset_signalos_clients()
    finally:
        patch.undo()


@pytest.fixture(scope="session")
def signalos_template() -> Template:
    """template.yaml, parsed once per test session."""
    return load_template()


@pytest.fixture
def aws(signalos_template: Template) -> Iterator[EmbeddedAws]:
    """A fresh embedded AWS with every template resource and the Globals environment set."""
    with embedded_aws(signalos_template) as stack:
        yield stack


@pytest.fixture(scope="module")
def aws_module(signalos_template: Template) -> Iterator[EmbeddedAws]:
    """Like `aws`, shared by every test of a module (tests must not depend on each other's data)."""
    with embedded_aws(signalos_template) as stack:
        yield stack


class ApiCaller:
    """`call_api(method, path, json=..., headers=..., query=...)` -> (status, headers, body).

    The request goes through the same code as the local stack's HTTP front: template routing,
    a payload-2.0 event, the handler in-process, the response mapped as API Gateway maps it.
    `body` is the parsed JSON (or the text when the response is not JSON, None when empty);
    header names are lower case. `call_api.raw(...)` returns the whole HttpResponse.
    """

    def __init__(self, api: LocalApi) -> None:
        self.api = api

    def raw(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | str | None = None,
        source_ip: str = "203.0.113.10",
    ) -> HttpResponse:
        hdrs = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json)
            if not any(k.lower() == "content-type" for k in hdrs):
                hdrs["content-type"] = "application/json"
        hdrs.setdefault("user-agent", "pytest")
        if "?" in path and query is None:
            path, query = path.split("?", 1)
        return self.api.handle(method, path, headers=hdrs, body=body, query=query, source_ip=source_ip)

    def __call__(
        self,
        method: str,
        path: str,
        json: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | str | None = None,
        **kwargs: Any,
    ) -> tuple[int, dict[str, str], Any]:
        resp = self.raw(method, path, json=json, headers=headers, query=query, **kwargs)
        text = resp.body.decode("utf-8", errors="replace")
        try:
            parsed: Any = jsonlib.loads(text) if text else None
        except ValueError:
            parsed = text
        return resp.status, resp.header_dict(), parsed


@pytest.fixture
def call_api(request: pytest.FixtureRequest) -> ApiCaller:
    """Call the HTTP API in-process (uses `aws_module` when the test has it, else `aws`)."""
    name = "aws_module" if "aws_module" in request.fixturenames else "aws"
    stack: EmbeddedAws = request.getfixturevalue(name)
    return ApiCaller(LocalApi(stack.template, stack.runner))
