"""The LLM fallback through the real openai SDK, offline: a recorded-shape fake of the HTTP API
(fake_openai) behind the SDK's own HTTP client, budget counters on the embedded AWS."""

from __future__ import annotations

import json
import uuid

import pytest
from fake_openai import FakeOpenAI, completion_with, fixture
from signalos.signals import data, llm

GOLD_TEXT = "GOLD buy now 1948-1950\nSL 1940\nTP 1955\nTP 1960"
GOLD_OPEN = {
    "kind": "open",
    "symbol": "XAUUSD",
    "side": "buy",
    "order_type": "market",
    "entry": None,
    "entry_zone": [1948, 1950],
    "stop_loss": 1940,
    "take_profits": [1955, 1960],
    "sl_pips": None,
    "tp_pips": [],
    "confidence": 0.97,
}


@pytest.fixture
def fake(aws_module, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setenv("LLM_MAX_RETRIES", "2")
    return FakeOpenAI()


def ask(fake, text=GOLD_TEXT, user_id=None):
    return llm.llm_parse(text, user_id=user_id or f"u_{uuid.uuid4().hex[:8]}", http_client=fake.client())


# --- the fixture is what the SDK really parses -----------------------------------------------
def test_recorded_completion_has_the_fields_the_sdk_parses():
    from openai.types.chat import ChatCompletion
    from openai.types.chat.chat_completion import Choice
    from openai.types.chat.chat_completion_message import ChatCompletionMessage
    from openai.types.completion_usage import CompletionTokensDetails, CompletionUsage, PromptTokensDetails

    body = fixture("chat_completion.json")
    parts = [
        (body, ChatCompletion),
        (body["choices"][0], Choice),
        (body["choices"][0]["message"], ChatCompletionMessage),
        (body["usage"], CompletionUsage),
        (body["usage"]["prompt_tokens_details"], PromptTokensDetails),
        (body["usage"]["completion_tokens_details"], CompletionTokensDetails),
    ]
    for part, model in parts:
        required = {name for name, f in model.model_fields.items() if f.is_required()}
        assert required <= set(part), f"{model.__name__} misses {required - set(part)}"
        unknown = set(part) - set(model.model_fields)
        assert not unknown, f"{model.__name__} has fields the SDK does not know: {unknown}"
    parsed = ChatCompletion.model_validate(body)
    assert parsed.choices[0].finish_reason == "stop"
    assert json.loads(parsed.choices[0].message.content)["results"][0]["symbol"] == "XAUUSD"
    assert parsed.usage.total_tokens == parsed.usage.prompt_tokens + parsed.usage.completion_tokens


def test_error_fixtures_have_the_api_error_shape():
    for name in ("error_rate_limit.json", "error_server.json"):
        err = fixture(name)["error"]
        assert set(err) == {"message", "type", "param", "code"}


# --- the request ----------------------------------------------------------------------------------
def test_request_asks_for_strict_structured_output_with_a_token_cap(fake):
    fake.reply(fixture("chat_completion.json"))
    outcome = ask(fake)
    assert outcome.status == "accepted"
    [request] = fake.requests
    assert request.url.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-key"
    sent = fake.sent_json()
    assert sent["model"] == "gpt-4o-mini"
    assert sent["max_completion_tokens"] == 800 and sent["temperature"] == 0
    fmt = sent["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    open_schema, update_schema = schema["properties"]["results"]["items"]["anyOf"]
    # strict mode: every property required, no extra properties, no warnings (ours to write)
    assert (
        set(open_schema["required"]) == set(open_schema["properties"])
        and "warnings" not in open_schema["properties"]
    )
    assert open_schema["additionalProperties"] is False and update_schema["additionalProperties"] is False
    assert "prefixItems" not in json.dumps(schema) and "maxLength" not in json.dumps(schema)
    assert GOLD_TEXT in sent["messages"][1]["content"]


def test_model_comes_from_configuration(fake, monkeypatch):
    monkeypatch.setenv("OPENAI_MODEL", "gpt-4.1-mini")
    monkeypatch.setenv("LLM_MAX_TOKENS", "300")
    fake.reply(fixture("chat_completion.json"))
    ask(fake)
    assert fake.sent_json()["model"] == "gpt-4.1-mini" and fake.sent_json()["max_completion_tokens"] == 300


# --- the answer is checked like the rules parser's ------------------------------------------------
def test_accepted_answer_validates_into_the_contract_models(fake):
    fake.reply(fixture("chat_completion.json"))
    outcome = ask(fake)
    result = outcome.result
    assert result.parser == "llm"
    [setup] = result.opens
    assert (setup.symbol, setup.side, setup.entry_zone, setup.stop_loss, setup.take_profits) == (
        "XAUUSD",
        "buy",
        (1948.0, 1950.0),
        1940.0,
        [1955.0, 1960.0],
    )
    assert setup.confidence <= llm.LLM_CONFIDENCE_CAP and result.confidence == setup.confidence
    assert outcome.tokens == 873


def test_alias_from_the_model_is_resolved_through_the_dictionary(fake):
    fake.reply_results([{**GOLD_OPEN, "symbol": "GOLD"}])
    assert ask(fake).result.opens[0].symbol == "XAUUSD"


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({**GOLD_OPEN, "stop_loss": 1930}, "not in the message"),  # a price the post never wrote
        ({**GOLD_OPEN, "take_profits": [1955, 1961.5]}, "not in the message"),
        ({**GOLD_OPEN, "symbol": "XYZABC"}, "unknown instrument"),
        ({**GOLD_OPEN, "side": "long"}, "does not fit the contract"),
        ({**GOLD_OPEN, "leverage": 100}, "does not fit the contract"),
    ],
)
def test_answers_that_fail_the_checks_are_rejected(fake, answer, why):
    fake.reply_results([answer])
    outcome = ask(fake)
    assert outcome.status == "rejected" and outcome.result is None
    assert why in outcome.reason


