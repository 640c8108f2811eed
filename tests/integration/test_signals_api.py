"""The signals API through its Lambda handler (call_api) on the embedded AWS built from
template.yaml; the slow path runs through the template's SQS trigger (aws_module.drain())."""

from __future__ import annotations

import base64
import io
import json
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "signals"))
import signal_texts as sp
from fake_openai import FakeOpenAI

S = "/api/v1/signals"
_USERS: dict[int, dict] = {}


def _register(call_api, **license_changes):
    from signalos.auth import users

    name, pw = f"sig_{uuid.uuid4().hex[:10]}", "correct horse battery"
    status, _, body = call_api("POST", "/api/v1/auth/register", json={"username": name, "password": pw})
    assert status == 201, body
    uid = body.get("user", body).get("id") if isinstance(body, dict) else None
    if uid is None:
        _, _, login = call_api("POST", "/api/v1/auth/login", json={"username": name, "password": pw})
        uid = login["user"]["id"]
    if license_changes:
        users.update_user(uid, **license_changes)
    _, _, tokens = call_api("POST", "/api/v1/auth/login", json={"username": name, "password": pw})
    return {"uid": uid, "h": {"Authorization": f"Bearer {tokens['access_token']}"}}


@pytest.fixture
def people(aws_module, call_api):
    """Users made once per module (passwords are hashed with Argon2: slow on purpose)."""
    if id(aws_module) not in _USERS:
        _USERS[id(aws_module)] = {
            "a": _register(call_api),
            "b": _register(call_api),
            "basic": _register(call_api, license={"tier": "basic", "features": ["signal_parsing"]}),
            "none": _register(call_api, license={"tier": "basic", "features": ["telegram_integration"]}),
            "admin": _register(call_api, role="admin"),
        }
    return _USERS[id(aws_module)]


def parse_sync(call_api, who, text, **extra):
    return call_api("POST", f"{S}/parse-sync", headers=who["h"], json={"text": text, **extra})


def new_provider(call_api, who, **extra):
    status, _, body = call_api(
        "POST", f"{S}/providers", headers=who["h"], json={"name": f"prov {uuid.uuid4().hex[:6]}", **extra}
    )
    assert status == 201, body
    return body


# --- parse-sync / parse / get -----------------------------------------------------------------------
def test_parse_sync_answers_the_contract_and_stores_the_signal(call_api, people):
    status, _, body = parse_sync(call_api, people["a"], sp.GOLD)
    assert status == 200, body
    assert body["success"] is True and body["status"] == "parsed"
    [result] = body["results"]
    assert (
        result["kind"],
        result["symbol"],
        result["side"],
        result["entry_zone"],
        result["stop_loss"],
        result["take_profits"],
    ) == ("open", "XAUUSD", "buy", [1948.0, 1950.0], 1940.0, [1955.0, 1960.0])
    legacy = body["parsed_signal"]
    assert (legacy["symbol"], legacy["action"], legacy["stop_loss"], legacy["take_profit"]) == (
        "XAUUSD",
        "BUY",
        1940.0,
        [1955.0, 1960.0],
    )
    assert body["execution"] == {**body["execution"], "requested": False, "dispatched": False}
    status, _, stored = call_api("GET", f"{S}/{body['signal_id']}", headers=people["a"]["h"])
    assert status == 200
    assert stored["results"] == body["results"] and stored["text"] == sp.GOLD
    assert stored["parser"] == "rules" and stored["source"] == "api" and stored["parse_ms"] is not None


def test_chatter_is_ignored_with_a_reason(call_api, people):
    status, _, body = parse_sync(call_api, people["a"], sp.CHATTER)
    assert status == 200 and body["status"] == "ignored" and body["results"] == []
    assert body["parsed_signal"] is None and body["signal"]["reason"] == "no actionable content"


def test_parse_sync_validation_errors_name_the_field(call_api, people):
    status, _, body = call_api("POST", f"{S}/parse-sync", headers=people["a"]["h"], json={"text": ""})
    assert status == 422 and body["error"]["code"] == "VALIDATION_ERROR"
    status, _, body = call_api(
        "POST", f"{S}/parse-sync", headers=people["a"]["h"], json={"text": "x", "user_id": "someone-else"}
    )
    assert status == 422


