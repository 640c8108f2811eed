"""infra/scripts/set_telegram_webhook.py against moto (stack outputs, the secret) and the fake Bot API."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest
from fake_bot_api import TOKEN

SCRIPT = Path(__file__).resolve().parents[3] / "infra" / "scripts" / "set_telegram_webhook.py"
URL = "https://abc123.execute-api.us-east-1.amazonaws.com/api/v1/telegram/webhook"


@pytest.fixture
def script():
    spec = importlib.util.spec_from_file_location("set_telegram_webhook", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def stack(aws):
    """A deployed-looking stack whose outputs name the template's Telegram secret."""
    secret_arn = aws.ref("TelegramSecret")
    template = {
        "Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"TelegramWebhookUrl": {"Value": URL}, "TelegramSecretArn": {"Value": secret_arn}},
    }
    aws.client("cloudformation").create_stack(StackName="signalos-dev", TemplateBody=json.dumps(template))
    return secret_arn


def test_sets_the_webhook_with_the_stage_secret(aws, stack, script, bot_api, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    out = io.StringIO()
    assert script.main(["--stage", "dev", "--store-bot-token"], out=out) == 0
    secret = aws.secret_json("TelegramSecret")
    assert secret["bot_token"] == TOKEN
    assert bot_api.webhook["url"] == URL
    assert bot_api.webhook["secret_token"] == secret["webhook_secret"]
    assert f"webhook set: {URL}" in out.getvalue()


def test_dry_run_prints_the_request_masked_and_sends_nothing(aws, stack, script, bot_api, monkeypatch):
    aws.client("secretsmanager").put_secret_value(
        SecretId=stack, SecretString=json.dumps({"webhook_secret": "Secret_123-abc", "bot_token": TOKEN})
    )
    out = io.StringIO()
    assert script.main(["--stage", "dev", "--dry-run"], out=out) == 0
    printed = json.loads(out.getvalue())
    assert printed["json"]["url"] == URL
    assert printed["url"].endswith("/setWebhook") and printed["url"].startswith(bot_api.base_url)
    text = out.getvalue()
    assert "Secret_123-abc" not in text and TOKEN.split(":")[1] not in text
    assert bot_api.requests == []


def test_missing_bot_token_is_a_clear_error(aws, stack, script, bot_api, capsys):
    assert script.main(["--stage", "dev"]) == 2
    assert "no bot_token" in capsys.readouterr().err
    assert bot_api.requests == []


def test_explicit_url_and_secret_without_a_stack(aws, script, bot_api):
    arn = aws.ref("TelegramSecret")
    aws.client("secretsmanager").put_secret_value(
        SecretId=arn, SecretString=json.dumps({"webhook_secret": "abc_DEF-123", "bot_token": TOKEN})
    )
    assert script.main(["--url", URL, "--secret-arn", arn, "--drop-pending"], out=io.StringIO()) == 0
    assert bot_api.webhook["drop_pending_updates"] is True


def test_unknown_stack_is_reported(aws, script, capsys):
    assert script.main(["--stage", "prod"]) == 2
    assert "cannot read stack 'signalos-prod'" in capsys.readouterr().err
