"""The local runtime behaves like the AWS services it stands in for (API Gateway, Lambda triggers)."""

from __future__ import annotations

import base64
import json
import logging
import os
import re

import infra_sample_handlers as sample
import pytest

from infra.local.apigw import LocalApi, to_http_response
from infra.local.events import http_event
from infra.local.invoke import FunctionRunner, make_context, scoped_environ
from infra.local.resources import Clients, create_resources, function_environment, generate_secret_value
from infra.local.routing import Route, Router
from infra.local.template import FunctionSpec, Resolver, Template, TemplateError, load_yaml, references
from infra.local.triggers import SqsTrigger, StreamTrigger, discover_triggers

SAMPLE_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  IsLocal: !Equals [!Ref Stage, local]
Globals:
  Function:
    Timeout: 7
    MemorySize: 256
    Environment:
      Variables:
        STAGE: !Ref Stage
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: {AllowOrigins: ["https://app.example.test"], AllowMethods: [GET, POST],
                          AllowHeaders: [authorization], MaxAge: 60, ExposeHeaders: [x-request-id]}
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Handler: infra_sample_handlers.echo
      Environment: {Variables: {ONLY_ECHO: !If [IsLocal, yes-local, not-local]}}
      Events:
        Item: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: "/items/{item_id}", Method: GET}}
        Rest: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: "/items/{proxy+}", Method: ANY}}
        Exact: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /items/special, Method: ANY}}
  Binary:
    Type: AWS::Serverless::Function
    Properties:
      Handler: infra_sample_handlers.binary
      Events:
        Img: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /img, Method: GET}}
  Bare:
    Type: AWS::Serverless::Function
    Properties:
      Handler: infra_sample_handlers.bare_dict
      Events:
        Bare: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /bare, Method: GET}}
        SpecialGet: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /items/special, Method: GET}}
  Crash:
    Type: AWS::Serverless::Function
    Properties:
      Handler: infra_sample_handlers.crash
      Events:
        Boom: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /boom, Method: POST}}
