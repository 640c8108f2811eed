"""template.yaml keeps the promises the rest of the code relies on (names, shapes, safety nets)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from infra import requirements
from infra.local.routing import Router
from infra.local.template import Template, load_template, references

ROOT = Path(__file__).resolve().parents[2]

# The Globals environment every function gets (team brief, "Names everyone relies on").
REQUIRED_ENV = {
    "STAGE",
    "SERVICE_NAME",
    "USERS_TABLE",
    "SIGNALS_TABLE",
    "TRADING_TABLE",
    "ANALYTICS_TABLE",
    "AUDIT_TABLE",
    "IDEMPOTENCY_TABLE",
    "SIGNAL_JOBS_QUEUE_URL",
    "FANOUT_QUEUE_URL",
    "REPORTS_BUCKET",
    "JWT_SECRET_ARN",
    "TELEGRAM_SECRET_ARN",
    "OPENAI_SECRET_ARN",
    "BRIDGE_QUEUE_ROLE_ARN",
    "ORDER_QUEUE_PREFIX",
    "DEFAULT_LICENSE_TIER",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "LOG_LEVEL",
}

# Routes other parts of the system call, and the function that must answer them.
EXPECTED_ROUTES = {
    ("POST", "/api/v1/auth/login"): "AuthFunction",
    ("POST", "/api/v1/auth/register"): "AuthFunction",
    ("GET", "/healthz"): "StatusFunction",
    ("GET", "/ready"): "StatusFunction",
    ("GET", "/health/detailed"): "StatusFunction",
    ("GET", "/api/v1/status/health"): "StatusFunction",
    ("GET", "/api/openapi.json"): "StatusFunction",
    ("GET", "/api/docs"): "StatusFunction",
    ("GET", "/metrics"): "StatusFunction",
    ("GET", "/version"): "StatusFunction",
    ("GET", "/api/v1/signals/sig_123"): "SignalsFunction",
    ("POST", "/api/v1/telegram/webhook"): "TelegramFunction",
    ("POST", "/api/v1/subscriptions"): "TradingFunction",
    ("GET", "/api/v1/trades/history"): "TradingFunction",
    ("POST", "/api/v1/bridge/register"): "BridgeFunction",
    ("POST", "/api/v1/bridge/session"): "BridgeFunction",
    ("GET", "/api/v1/analytics/summary"): "AnalyticsFunction",
    ("GET", "/api/v1/admin/users"): "AdminFunction",
    ("GET", "/no/such/route"): "StatusFunction",  # the $default route answers 404 in our error body
}

DATA_TABLES = ("UsersTable", "SignalsTable", "TradingTable", "AnalyticsTable", "AuditTable")


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template()


def _props(template: Template, logical_id: str) -> dict[str, Any]:
    return template.resources[logical_id]["Properties"]


def test_every_handler_module_exists_and_defines_its_function(template):
    missing = []
    for fn in template.functions().values():
        module, _, attr = fn.handler.rpartition(".")
        path = ROOT / fn.code_uri / (module.replace(".", "/") + ".py")
        if not path.is_file():
            missing.append(f"{fn.logical_id}: {path.relative_to(ROOT)} does not exist")
            continue
        tree = ast.parse(path.read_text())
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        names |= {
            t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
        }
        names |= {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
        if attr not in names:
            missing.append(f"{fn.logical_id}: {path.relative_to(ROOT)} defines no {attr}")
    assert not missing, "\n".join(missing)


def test_functions_run_python313_on_arm64_with_the_dependencies_layer(template):
    g = template.function_globals
    assert g["Runtime"] == "python3.13"
    assert g["Architectures"] == ["arm64"]
    assert {"Ref": "DependenciesLayer"} in g["Layers"]
    for fn in template.functions().values():
        assert fn.runtime == "python3.13"
        assert fn.code_uri == "functions/"
        assert 1 <= fn.timeout <= 900


def test_only_the_workers_carry_the_heavy_layer(template):
    with_workers = {
        lid
        for lid, res in template.resources_of_type("AWS::Serverless::Function").items()
        if {"Ref": "WorkersLayer"} in res["Properties"].get("Layers", [])
    }
    # SignalsFunction: Pillow checks uploads fully and parse-sync may call the LLM inline.
    assert with_workers == {"SignalWorkerFunction", "AnalyticsFunction", "SignalsFunction"}


def test_globals_environment_has_every_shared_name(template):
    env = template.function_globals["Environment"]["Variables"]
    assert set(env) >= REQUIRED_ENV, f"missing: {sorted(REQUIRED_ENV - set(env))}"
    assert env["SERVICE_NAME"] == "signalos"
    assert env["ORDER_QUEUE_PREFIX"] == {"Fn::Sub": "signalos-${Stage}-orders-"}
    # Every Ref/GetAtt in the environment names something the template declares.
    declared = set(template.resources) | set(template.parameters)
    assert references(env) <= declared


def test_layer_requirements_are_generated_from_pyproject():
    assert requirements.stale_files() == [], "run: python -m infra.requirements"
    expected = requirements.expected_requirements()
    assert (
        requirements.read_requirements(requirements.LAYER_FILES["dependencies"]) == expected["dependencies"]
    )
    assert "openai>=1.50" in requirements.read_requirements(requirements.LAYER_FILES["workers"])


def test_layer_check_notices_a_stale_file(tmp_path, monkeypatch):
    stale = tmp_path / "requirements.txt"
    stale.write_text("boto3\n")
    monkeypatch.setitem(requirements.LAYER_FILES, "dependencies", stale)
    assert requirements.stale_files() == [stale]
    assert requirements.main(["--check"]) == 1


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED_ROUTES))
def test_routes_reach_the_right_function(template, method, path):
    match = Router.from_template(template).match(method, path)
    assert match is not None
    assert match.function_id == EXPECTED_ROUTES[(method, path)]


def test_every_route_belongs_to_the_one_http_api_and_no_route_is_declared_twice(template):
    seen: dict[str, str] = {}
    for fn in template.functions().values():
        for event in fn.events_of("HttpApi"):
            assert event.properties.get("ApiId") == {"Ref": "HttpApi"}, f"{fn.logical_id}.{event.name}"
            key = (
                f"{event.properties.get('Method', 'ANY').upper()} {event.properties.get('Path', '$default')}"
            )
            assert key not in seen, f"{key} declared by {seen.get(key)} and {fn.logical_id}"
            seen[key] = fn.logical_id


def test_http_api_has_cors_throttling_and_access_logs(template):
    api = _props(template, "HttpApi")
    assert api["CorsConfiguration"]["AllowOrigins"]
    assert "authorization" in api["CorsConfiguration"]["AllowHeaders"]
    assert "x-api-key" in api["CorsConfiguration"]["AllowHeaders"]
    assert api["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert api["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["HttpApiAccessLogs", "Arn"]}


def test_every_batch_trigger_reports_partial_failures(template):
    triggers = [
        (fn, e) for fn in template.functions().values() for e in fn.events if e.type in ("SQS", "DynamoDB")
    ]
    assert {fn.logical_id for fn, _ in triggers} == {
        "SignalWorkerFunction",
        "FanoutWorkerFunction",
        "AggregatorFunction",
    }
    for fn, event in triggers:
        assert event.properties.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], fn.logical_id


def test_stream_trigger_retries_bisects_and_keeps_what_it_gives_up_on(template):
    (event,) = template.functions()["AggregatorFunction"].events_of("DynamoDB")
    props = event.properties
    assert props["Stream"] == {"Fn::GetAtt": ["TradingTable", "StreamArn"]}
    assert props["StartingPosition"] == "LATEST"
    assert props["BatchSize"] == 100
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 < props["MaximumRetryAttempts"] <= 10
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["AggregatorDLQ", "Arn"]}


def _dead_letter_queues(template: Template) -> set[str]:
    dlqs = set()
    for res in template.resources.values():
        props = res.get("Properties", {})
        redrive = props.get("RedrivePolicy")
        if redrive:
            dlqs.add(redrive["deadLetterTargetArn"]["Fn::GetAtt"][0])
    for fn in template.functions().values():
        for event in fn.events:
            dest = (event.properties.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
            if dest:
                dlqs.add(dest["Fn::GetAtt"][0])
    return dlqs


def test_every_queue_has_a_dead_letter_queue_with_an_alarm(template):
    queues = set(template.resources_of_type("AWS::SQS::Queue"))
    dlqs = _dead_letter_queues(template)
    assert dlqs, "no dead-letter queues at all"
    for queue in queues - dlqs:
        redrive = _props(template, queue).get("RedrivePolicy")
        assert redrive, f"{queue} has no dead-letter queue"
        assert redrive["maxReceiveCount"] == 5
    alarmed = set()
    for alarm in template.resources_of_type("AWS::CloudWatch::Alarm").values():
        p = alarm["Properties"]
        if p.get("Namespace") == "AWS/SQS" and p.get("MetricName") == "ApproximateNumberOfMessagesVisible":
            for dim in p["Dimensions"]:
                if dim["Name"] == "QueueName":
                    alarmed.add(dim["Value"]["Fn::GetAtt"][0])
            assert p["AlarmActions"] == [{"Ref": "AlarmTopic"}]
            assert p["Threshold"] == 1
    assert dlqs <= alarmed, f"dead-letter queues without an alarm: {sorted(dlqs - alarmed)}"


def test_queue_visibility_is_at_least_six_times_the_consumer_timeout(template):
    for fn in template.functions().values():
        for event in fn.events_of("SQS"):
            queue = event.properties["Queue"]["Fn::GetAtt"][0]
            visibility = _props(template, queue)["VisibilityTimeout"]
            assert visibility >= 6 * fn.timeout, f"{queue}: {visibility}s < 6 x {fn.logical_id} {fn.timeout}s"


def test_http_api_5xx_alarm_goes_to_the_topic(template):
    alarms = [
        a["Properties"]
        for a in template.resources_of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "5xx"
    ]
    assert len(alarms) == 1
    assert {"Name": "ApiId", "Value": {"Ref": "HttpApi"}} in alarms[0]["Dimensions"]
    assert alarms[0]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    sub = template.resources["AlarmEmailSubscription"]
    assert sub["Condition"] == "HasAlarmEmail"


@pytest.mark.parametrize("table", DATA_TABLES)
def test_data_tables_share_one_key_shape(template, table):
    res = template.resources[table]
    p = res["Properties"]
    assert res["DeletionPolicy"] == "Retain"
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    indexes = {i["IndexName"]: i for i in p["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"gsi1", "gsi2"}
    for name, index in indexes.items():
        assert index["KeySchema"] == [
            {"AttributeName": f"{name}pk", "KeyType": "HASH"},
            {"AttributeName": f"{name}sk", "KeyType": "RANGE"},
        ]
        assert index["Projection"] == {"ProjectionType": "ALL"}
    assert {a["AttributeName"]: a["AttributeType"] for a in p["AttributeDefinitions"]} == {
        k: "S" for k in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
    }
    assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert p["SSESpecification"] == {"SSEEnabled": True}
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert ("StreamSpecification" in p) == (table == "TradingTable")


def test_trading_stream_carries_old_and_new_images(template):
    assert _props(template, "TradingTable")["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_idempotency_table_has_powertools_shape(template):
    p = _props(template, "IdempotencyTable")
    assert p["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_secrets_are_generated_never_written_in_the_template(template):
    jwt = _props(template, "JwtSigningSecret")["GenerateSecretString"]
    assert jwt["GenerateStringKey"] == "signing_key"
    assert jwt["PasswordLength"] >= 64
    telegram = _props(template, "TelegramSecret")["GenerateSecretString"]
    assert telegram["GenerateStringKey"] == "webhook_secret"
    assert telegram["ExcludePunctuation"] is True  # Telegram allows only A-Za-z0-9_- in secret_token
    assert "SecretString" not in _props(template, "JwtSigningSecret")
    assert "SecretString" not in _props(template, "TelegramSecret")


def test_reports_bucket_is_private_and_encrypted(template):
    p = _props(template, "ReportsBucket")
    assert all(p["PublicAccessBlockConfiguration"].values())
    assert p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert any(rule.get("ExpirationInDays") for rule in p["LifecycleConfiguration"]["Rules"])


def _statements(policies: list[Any]) -> list[dict[str, Any]]:
    out = []
    for policy in policies:
        if isinstance(policy, dict) and "Statement" in policy:
            out.extend(policy["Statement"])
    return out


def test_no_function_gets_a_wildcard_resource_or_a_managed_admin_policy(template):
    for lid, res in template.resources_of_type("AWS::Serverless::Function").items():
        policies = res["Properties"].get("Policies", [])
        assert policies or "Role" in res["Properties"], f"{lid} has neither policies nor a role"
        for policy in policies:
            assert not isinstance(policy, str), f"{lid} uses managed policy {policy}; use a policy template"
        for statement in _statements(policies):
            assert statement.get("Resource") != "*", f"{lid}: {statement}"
    for lid, res in template.resources_of_type("AWS::IAM::Role").items():
        for policy in res["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                assert statement.get("Resource") != "*", f"{lid}: {statement}"


def test_functions_reach_only_the_tables_they_need(template):
    def tables(lid: str) -> set[str]:
        found = set()
        for policy in template.resources[lid]["Properties"].get("Policies", []):
            if isinstance(policy, dict):
                for name, args in policy.items():
                    if name.startswith("DynamoDB"):
                        found.add(args["TableName"]["Ref"])
        return found

    assert tables("AuthFunction") == {"UsersTable", "AuditTable"}
    # Signals may dispatch (auto_execute) but never touch analytics; auth sees only users and audit.
    assert "AnalyticsTable" not in tables("SignalsFunction")
    assert tables("AggregatorFunction") <= {"AnalyticsTable", "TradingTable", "SignalsTable"}


def test_bridge_queue_role_is_assumable_only_by_the_bridge_function(template):
    role = _props(template, "BridgeQueueRole")
    assert role["MaxSessionDuration"] == 3600
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Fn::GetAtt": ["BridgeFunctionRole", "Arn"]}}
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    }
    assert statement["Resource"]["Fn::Sub"].endswith(":signalos-${Stage}-orders-*")
    assume = _props(template, "BridgeAssumeQueueRolePolicy")
    assert assume["Roles"] == [{"Ref": "BridgeFunctionRole"}]
    assert _props(template, "BridgeFunction")["Role"] == {"Fn::GetAtt": ["BridgeFunctionRole", "Arn"]}


def _role_statements(template: Template, role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in _props(template, role_id).get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement.get("Action", [])
    return {action} if isinstance(action, str) else set(action)


def test_bridge_function_manages_only_its_order_dlq_alarms_and_knows_the_topic(template):
    from signalos.bridge_api.policy import dlq_alarm_name

    assert template.functions()["BridgeFunction"].environment["ALARM_TOPIC_ARN"] == {"Ref": "AlarmTopic"}
    (alarms,) = [s for s in _role_statements(template, "BridgeFunctionRole")
                 if any(a.startswith("cloudwatch:") for a in _actions(s))]
    assert alarms["Effect"] == "Allow"
    assert _actions(alarms) == {"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"}
    resource = alarms["Resource"]["Fn::Sub"]
    assert resource == (
        "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:signalos-${Stage}-orders-*"
    )
    # The names the code builds fall under that resource, whatever the stage.
    prefix = template.function_globals["Environment"]["Variables"]["ORDER_QUEUE_PREFIX"]["Fn::Sub"]
    for stage in ("dev", "prod"):
        pattern = resource.rsplit(":alarm:", 1)[1].replace("${Stage}", stage)
        name = dlq_alarm_name(prefix.replace("${Stage}", stage), "acc_01JD0000000000000000000000")
        assert re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), name), (pattern, name)
    # No other function or role may touch alarms.
    for lid in template.resources_of_type("AWS::IAM::Role"):
        if lid != "BridgeFunctionRole":
            assert not any(a.startswith("cloudwatch:") and "Alarm" in a
                           for s in _role_statements(template, lid) for a in _actions(s)), lid
    for lid, res in template.resources_of_type("AWS::Serverless::Function").items():
        for statement in _statements(res["Properties"].get("Policies", [])):
            assert not any("Alarm" in a for a in _actions(statement) if a.startswith("cloudwatch:")), lid


def test_alarm_topic_key_lets_cloudwatch_publish(template):
    # Alarms cannot publish to a topic encrypted with the AWS-managed aws/sns key (its policy cannot
    # name CloudWatch): every alarm of the stack would go undelivered.
    key_ref = _props(template, "AlarmTopic")["KmsMasterKeyId"]
    assert isinstance(key_ref, dict) and set(key_ref) == {"Ref"}, key_ref
    key = template.resources[key_ref["Ref"]]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    grants = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
              if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert len(grants) == 1 and grants[0]["Effect"] == "Allow"
    assert _actions(grants[0]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


# Environment names that stand for a deployed resource: the template must provide each one the
# code reads, or the function fails only once deployed.
_RESOURCE_ENV = re.compile(
    r"\"([A-Z][A-Z0-9_]*_(?:TABLE|QUEUE_URL|DLQ_URL|SECRET_ARN|ROLE_ARN|TOPIC_ARN|BUCKET))\""
)


def test_every_resource_variable_the_code_reads_is_provided(template):
    provided = set(template.function_globals["Environment"]["Variables"])
    for fn in template.functions().values():
        provided |= set(fn.environment)
    read = {}
    for path in (ROOT / "functions" / "signalos").rglob("*.py"):
        for name in _RESOURCE_ENV.findall(path.read_text()):
            read.setdefault(name, str(path.relative_to(ROOT)))
    missing = {name: where for name, where in read.items() if name not in provided}
    assert not missing, f"read by the code but not set by template.yaml: {missing}"


def test_function_level_variables_resolve_locally(template, aws):
    admin = aws.runner.function_env["AdminFunction"]
    assert admin == {"AGGREGATOR_DLQ_URL": aws.ref("AggregatorDLQ")}
    assert "AGGREGATOR_DLQ_URL" not in aws.env  # only while the admin function runs