def test_unreadable_signal_without_llm_key_fails_with_a_reason(call_api, people, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    status, _, body = parse_sync(call_api, people["a"], sp.UNSURE)
    # no instrument the parser knows, no LLM to ask: a signal we could not read, said loudly
    assert status == 200 and body["status"] == "failed" and body["success"] is False
    assert body["signal"]["reason"].startswith("looks like a signal but could not be read")
    assert any("LLM fallback not configured" in w for w in body["signal"]["warnings"])


def test_unsure_parse_sync_asks_the_llm_inline(call_api, people, monkeypatch):
    from signalos.signals import llm

    fake = FakeOpenAI().reply_results([sp.UNSURE_AS_LLM_READS_IT])
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(llm, "http_client_override", fake.client())
    status, _, body = parse_sync(call_api, people["a"], sp.UNSURE)
    assert status == 200 and body["signal"]["parser"] == "llm" and len(fake.requests) == 1
    [result] = body["results"]
    assert (result["side"], result["entry"], result["stop_loss"], result["take_profits"]) == (
        "sell",
        1950.0,
        1958.0,
        [1942.0],
    )
    assert body["signal"]["rules_confidence"] == pytest.approx(0.5)


def test_llm_needs_the_licence_feature(call_api, people, monkeypatch):
    from signalos.signals import llm

    fake = FakeOpenAI()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(llm, "http_client_override", fake.client())
    status, _, body = parse_sync(call_api, people["basic"], sp.UNSURE)  # basic: no advanced_strategies
    assert status == 200 and body["signal"]["parser"] == "rules" and fake.requests == []
    assert any("not licensed" in w for w in body["signal"]["warnings"])


def test_async_parse_queues_unsure_text_and_the_worker_finishes_it(aws_module, call_api, people, monkeypatch):
    from signalos.signals import llm

    fake = FakeOpenAI().reply_results([sp.UNSURE_AS_LLM_READS_IT])
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(llm, "http_client_override", fake.client())
    status, _, body = call_api("POST", f"{S}/parse", headers=people["a"]["h"], json={"text": sp.UNSURE})
    assert status == 202 and body["status"] == "queued" and body["status_url"] == f"{S}/{body['signal_id']}"
    assert aws_module.drain() >= 1
    _, _, done = call_api("GET", body["status_url"], headers=people["a"]["h"])
    assert (
        done["status"] == "parsed" and done["parser"] == "llm" and done["results"][0]["stop_loss"] == 1958.0
    )
    assert done["latency_ms"] is not None and len(fake.requests) == 1


def test_async_parse_of_a_clear_signal_is_parsed_at_once(call_api, people):
    status, _, body = call_api("POST", f"{S}/parse", headers=people["a"]["h"], json={"text": sp.EURUSD})
    assert status == 202 and body["status"] == "parsed" and body["signal"]["results"][0]["entry"] == 1.1


# --- scoping and licences ---------------------------------------------------------------------------
def test_another_users_signal_and_provider_are_404(call_api, people):
    _, _, mine = parse_sync(call_api, people["a"], sp.GOLD)
    provider = new_provider(call_api, people["a"])
    b = people["b"]["h"]
    for method, path, body in [
        ("GET", f"{S}/{mine['signal_id']}", None),
        ("GET", f"{S}/providers/{provider['provider_id']}", None),
        ("PATCH", f"{S}/providers/{provider['provider_id']}", {"name": "mine now"}),
        ("DELETE", f"{S}/providers/{provider['provider_id']}", None),
    ]:
        status, _, err = call_api(method, path, headers=b, json=body)
        assert status == 404, (method, path, err)
    status, _, err = call_api(
        "POST", f"{S}/parse-sync", headers=b, json={"text": sp.GOLD, "provider_id": provider["provider_id"]}
    )
    assert status == 404 and err["error"]["code"] == "PROVIDER_NOT_FOUND"
    _, _, history = call_api("GET", f"{S}/history", headers=b)
    assert mine["signal_id"] not in {s["signal_id"] for s in history["items"]}


def test_routes_need_signal_parsing(call_api, people):
    h = people["none"]["h"]
    for method, path, body in [
        ("POST", f"{S}/parse-sync", {"text": sp.GOLD}),
        ("POST", f"{S}/parse", {"text": sp.GOLD}),
        ("GET", f"{S}/history", None),
        ("GET", f"{S}/stats", None),
        ("GET", f"{S}/providers", None),
        ("POST", f"{S}/import", {"format": "jsonl", "content": "{}"}),
    ]:
        status, _, err = call_api(method, path, headers=h, json=body)
        assert status == 403 and err["error"]["code"] == "FEATURE_NOT_LICENSED", (path, err)
    assert call_api("GET", f"{S}/history")[0] == 401


# --- upload ---------------------------------------------------------------------------------------------
def _png(text: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 22)
    lines = text.split("\n")
    img = Image.new("RGB", (max(int(font.getlength(x)) for x in lines) + 40, 32 * len(lines) + 30), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((20, 15 + 32 * i), line, font=font, fill=(20, 20, 20))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("image", "code"),
    [
        ("not base64!!", "IMAGE_ENCODING"),
        (base64.b64encode(b"GIF89a" + b"\0" * 100).decode(), "IMAGE_FORMAT"),
        (base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode(), "IMAGE_CORRUPT"),
    ],
)
def test_bad_images_are_400_with_a_clear_error(call_api, people, image, code):
    status, _, body = call_api("POST", f"{S}/upload", headers=people["a"]["h"], json={"image": image})
    assert status == 400 and body["error"]["code"] == code and body["error"]["message"]


def test_tiny_image_is_refused_by_its_dimensions(call_api, people):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buf, "PNG")
    status, _, body = call_api(
        "POST",
        f"{S}/upload",
        headers=people["a"]["h"],
        json={"image": base64.b64encode(buf.getvalue()).decode()},
    )
    assert status == 400 and body["error"]["code"] == "IMAGE_DIMENSIONS"


