"""Register a deployed stage's webhook with Telegram (setWebhook with the stage's secret token).

    python infra/scripts/set_telegram_webhook.py --stage dev               # stack signalos-dev
    python infra/scripts/set_telegram_webhook.py --stage prod --dry-run    # print the request only
    TELEGRAM_BOT_TOKEN=123:ABC... python infra/scripts/set_telegram_webhook.py --stage dev --store-bot-token

The webhook URL and the secret's ARN come from the stack's outputs (`TelegramWebhookUrl`,
`TelegramSecretArn`), or from --url / --secret-arn. The secret holds JSON {"webhook_secret",
"bot_token"}: the template generates the webhook secret; the bot token (from @BotFather) is put
there once, by hand or with --store-bot-token (read from the TELEGRAM_BOT_TOKEN environment
variable, never from the command line, so it stays out of shell history). Secrets are never
printed: --dry-run shows them masked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

OUTPUT_URL = "TelegramWebhookUrl"
OUTPUT_SECRET = "TelegramSecretArn"


class ScriptError(Exception):
    """A problem the operator can fix; printed without a traceback."""


def _client(service: str, region: str | None) -> Any:
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def stack_outputs(stack_name: str, region: str | None) -> dict[str, str]:
    try:
        stacks = _client("cloudformation", region).describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as exc:
        raise ScriptError(f"cannot read stack {stack_name!r}: {exc}") from exc
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def read_secret(secret_arn: str, region: str | None) -> dict[str, Any]:
    raw = _client("secretsmanager", region).get_secret_value(SecretId=secret_arn)["SecretString"]
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ScriptError("the Telegram secret is not a JSON object")
    return value


def store_bot_token(secret_arn: str, region: str | None, token: str) -> None:
    from signalos.telegram.botapi import check_token

    check_token(token)
    current = read_secret(secret_arn, region)
    current["bot_token"] = token
    _client("secretsmanager", region).put_secret_value(SecretId=secret_arn, SecretString=json.dumps(current))


def mask(value: str) -> str:
    return f"***({len(value)} chars)" if value else "(empty)"


def masked_request(url_base: str, token: str, payload: dict[str, Any]) -> dict[str, Any]:
    bot_id = token.split(":", 1)[0] if ":" in token else "?"
    return {
        "method": "POST",
        "url": f"{url_base}/bot{bot_id}:{mask(token.split(':', 1)[-1])}/setWebhook",
        "json": {**payload, "secret_token": mask(payload["secret_token"])},
    }


def main(argv: list[str] | None = None, *, out: Any = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev", help="dev or prod (the stack is signalos-<stage>)")
    parser.add_argument("--stack-name", help="CloudFormation stack (default signalos-<stage>)")
    parser.add_argument(
        "--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    )
    parser.add_argument("--url", help="webhook URL (default: the stack's TelegramWebhookUrl output)")
    parser.add_argument(
        "--secret-arn", help="Telegram secret ARN (default: the stack's TelegramSecretArn output)"
    )
    parser.add_argument("--drop-pending", action="store_true", help="discard updates queued at Telegram")
    parser.add_argument(
        "--store-bot-token",
        action="store_true",
        help="first write $TELEGRAM_BOT_TOKEN into the secret's bot_token",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the request (secrets masked), send nothing"
    )
    args = parser.parse_args(argv)

    from signalos.telegram import botapi

    try:
        url, secret_arn = args.url, args.secret_arn
        if not url or not secret_arn:
            outputs = stack_outputs(args.stack_name or f"signalos-{args.stage}", args.region)
            url = url or outputs.get(OUTPUT_URL)
            secret_arn = secret_arn or outputs.get(OUTPUT_SECRET)
            if not url or not secret_arn:
                raise ScriptError(
                    f"the stack has no {OUTPUT_URL}/{OUTPUT_SECRET} outputs; pass --url/--secret-arn"
                )
        if args.store_bot_token:
            token = os.environ.get("TELEGRAM_BOT_TOKEN", "")
            if not token:
                raise ScriptError("set TELEGRAM_BOT_TOKEN to the token @BotFather gave you")
            if args.dry_run:
                print(f"would store bot_token {mask(token)} in {secret_arn}", file=out)
            else:
                store_bot_token(secret_arn, args.region, token)
        secret = read_secret(secret_arn, args.region)
        token = os.environ.get("TELEGRAM_BOT_TOKEN", "") if args.dry_run and args.store_bot_token else ""
        token = token or str(secret.get("bot_token") or "")
        webhook_secret = str(secret.get("webhook_secret") or "")
        if not token:
            raise ScriptError(
                f"the secret {secret_arn} has no bot_token yet: run again with --store-bot-token"
            )
        botapi.check_token(token)
        payload = botapi.set_webhook_payload(url, webhook_secret, drop_pending=args.drop_pending)
        if args.dry_run:
            print(json.dumps(masked_request(botapi.api_base(), token, payload), indent=2), file=out)
            return 0
        botapi.call(token, "setWebhook", payload)
        info = botapi.call(token, "getWebhookInfo", {})
        print(f"webhook set: {info.get('url') if isinstance(info, dict) else url}", file=out)
        return 0
    except (ScriptError, botapi.BotApiError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