def test_answer_on_the_wrong_side_is_rejected_by_the_parsers_sanity_checks(fake):
    # SL above the entry of a buy: every number is in the post, only the sanity checks catch it.
    text = "XAUUSD buy 1950 SL 1960 TP 1940"
    fake.reply_results(
        [{**GOLD_OPEN, "entry": 1950, "entry_zone": None, "stop_loss": 1960, "take_profits": [1940]}]
    )
    outcome = ask(fake, text)
    assert outcome.status == "rejected", outcome


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (completion_with("not json at all"), "not JSON"),
        (completion_with({"setups": []}), "no results list"),
        (completion_with(None, refusal="I can't help with that."), "refused"),
        (completion_with('{"results": [{"kind": "open", "sym', finish_reason="length"), "incomplete"),
    ],
)
def test_unusable_answers_are_rejected(fake, body, why):
    fake.reply(body)
    outcome = ask(fake)
    assert outcome.status == "rejected" and why in outcome.reason


def test_empty_results_mean_nothing_actionable(fake):
    fake.reply_results([])
    outcome = ask(fake, "Great week team, +420 pips banked!")
    assert outcome.status == "accepted" and outcome.result.results == []


# --- transport failures, bounded retries -----------------------------------------------------------
def test_rate_limit_is_retried_then_succeeds(fake):
    fake.rate_limited().reply(fixture("chat_completion.json"))
    assert ask(fake).status == "accepted"
    assert len(fake.requests) == 2


def test_server_errors_stop_after_the_retry_bound(fake):
    for _ in range(5):
        fake.server_error()
    outcome = ask(fake)
    assert outcome.status == "unavailable" and "500" in outcome.reason
    assert len(fake.requests) == 3  # the first try + LLM_MAX_RETRIES=2


def test_timeout_is_unavailable(fake, monkeypatch):
    monkeypatch.setenv("LLM_MAX_RETRIES", "0")
    fake.timeout()
    outcome = ask(fake)
    assert outcome.status == "unavailable" and "timed out" in outcome.reason


def test_no_key_means_no_call(fake, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    outcome = ask(fake)  # the template's secret holds an empty api_key
    assert outcome.status == "unavailable" and fake.requests == []


# --- the per-user daily budget ---------------------------------------------------------------------
def test_daily_call_budget_refuses_past_the_cap(fake, monkeypatch):
    monkeypatch.setenv("LLM_DAILY_CALLS", "2")
    user = f"u_{uuid.uuid4().hex[:8]}"
    other = f"u_{uuid.uuid4().hex[:8]}"
    fake.reply(fixture("chat_completion.json")).reply(fixture("chat_completion.json"))
    fake.reply(fixture("chat_completion.json"))
    assert [ask(fake, user_id=user).status for _ in range(3)] == ["accepted", "accepted", "over_budget"]
    assert len(fake.requests) == 2
    assert ask(fake, user_id=other).status == "accepted"  # budgets are per user


def test_daily_token_budget_refuses_once_spent(fake, monkeypatch):
    monkeypatch.setenv("LLM_DAILY_TOKENS", "1000")
    user = f"u_{uuid.uuid4().hex[:8]}"
    for _ in range(3):
        fake.reply(fixture("chat_completion.json"))  # 873 tokens each
    statuses = [ask(fake, user_id=user).status for _ in range(3)]
    assert statuses == ["accepted", "accepted", "over_budget"]
    from signalos.common.clock import utc_now

    assert data.llm_budget_used(user, utc_now().strftime("%Y-%m-%d")) == {"calls": 2, "tokens": 1746}


def test_grounding_reads_numbers_as_written():
    assert llm.numbers_in("Sell @ 1.0950, TP¹ 1,0900") == [1.095, 1.0, 1.09, 10900.0]