def test_uploaded_image_is_stored_read_by_ocr_and_parsed(aws_module, call_api, people):
    png = _png(sp.GOLD.replace(" SL", "\nSL").replace(" TP1", "\nTP1").replace(" TP2", "\nTP2"))
    status, _, body = call_api(
        "POST",
        f"{S}/upload",
        headers=people["a"]["h"],
        json={"image": base64.b64encode(png).decode(), "caption": "fresh one"},
    )
    assert status == 202 and body["status"] == "queued" and body["image"]["format"] == "PNG"
    s3 = aws_module.client("s3")
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(
            Bucket=aws_module.ref("ReportsBucket"), Prefix=f"uploads/{people['a']['uid']}/"
        )["Contents"]
    ]
    assert f"uploads/{people['a']['uid']}/{body['signal_id']}.png" in keys
    aws_module.drain()
    _, _, done = call_api("GET", body["status_url"], headers=people["a"]["h"])
    assert done["status"] == "parsed" and done["parser"] == "ocr" and done["has_image"], done
    assert done["results"][0]["take_profits"] == [1955.0, 1960.0] and "1950-1948" in done["ocr_text"]


# --- import ---------------------------------------------------------------------------------------------
def test_import_reports_every_line(call_api, people):
    provider = new_provider(call_api, people["a"])
    lines = [
        json.dumps({"text": sp.GOLD, "signal_time": "2026-11-01T08:00:00Z"}),
        "{not json",
        json.dumps({"text": ""}),
        "",
        json.dumps({"text": sp.EURUSD, "provider_id": "prv_nobody"}),
        json.dumps({"text": sp.EURUSD, "signal_time": "2099-01-01T00:00:00Z"}),
        json.dumps(["a list"]),
        json.dumps({"text": sp.CHATTER}),
    ]
    status, _, body = call_api(
        "POST",
        f"{S}/import",
        headers=people["a"]["h"],
        json={"format": "jsonl", "content": "\n".join(lines) + "\n", "provider_id": provider["provider_id"]},
    )
    assert status == 200, body
    assert (body["total"], body["ok"], body["errors"]) == (8, 2, 6)
    by_line = {line["line"]: line for line in body["lines"]}
    assert (
        by_line[1]["status"] == "ok"
        and by_line[1]["signal_status"] == "parsed"
        and by_line[1]["results"] == 1
    )
    assert "not valid JSON" in by_line[2]["error"] and "text" in by_line[3]["error"]
    assert by_line[4]["error"] == "empty line" and "prv_nobody" in by_line[5]["error"]
    assert "signal_time" in by_line[6]["error"] and "JSON object" in by_line[7]["error"]
    assert by_line[8]["signal_status"] == "ignored"
    _, _, stored = call_api("GET", f"{S}/{by_line[1]['signal_id']}", headers=people["a"]["h"])
    assert stored["source"] == "import" and stored["signal_time"] == "2026-11-01T08:00:00.000Z"
    assert stored["provider_id"] == provider["provider_id"]