"""


@pytest.fixture(scope="module")
def sample_template() -> Template:
    return Template(body=load_yaml(SAMPLE_TEMPLATE))


@pytest.fixture
def sample_api(sample_template) -> LocalApi:
    sample.CALLS.clear()
    return LocalApi(sample_template, FunctionRunner(sample_template.functions()))


# ------------------------------------------------------------------------------ template
def test_short_tags_load_as_their_long_forms():
    body = load_yaml(
        "A: !Ref X\nB: !GetAtt Res.Arn\nC: !Sub 'a-${Stage}'\nD: !Sub ['${x}-y', {x: !Ref X}]\n"
        "E: !If [Cond, 1, 2]\nF: !Join [',', [a, !Ref X]]\nG: !Equals [a, b]\n"
    )
    assert body["A"] == {"Ref": "X"}
    assert body["B"] == {"Fn::GetAtt": ["Res", "Arn"]}
    assert body["C"] == {"Fn::Sub": "a-${Stage}"}
    assert body["D"] == {"Fn::Sub": ["${x}-y", {"x": {"Ref": "X"}}]}
    assert body["E"] == {"Fn::If": ["Cond", 1, 2]}
    assert body["F"] == {"Fn::Join": [",", ["a", {"Ref": "X"}]]}
    assert body["G"] == {"Fn::Equals": ["a", "b"]}


def test_resolver_follows_cloudformation_semantics():
    tpl = Template(
        body=load_yaml(
            "Parameters: {Stage: {Type: String}}\nConditions:\n  IsProd: !Equals [!Ref Stage, prod]\n"
        )
    )
    r = Resolver(
        template=tpl,
        parameters={"Stage": "local"},
        refs={"Queue": "https://q"},
        attributes={("Queue", "Arn"): "arn:aws:sqs:us-east-1:123456789012:q"},
    )
    assert r.resolve({"Fn::Sub": "signalos-${Stage}-${AWS::Region}-${Queue.Arn}-${!Literal}"}) == (
        "signalos-local-us-east-1-arn:aws:sqs:us-east-1:123456789012:q-${Literal}"
    )
    assert (
        r.resolve({"Fn::Sub": ["${a}/${Queue}", {"a": {"Ref": "AWS::AccountId"}}]})
        == "123456789012/https://q"
    )
    assert r.resolve({"Fn::If": ["IsProd", "INFO", "DEBUG"]}) == "DEBUG"
    assert r.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert r.resolve({"Fn::Join": ["-", ["x", {"Ref": "Stage"}]]}) == "x-local"
    assert r.resolve({"k": {"Ref": "AWS::NoValue"}, "j": [1, {"Ref": "AWS::NoValue"}]}) == {"j": [1]}
    with pytest.raises(TemplateError, match="Ref 'Missing'"):
        r.resolve({"Ref": "Missing"})
    with pytest.raises(TemplateError, match=r"Nope\.Arn"):
        r.resolve({"Fn::GetAtt": ["Nope", "Arn"]})


def test_references_finds_every_dependency():
    value = {
        "a": {"Ref": "A"},
        "b": [{"Fn::GetAtt": ["B", "Arn"]}],
        "c": {"Fn::Sub": "${C.Arn}/${D}/${AWS::Region}"},
    }
    assert references(value) == {"A", "B", "C", "D"}


def test_globals_merge_into_functions(sample_template):
    echo = sample_template.functions()["Echo"]
    assert echo.timeout == 7 and echo.memory_size == 256
    assert set(echo.environment) == {"STAGE", "ONLY_ECHO"}


# ------------------------------------------------------------------------------ routing
def test_most_specific_route_wins(sample_template):
    router = Router.from_template(sample_template)
    exact = router.match("GET", "/items/special")
    assert (exact.function_id, exact.route_key) == ("Bare", "GET /items/special")  # named method over ANY
    assert router.match("POST", "/items/special").route_key == "ANY /items/special"
    one = router.match("GET", "/items/42")
    assert (one.route_key, one.path_parameters) == ("GET /items/{item_id}", {"item_id": "42"})
    greedy = router.match("DELETE", "/items/42")
    assert (greedy.route_key, greedy.path_parameters) == ("ANY /items/{proxy+}", {"proxy": "42"})
    deep = router.match("GET", "/items/a/b%20c")
    assert deep.path_parameters == {"proxy": "a/b c"}
    assert router.match("GET", "/items") is None  # a greedy variable needs at least one segment
    assert router.match("GET", "/bare").path_parameters is None
    assert router.match("PUT", "/img") is None  # no ANY on /img, no $default in this template


def test_default_route_catches_the_rest():
    router = Router([Route("$default", "$default", "Fallback", "m.h"), Route("GET", "/a", "A", "m.a")])
    assert router.match("GET", "/a").function_id == "A"
    fallback = router.match("POST", "/a")
    assert (fallback.function_id, fallback.route_key, fallback.path_parameters) == (
        "Fallback",
        "$default",
        None,
    )


# ------------------------------------------------------------------------------ events
def test_http_event_is_payload_format_2():
    event = http_event(
        "post",
        "/api/v1/x/y",
        headers=[("X-Thing", "a"), ("x-thing", "b"), ("Cookie", "s=1; t=2"), ("User-Agent", "ua/1")],
        query={"tag": ["a", "b"], "q": "1"},
        body={"k": "v"},
        route_key="ANY /api/v1/x/{proxy+}",
        path_parameters={"proxy": "y"},
        source_ip="198.51.100.7",
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "ANY /api/v1/x/{proxy+}"
    assert event["rawPath"] == "/api/v1/x/y"
    assert event["rawQueryString"] == "tag=a&tag=b&q=1"
    assert event["queryStringParameters"] == {"tag": "a,b", "q": "1"}
    assert event["headers"]["x-thing"] == "a,b"
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["content-length"] == str(len(event["body"]))
    assert "cookie" not in event["headers"] and event["cookies"] == ["s=1", "t=2"]
    assert json.loads(event["body"]) == {"k": "v"} and event["isBase64Encoded"] is False
    assert event["pathParameters"] == {"proxy": "y"}
    http = event["requestContext"]["http"]
    assert http == {
        "method": "POST",
        "path": "/api/v1/x/y",
        "protocol": "HTTP/1.1",
        "sourceIp": "198.51.100.7",
        "userAgent": "ua/1",
    }
    ctx = event["requestContext"]
    assert ctx["stage"] == "$default" and ctx["accountId"] == "123456789012"
    assert re.fullmatch(r"\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} \+0000", ctx["time"])
    assert isinstance(ctx["timeEpoch"], int) and ctx["requestId"]


def test_http_event_base64_encodes_binary_bodies_only():
    binary = http_event("POST", "/u", body=b"\x89PNG\xff\x00")
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x89PNG\xff\x00"
    text = http_event("POST", "/u", body="héllo".encode())
    assert text["isBase64Encoded"] is False and text["body"] == "héllo"
    bare = http_event("GET", "/u")
    assert "body" not in bare and "queryStringParameters" not in bare and "pathParameters" not in bare
    assert bare["rawQueryString"] == ""


# ------------------------------------------------------------------------------ responses and the API
def test_response_mapping_follows_payload_2_rules():
    resp = to_http_response({"statusCode": 204, "headers": {"x": "1"}, "cookies": ["a=1", "b=2"]})
    assert resp.status == 204 and resp.body == b""
    assert [v for k, v in resp.headers if k == "set-cookie"] == ["a=1", "b=2"]
    inferred = to_http_response({"items": []})
    assert inferred.status == 200 and inferred.json() == {"items": []}
    assert inferred.header("content-type") == "application/json"
    assert to_http_response("plain").body == b"plain"


def test_api_invokes_the_routed_handler_with_event_and_context(sample_api):
    resp = sample_api.handle(
        "GET",
        "/items/42",
        headers={"Origin": "https://app.example.test", "Host": "127.0.0.1:3000"},
        query="a=1",
    )
    assert resp.status == 200 and resp.function_id == "Echo"
    assert resp.json() == {"routeKey": "GET /items/{item_id}", "pathParameters": {"item_id": "42"}}
    assert resp.header("set-cookie") == "a=1; Path=/, b=2; Path=/"
    assert resp.header("access-control-allow-origin") == "https://app.example.test"
    assert resp.header("access-control-expose-headers") == "x-request-id"
    _, event, context = sample.CALLS[-1]
    assert event["requestContext"]["requestId"] == resp.header("apigw-requestid")
    assert event["queryStringParameters"] == {"a": "1"}
    assert event["requestContext"]["domainName"] == event["headers"]["host"] == "127.0.0.1:3000"
    assert context.function_name == "signalos-local-Echo"
    assert context.memory_limit_in_mb == 256
    assert 0 < context.get_remaining_time_in_millis() <= 7000
    assert context.invoked_function_arn.endswith(":function:signalos-local-Echo")


def test_api_decodes_base64_bodies_and_infers_bare_results(sample_api):
    img = sample_api.handle("GET", "/img")
    assert img.status == 201 and img.body == b"\x89PNG\x00\xff"
    bare = sample_api.handle("GET", "/bare")
    assert bare.status == 200 and bare.json() == {"hello": "world"}


def test_a_crashing_handler_is_a_502_without_its_details(sample_api, caplog):
    with caplog.at_level(logging.ERROR, logger="signalos.local.api"):
        resp = sample_api.handle("POST", "/boom", body=b"{}")
    assert resp.status == 502
    error = resp.json()["error"]
    assert error["code"] == "FUNCTION_ERROR" and error["details"] == {"function": "Crash"}
    assert set(error) == {"code", "message", "details", "timestamp", "request_id"}
    assert b"secret internal detail" not in resp.body and b"Traceback" not in resp.body
    assert "secret internal detail" in caplog.text  # the operator sees it in the log


def test_unrouted_request_is_a_404_error_body(sample_api):
    resp = sample_api.handle("DELETE", "/nowhere")
    assert resp.status == 404 and resp.function_id is None
    error = resp.json()["error"]
    assert error["code"] == "NOT_FOUND"
    assert error["details"] == {"method": "DELETE", "path": "/nowhere"}
    assert error["request_id"] == resp.header("apigw-requestid")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", error["timestamp"])


def test_cors_preflight_never_reaches_a_function(sample_api):
    ok = sample_api.handle(
        "OPTIONS",
        "/items/1",
        headers={"Origin": "https://app.example.test", "Access-Control-Request-Method": "GET"},
    )
    assert ok.status == 204 and ok.function_id is None
    assert ok.header("access-control-allow-methods") == "GET,POST"
    assert ok.header("access-control-max-age") == "60"
    other = sample_api.handle(
        "OPTIONS",
        "/items/1",
        headers={"Origin": "https://evil.example.test", "Access-Control-Request-Method": "GET"},
    )
    assert other.status == 204 and other.header("access-control-allow-origin") is None
    assert sample.CALLS == []


def test_function_environment_applies_only_while_it_runs(sample_template):
    env = function_environment(sample_template, {}, "local", "Echo")
    assert env == {"STAGE": "local", "ONLY_ECHO": "yes-local"}
    assert function_environment(sample_template, {}, "local") == {"STAGE": "local"}
    os.environ.pop("ONLY_ECHO", None)
    with scoped_environ({"ONLY_ECHO": "x"}):
        assert os.environ["ONLY_ECHO"] == "x"
    assert "ONLY_ECHO" not in os.environ


def test_context_counts_down_from_the_function_timeout(sample_template):
    ctx = make_context(sample_template.functions()["Echo"], request_id="req-1")
    assert ctx.aws_request_id == "req-1"
    assert 6000 < ctx.get_remaining_time_in_millis() <= 7000


# ------------------------------------------------------------------------------ resources (moto)
def test_every_template_resource_is_created_as_declared(aws):
    ddb = aws.client("dynamodb")
    for table in ("UsersTable", "SignalsTable", "TradingTable", "AnalyticsTable", "AuditTable"):
        desc = ddb.describe_table(TableName=aws.ref(table))["Table"]
        assert {i["IndexName"] for i in desc["GlobalSecondaryIndexes"]} == {"gsi1", "gsi2"}
        assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        ttl = ddb.describe_time_to_live(TableName=aws.ref(table))["TimeToLiveDescription"]
        assert ttl["AttributeName"] == "expires_at"
        assert ("LatestStreamArn" in desc) == (table == "TradingTable")
    idem = ddb.describe_table(TableName=aws.ref("IdempotencyTable"))["Table"]
    assert idem["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]

    sqs = aws.client("sqs")
    jobs = sqs.get_queue_attributes(QueueUrl=aws.ref("SignalJobsQueue"), AttributeNames=["All"])["Attributes"]
    assert jobs["VisibilityTimeout"] == "720"
    assert json.loads(jobs["RedrivePolicy"]) == {
        "deadLetterTargetArn": aws.attr("SignalJobsDLQ", "Arn"),
        "maxReceiveCount": 5,
    }
    assert (
        aws.client("s3").get_public_access_block(Bucket=aws.ref("ReportsBucket"))[
            "PublicAccessBlockConfiguration"
        ]["BlockPublicAcls"]
        is True
    )

    signing_key = aws.secret_json("JwtSigningSecret")["signing_key"]
    assert re.fullmatch(r"[A-Za-z0-9]{64}", signing_key)
    telegram = aws.secret_json("TelegramSecret")
    assert re.fullmatch(r"[A-Za-z0-9]{48}", telegram["webhook_secret"]) and telegram["bot_token"] == ""
    assert aws.secret_json("OpenAISecret") == {"api_key": ""}
    # Names only, for what moto does not need to hold.
    assert aws.ref("BridgeQueueRole") == "signalos-local-BridgeQueueRole"
    assert not aws.resources["BridgeQueueRole"].created


def test_environment_points_at_the_created_resources(aws):
    assert os.environ["USERS_TABLE"] == aws.ref("UsersTable") == "signalos-local-UsersTable"
    assert os.environ["SIGNAL_JOBS_QUEUE_URL"] == aws.ref("SignalJobsQueue")
    assert os.environ["JWT_SECRET_ARN"] == aws.ref("JwtSigningSecret")
    assert (
        os.environ["BRIDGE_QUEUE_ROLE_ARN"] == "arn:aws:iam::123456789012:role/signalos-local-BridgeQueueRole"
    )
    assert os.environ["ORDER_QUEUE_PREFIX"] == "signalos-local-orders-"
    assert os.environ["STAGE"] == "local"
    for name, value in aws.env.items():
        assert "${" not in value and "Fn::" not in value and "'Ref'" not in value, name


def test_generated_values_can_be_fixed(signalos_template, aws):
    # A second stage in the same embedded AWS: names do not collide, the override is honoured.
    made = create_resources(
        signalos_template, "second", generated_overrides={"webhook_secret": "fixed_Secret-1"}
    )
    raw = aws.client("secretsmanager").get_secret_value(SecretId=made["TelegramSecret"].ref)["SecretString"]
    assert json.loads(raw)["webhook_secret"] == "fixed_Secret-1"
    assert made["UsersTable"].ref == "signalos-second-UsersTable"


def test_generated_secrets_honour_the_character_rules():
    value = generate_secret_value({"PasswordLength": 40, "ExcludeCharacters": "abcABC0123"})
    assert len(value) == 40 and not set(value) & set("abcABC0123")
    assert any(c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" for c in value)
    assert re.fullmatch(
        r"[a-z]{12}",
        generate_secret_value(
            {
                "PasswordLength": 12,
                "ExcludeUppercase": True,
                "ExcludeNumbers": True,
                "ExcludePunctuation": True,
            }
        ),
    )


# ------------------------------------------------------------------------------ triggers
def _spec(handler: str) -> FunctionSpec:
    return FunctionSpec(
        logical_id="Sample",
        handler=f"infra_sample_handlers.{handler}",
        runtime="python3.13",
        timeout=10,
        memory_size=128,
        environment={},
        events=(),
        code_uri="",
    )


def _sqs_trigger(aws, handler: str, *, report: bool = True, batch: int = 10) -> SqsTrigger:
    spec = _spec(handler)
    return SqsTrigger(
        function=spec,
        runner=FunctionRunner({"Sample": spec}),
        clients=Clients("us-east-1"),
        queue_url=aws.ref("FanoutQueue"),
        queue_arn=aws.attr("FanoutQueue", "Arn"),
        batch_size=batch,
        report_failures=report,
    )


def _send(aws, *bodies: str) -> None:
    for body in bodies:
        aws.client("sqs").send_message(QueueUrl=aws.ref("FanoutQueue"), MessageBody=body)


def _counts(aws) -> tuple[int, int]:
    attrs = aws.client("sqs").get_queue_attributes(
        QueueUrl=aws.ref("FanoutQueue"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_sqs_trigger_deletes_only_what_succeeded(aws):
    sample.CALLS.clear()
    _send(aws, "ok-1", "fail", "ok-2")
    assert _sqs_trigger(aws, "sqs_partial").poll_once() == 3
    assert _counts(aws) == (0, 1)  # the failed one is in flight until its visibility timeout
    (_, event, _) = sample.CALLS[-1]
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == aws.attr("FanoutQueue", "Arn")
    assert record["attributes"]["ApproximateReceiveCount"] == "1" and record["awsRegion"] == "us-east-1"
    assert {r["body"] for r in event["Records"]} == {"ok-1", "fail", "ok-2"}


def test_sqs_trigger_keeps_the_batch_when_the_handler_raises_or_answers_nonsense(aws):
    _send(aws, "a", "b")
    assert _sqs_trigger(aws, "sqs_raise").poll_once() == 2
    assert _counts(aws) == (0, 2)
    _send(aws, "c")
    assert _sqs_trigger(aws, "sqs_malformed").poll_once() == 1
    assert _counts(aws) == (0, 3)


def test_sqs_trigger_without_partial_reports_deletes_the_whole_batch(aws):
    _send(aws, "ok", "fail")
    assert _sqs_trigger(aws, "sqs_partial", report=False).poll_once() == 2
    assert _counts(aws) == (0, 0)


def test_sqs_trigger_respects_the_batch_size(aws):
    _send(aws, *[f"m{i}" for i in range(7)])
    trigger = _sqs_trigger(aws, "sqs_partial", batch=5)
    assert trigger.poll_once() == 5
    assert trigger.poll_once() == 2
    assert trigger.poll_once() == 0


def _stream_trigger(aws, handler: str, **kwargs) -> StreamTrigger:
    spec = _spec(handler)
    trigger = StreamTrigger(
        function=spec,
        runner=FunctionRunner({"Sample": spec}),
        clients=Clients("us-east-1"),
        stream_arn=aws.attr("TradingTable", "StreamArn"),
        starting_position="TRIM_HORIZON",
        **kwargs,
    )
    trigger.start()
    return trigger


def _put(aws, *kinds: str) -> None:
    for i, kind in enumerate(kinds):
        aws.client("dynamodb").put_item(
            TableName=aws.ref("TradingTable"),
            Item={"pk": {"S": "USER#u1"}, "sk": {"S": f"T#{i}"}, "kind": {"S": kind}},
        )


def _dlq_messages(aws) -> list[dict]:
    resp = aws.client("sqs").receive_message(QueueUrl=aws.ref("AggregatorDLQ"), MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in resp.get("Messages", [])]


def test_stream_trigger_retries_from_the_first_failure_then_gives_up_to_the_destination(aws):
    sample.CALLS.clear()
    _put(aws, "ok", "fail", "ok")
    trigger = _stream_trigger(
        aws,
        "stream_partial",
        report_failures=True,
        max_retries=2,
        on_failure_queue_url=aws.ref("AggregatorDLQ"),
    )
    assert trigger.poll_once() == 3
    sizes = [len(event["Records"]) for name, event, _ in sample.CALLS if name == "stream_partial"]
    assert sizes == [3, 2, 2]  # the first invocation, then 2 retries from the failed record on
    first = sample.CALLS[0][1]["Records"][0]
    assert first["eventSource"] == "aws:dynamodb" and first["eventName"] == "INSERT"
    assert first["eventSourceARN"] == aws.attr("TradingTable", "StreamArn")
    assert first["dynamodb"]["NewImage"]["kind"] == {"S": "ok"}
    (failure,) = _dlq_messages(aws)
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2 and info["streamArn"] == aws.attr("TradingTable", "StreamArn")
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert trigger.poll_once() == 0  # the shard moved on


def test_stream_trigger_bisects_a_batch_that_raises(aws):
    sample.CALLS.clear()
    _put(aws, "ok", "poison", "ok", "ok")
    trigger = _stream_trigger(
        aws,
        "stream_raise_on_poison",
        report_failures=True,
        bisect_on_error=True,
        max_retries=0,
        on_failure_queue_url=aws.ref("AggregatorDLQ"),
    )
    assert trigger.poll_once() == 4
    delivered_ok = [
        r["dynamodb"]["Keys"]["sk"]["S"]
        for name, event, _ in sample.CALLS
        if not any(x["dynamodb"]["NewImage"]["kind"]["S"] == "poison" for x in event["Records"])
        for r in event["Records"]
    ]
    assert sorted(delivered_ok) == ["T#0", "T#2", "T#3"]  # every good record got through
    (failure,) = _dlq_messages(aws)
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1


def test_triggers_are_discovered_from_the_template(signalos_template, aws):
    triggers = discover_triggers(signalos_template, aws.resources, aws.runner)
    by_function = {t.function_id: t for t in triggers}
    assert set(by_function) == {"SignalWorkerFunction", "FanoutWorkerFunction", "AggregatorFunction"}
    worker = by_function["SignalWorkerFunction"]
    assert isinstance(worker, SqsTrigger)
    assert (worker.queue_url, worker.batch_size, worker.report_failures) == (
        aws.ref("SignalJobsQueue"),
        5,
        True,
    )
    agg = by_function["AggregatorFunction"]
    assert isinstance(agg, StreamTrigger)
    assert (agg.batch_size, agg.bisect_on_error, agg.max_retries, agg.starting_position) == (
        100,
        True,
        5,
        "LATEST",
    )
    assert agg.on_failure_queue_url == aws.ref("AggregatorDLQ")


# ------------------------------------------------------------------------------ the shared fixtures
def test_call_api_goes_through_template_routing(call_api):
    status, headers, body = call_api("GET", "/healthz")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert isinstance(body, dict)
    resp = call_api.raw("GET", "/definitely/not/a/route")
    assert resp.function_id == "StatusFunction"  # the $default route
    assert resp.status == 404 and resp.json()["error"]["code"] == "NOT_FOUND"
