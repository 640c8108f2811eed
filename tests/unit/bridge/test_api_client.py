"""The bridge API client against a real HTTP server speaking the contract."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bridge_api_server import FakeBridgeApi
from bridge_fixtures import ACCOUNT_ID
from signalos.contracts.execution import ExecutionReport, Heartbeat

from bridge_agent.api_client import ApiAuthError, ApiError, ApiUnavailable, BridgeApiClient


@pytest.fixture(scope="module")
def server():
    api = FakeBridgeApi(account_id=ACCOUNT_ID, queue_url="https://sqs.us-east-1.amazonaws.com/1/q.fifo")
    api.start()
    yield api
    api.stop()


@pytest.fixture
def api(server):
    server.fail_next.clear()
    server.applied.clear()
    return server


def client(api, **kw) -> BridgeApiClient:
    sleeps: list[float] = []
    c = BridgeApiClient(api.url, api.token, sleep=sleeps.append, **kw)
    c.sleeps = sleeps  # type: ignore[attr-defined]
    return c


def report(report_id: str, account_id: str = ACCOUNT_ID) -> ExecutionReport:
    return ExecutionReport(
        report_id=report_id,
        account_id=account_id,
        command_id="cmd_1",
        order_id="ord_1",
        status="filled",
        executed_at=datetime.now(UTC),
    )


def test_session_parses_the_sts_credentials(api):
    session = client(api).session()
    assert session.account_id == ACCOUNT_ID
    assert session.queue_url.endswith("q.fifo")
    assert session.credentials.access_key_id.startswith("ASIA")
    assert session.credentials.expiration > datetime.now(UTC)


def test_reports_are_idempotent_by_report_id(api):
    c = client(api)
    first = c.post_reports([report("r1"), report("r2")])
    assert [(r.report_id, r.status) for r in first] == [("r1", "applied"), ("r2", "applied")]
    again = c.post_reports([report("r1")])
    assert again[0].status == "duplicate" and again[0].accepted


def test_report_for_another_account_is_rejected_not_accepted(api):
    (result,) = client(api).post_reports([report("r9", account_id="acc_other")])
    assert result.status == "rejected" and not result.accepted


def test_server_errors_are_retried_with_backoff(api):
    api.fail_next = [503, 502]
    c = client(api, retries=3, backoff_seconds=0.5)
    assert c.post_reports([report("r3")])[0].status == "applied"
    assert c.sleeps == [0.5, 1.0]


def test_retries_are_bounded(api):
    api.fail_next = [503] * 5
    c = client(api, retries=2, backoff_seconds=0.1)
    with pytest.raises(ApiUnavailable):
        c.session()
    api.fail_next.clear()


def test_a_refused_token_tells_the_user_to_register_again(api):
    c = BridgeApiClient(api.url, "sosb_revoked", sleep=lambda s: None)
    with pytest.raises(ApiAuthError, match="register"):
        c.session()


def test_no_token_is_a_clear_error(api):
    with pytest.raises(ApiAuthError, match="register"):
        BridgeApiClient(api.url).session()


def test_network_failure_is_unavailable_not_a_crash():
    c = BridgeApiClient("http://127.0.0.1:9", "sosb_x", retries=1, sleep=lambda s: None, timeout=(0.2, 0.2))
    with pytest.raises(ApiUnavailable, match="cannot reach"):
        c.session()


def test_heartbeat_returns_the_server_time(api):
    hb = Heartbeat(account_id=ACCOUNT_ID, sent_at=datetime.now(UTC), balance=1, equity=1, margin_free=1)
    server_time = client(api).heartbeat(hb)
    assert abs((server_time - datetime.now(UTC)).total_seconds()) < 5


def test_pairing_code_is_single_use(api):
    api.pairing_codes["ABCD-EFGH"] = ACCOUNT_ID
    c = BridgeApiClient(api.url)
    assert c.pair("abcd-efgh")["bridge_token"] == api.token
    with pytest.raises(ApiError) as err:
        c.pair("ABCD-EFGH")
    assert err.value.status == 404
