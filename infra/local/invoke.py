"""Invoke a template function's handler in-process, the way the Lambda runtime calls it."""

from __future__ import annotations

import importlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra.local.template import LOCAL_ACCOUNT_ID, LOCAL_REGION, FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]

_handlers: dict[str, Handler] = {}


def load_handler(dotted: str) -> Handler:
    """Import `package.module.function` once and return the function (cached per dotted path)."""
    handler = _handlers.get(dotted)
    if handler is None:
        module_name, _, attr = dotted.rpartition(".")
        if not module_name:
            raise ValueError(f"handler {dotted!r} is not module.function")
        handler = getattr(importlib.import_module(module_name), attr)
        _handlers[dotted] = handler
    return handler


def forget_handlers() -> None:
    """Drop the cached handler functions (a test that reloads modules calls this)."""
    _handlers.clear()


@dataclass
class LambdaContext:
    """The context object the Lambda Python runtime passes (the attributes Powertools reads)."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    invoked_function_arn: str = ""
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        if not self.invoked_function_arn:
            self.invoked_function_arn = (
                f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"
            )
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def make_context(
    function: FunctionSpec, *, stage: str = "local", request_id: str | None = None
) -> LambdaContext:
    ctx = LambdaContext(
        function_name=f"signalos-{stage}-{function.logical_id}",
        memory_limit_in_mb=function.memory_size,
        timeout_seconds=function.timeout,
    )
    if request_id:
        ctx.aws_request_id = request_id
    return ctx


def invoke(
    function: FunctionSpec,
    event: dict[str, Any],
    *,
    stage: str = "local",
    context: LambdaContext | None = None,
) -> Any:
    """Call the function's handler with `event` and a fresh context; returns what it returns."""
    handler = load_handler(function.handler)
    return handler(event, context or make_context(function, stage=stage))


@contextmanager
def scoped_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of one invocation, then restore them.

    (One process plays every function; a function's own Variables apply only while it runs.
    Callers serialize invocations, so no other thread sees the temporary values.)
    """
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, old in saved.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old


class FunctionRunner:
    """Invokes template functions in this process, one at a time.

    moto is not thread-safe and one process plays every function, so invocations from the HTTP
    front and from the trigger pollers share one lock. A function's own environment Variables
    (beyond Globals, which the process already has) apply only while it runs.
    """

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        *,
        stage: str = "local",
        function_env: Mapping[str, Mapping[str, str]] | None = None,
        lock: threading.RLock | None = None,
    ) -> None:
        self.functions = dict(functions)
        self.stage = stage
        self.function_env = {k: dict(v) for k, v in (function_env or {}).items()}
        self.lock = lock if lock is not None else threading.RLock()

    def run(self, function_id: str, event: dict[str, Any], *, context: LambdaContext | None = None) -> Any:
        function = self.functions[function_id]
        with self.lock, scoped_environ(self.function_env.get(function_id, {})):
            return invoke(function, event, stage=self.stage, context=context)