def test_import_csv_and_limits(call_api, people):
    content = 'text,signal_time\n"' + sp.EURUSD + '",2026-11-02T09:00:00Z\n,\n'
    status, _, body = call_api(
        "POST", f"{S}/import", headers=people["a"]["h"], json={"format": "csv", "content": content}
    )
    assert status == 200 and [line["status"] for line in body["lines"]] == ["ok", "error"]
    status, _, body = call_api(
        "POST", f"{S}/import", headers=people["a"]["h"], json={"format": "csv", "content": "message\nhello\n"}
    )
    assert status == 400 and body["error"]["code"] == "INVALID_IMPORT"
    many = "\n".join(json.dumps({"text": "x"}) for _ in range(1001))
    status, _, body = call_api(
        "POST", f"{S}/import", headers=people["a"]["h"], json={"format": "jsonl", "content": many}
    )
    assert status == 413 and body["error"]["code"] == "TOO_MANY_LINES"


# --- history ----------------------------------------------------------------------------------------------
def test_history_pages_and_filters_by_provider_symbol_and_date(call_api, people):
    who = people["b"]
    gold_prov = new_provider(call_api, who)["provider_id"]
    fx_prov = new_provider(call_api, who)["provider_id"]
    times = [
        "2026-10-01T10:00:00Z",
        "2026-10-02T10:00:00Z",
        "2026-10-03T10:00:00Z",
        "2026-10-04T10:00:00Z",
        "2026-10-05T10:00:00Z",
    ]
    ids = {}
    for i, when in enumerate(times):
        text, prov = (sp.GOLD, gold_prov) if i % 2 == 0 else (sp.EURUSD, fx_prov)
        _, _, body = parse_sync(call_api, who, text, provider_id=prov, signal_time=when)
        ids[when] = body["signal_id"]

    def pages(**query):
        seen, cursor = [], None
        while True:
            q = {**query, "limit": 2, **({"cursor": cursor} if cursor else {})}
            status, _, body = call_api("GET", f"{S}/history", headers=who["h"], query=q)
            assert status == 200, body
            assert len(body["items"]) <= 2
            seen += [s["signal_id"] for s in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                return seen

    window = {"from": "2026-10-01", "to": "2026-10-05"}
    assert pages(**window) == [ids[t] for t in reversed(times)]  # newest first, nothing twice
    assert pages(provider_id=gold_prov) == [ids[times[4]], ids[times[2]], ids[times[0]]]
    assert pages(symbol="eur/usd", **window) == [ids[times[3]], ids[times[1]]]
    assert pages(symbol="gold", provider_id=gold_prov, **{"from": "2026-10-02T00:00:00Z"}) == [
        ids[times[4]],
        ids[times[2]],
    ]
    assert pages(**{"from": "2026-10-02", "to": "2026-10-03"}) == [ids[times[2]], ids[times[1]]]


def test_history_refuses_foreign_or_broken_cursors(call_api, people):
    for _ in range(3):
        parse_sync(call_api, people["a"], sp.GOLD)
    _, _, page = call_api("GET", f"{S}/history", headers=people["a"]["h"], query={"limit": 1})
    assert page["next_cursor"]
    status, _, body = call_api(
        "GET", f"{S}/history", headers=people["b"]["h"], query={"cursor": page["next_cursor"]}
    )
    assert status == 400 and body["error"]["code"] == "INVALID_CURSOR"
    status, _, _ = call_api("GET", f"{S}/history", headers=people["a"]["h"], query={"cursor": "%%%"})
    assert status == 400
    status, _, _ = call_api("GET", f"{S}/history", headers=people["a"]["h"], query={"from": "yesterday"})
    assert status == 400


# --- stats -----------------------------------------------------------------------------------------------
def test_stats_count_outcomes_parsers_and_latency(call_api, people):
    who = _register(call_api)
    parse_sync(call_api, who, sp.GOLD)
    parse_sync(call_api, who, sp.EURUSD)
    parse_sync(call_api, who, sp.CHATTER)
    status, _, body = call_api("GET", f"{S}/stats", headers=who["h"])
    assert status == 200, body
    assert body["received"] == 3 and body["by_outcome"] == {"parsed": 2, "ignored": 1, "failed": 0}
    assert body["by_parser"]["rules"] == 2 and body["by_confidence"]["high"] == 2
    assert body["by_source"]["api"] == 3 and body["latency"]["count"] == 3
    assert sum(h["count"] for h in body["latency"]["histogram"]) == 3
    status, _, _ = call_api("GET", f"{S}/stats", headers=who["h"], query={"from": "2020-01-01"})
    assert status == 400


# --- providers --------------------------------------------------------------------------------------------
def test_provider_crud_with_validated_rules(call_api, people):
    h = people["a"]["h"]
    rules = {"symbol_aliases": {"yellow": "gold"}, "default_sl_pips": 30, "ignore_patterns": ["^VIP promo"]}
    created = new_provider(call_api, people["a"], description="gold calls", rules=rules)
    pid = created["provider_id"]
    assert created["rules"]["symbol_aliases"] == {"YELLOW": "XAUUSD"} and created["visibility"] == "private"
    assert created["telegram"] is None
    status, _, body = call_api("PATCH", f"{S}/providers/{pid}", headers=h, json={"name": "Gold VIP"})
    assert status == 200 and body["name"] == "Gold VIP" and body["rules"]["default_sl_pips"] == 30
    status, _, body = call_api("PUT", f"{S}/providers/{pid}", headers=h, json={"name": "Gold"})
    assert status == 200 and body["rules"] == {} and body["description"] is None
    status, _, body = call_api(
        "PATCH", f"{S}/providers/{pid}", headers=h, json={"rules": {"ignore_patterns": ["(a+)+$"]}}
    )
    assert status == 422 and "rules" in json.dumps(body["error"]["details"])
    _, _, listed = call_api("GET", f"{S}/providers", headers=h)
    assert pid in {p["provider_id"] for p in listed["items"]}
    assert call_api("DELETE", f"{S}/providers/{pid}", headers=h)[0] == 200
    assert call_api("GET", f"{S}/providers/{pid}", headers=h)[0] == 404
    assert call_api("DELETE", f"{S}/providers/{pid}", headers=h)[0] == 404


def test_only_admins_make_public_providers(call_api, people):
    status, _, body = call_api(
        "POST",
        f"{S}/providers",
        headers=people["a"]["h"],
        json={"name": "everyone's", "visibility": "public"},
    )
    assert status == 403 and body["error"]["code"] == "PUBLIC_PROVIDER_ADMIN_ONLY"
    public = new_provider(call_api, people["admin"], visibility="public")
    assert public["visibility"] == "public"
    from signalos.common.dynamo import Table

    listed = list(Table.from_env("SIGNALS_TABLE").query_all("PROVIDERS#PUBLIC", index="gsi1"))
    assert public["provider_id"] in {i["provider_id"] for i in listed}


def test_provider_rules_apply_to_parsing(call_api, people, monkeypatch):
    seen = []
    from signalos.signals import service

    real = service.rules_parse
    monkeypatch.setattr(service, "rules_parse", lambda text, rules: seen.append(rules) or real(text, rules))
    provider = new_provider(call_api, people["a"], rules={"default_sl_pips": 25})
    parse_sync(call_api, people["a"], sp.GOLD, provider_id=provider["provider_id"])
    assert seen[-1].default_sl_pips == 25


# --- auto_execute ------------------------------------------------------------------------------------------
def test_auto_execute_needs_a_provider_and_dispatches_to_its_subscriptions(call_api, people):
    _, _, body = parse_sync(call_api, people["a"], sp.GOLD, auto_execute=True)
    assert body["execution"]["requested"] and not body["execution"]["dispatched"]
    assert "provider_id" in body["execution"]["reason"]
    provider = new_provider(call_api, people["a"])
    _, _, body = parse_sync(
        call_api, people["a"], sp.GOLD, auto_execute=True, provider_id=provider["provider_id"]
    )
    assert body["execution"]["dispatched"] is True and body["execution"]["subscriptions"] == 0
    _, _, body = parse_sync(call_api, people["basic"], sp.GOLD, auto_execute=True)
    assert "auto_trading" in body["execution"]["reason"]


def test_only_the_upload_route_accepts_bodies_past_the_house_limit(aws_module, call_api, people):
    import os

    from PIL import Image

    noise = Image.frombytes("RGB", (420, 420), os.urandom(420 * 420 * 3))
    buf = io.BytesIO()
    noise.save(buf, "PNG")
    assert len(buf.getvalue()) > 300 * 1024
    status, _, body = call_api(
        "POST",
        f"{S}/upload",
        headers=people["a"]["h"],
        json={"image": base64.b64encode(buf.getvalue()).decode()},
    )
    assert status == 202, body
    sqs, url = aws_module.client("sqs"), aws_module.ref("SignalJobsQueue")
    for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])  # no OCR of noise here
    status, _, body = call_api(
        "POST", f"{S}/parse-sync", headers=people["a"]["h"], json={"text": "x" * 300_000}
    )
    assert status == 413 and body["error"]["code"] == "PAYLOAD_TOO_LARGE"
