"""A recorded-shape stand-in for the OpenAI HTTP API, for the openai SDK's own HTTP client.

The openai SDK (3.x) sends requests through `httpx2`; `FakeOpenAI.client()` is an
`httpx2.Client` whose `httpx2.MockTransport` answers POST /v1/chat/completions with the JSON of
tests/fixtures/openai (shaped exactly like the real API's answers, headers included), so the
SDK parses, retries and raises exactly as it would against api.openai.com. Requests are kept
for assertions.
"""

from __future__ import annotations

import copy
import json
from collections import deque
from pathlib import Path
from typing import Any

import httpx2

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "openai"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def completion_with(
    content: str | dict | None,
    *,
    finish_reason: str = "stop",
    refusal: str | None = None,
    total_tokens: int = 873,
) -> dict[str, Any]:
    """The recorded chat.completion with another assistant message."""
    body = copy.deepcopy(fixture("chat_completion.json"))
    message = body["choices"][0]["message"]
    message["content"] = json.dumps(content) if isinstance(content, dict) else content
    message["refusal"] = refusal
    body["choices"][0]["finish_reason"] = finish_reason
    body["usage"]["total_tokens"] = total_tokens
    body["usage"]["completion_tokens"] = total_tokens - body["usage"]["prompt_tokens"]
    return body


class FakeOpenAI:
    def __init__(self) -> None:
        self.answers: deque[tuple[int, dict[str, Any] | Exception, dict[str, str]]] = deque()
        self.requests: list[httpx2.Request] = []

    # --- scripting -------------------------------------------------------------------------
    def reply(
        self, body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
    ) -> FakeOpenAI:
        self.answers.append((status, body, headers or {}))
        return self

    def reply_results(self, results: list[dict[str, Any]], **kwargs: Any) -> FakeOpenAI:
        return self.reply(completion_with({"results": results}, **kwargs))

    def rate_limited(self) -> FakeOpenAI:
        # The real API sends retry-after-ms on 429s; 1 ms keeps the SDK's retry fast here.
        return self.reply(fixture("error_rate_limit.json"), 429, {"retry-after-ms": "1"})

    def server_error(self) -> FakeOpenAI:
        return self.reply(fixture("error_server.json"), 500, {"retry-after-ms": "1"})

    def timeout(self) -> FakeOpenAI:
        self.answers.append((0, httpx2.ReadTimeout("The read operation timed out"), {}))
        return self

    # --- the transport --------------------------------------------------------------------------
    def _handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return httpx2.Response(
                404,
                json={
                    "error": {
                        "message": "Unknown request URL",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "unknown_url",
                    }
                },
            )
        if not self.answers:
            raise AssertionError("the fake OpenAI API got a request it was not scripted for")
        status, body, extra = self.answers.popleft()
        if isinstance(body, Exception):
            raise body
        headers = {**fixture("headers.json"), **extra}
        return httpx2.Response(status, json=body, headers=headers)

    def client(self) -> httpx2.Client:
        return httpx2.Client(transport=httpx2.MockTransport(self._handle))

    def sent_json(self, index: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[index].content)
