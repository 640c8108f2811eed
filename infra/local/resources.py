"""Create template.yaml's tables, queues, bucket and secrets in whatever AWS boto3 points at.

Used by the local stack (moto server, AWS_ENDPOINT_URL) and by the test fixtures (in-process
`mock_aws`). Everything comes from the template: there is no second list of resources.

What moto cannot or need not create (IAM roles and policies, alarms, topics, log groups, the
functions and the API themselves) gets a local name and ARN so `Ref`/`Fn::GetAtt` to it still
resolve (e.g. BRIDGE_QUEUE_ROLE_ARN), and is otherwise ignored.

Local physical names are readable and stable: `signalos-<stage>-<LogicalId>` (buckets lower
case), unless the template names the resource itself.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from infra.local.template import LOCAL_ACCOUNT_ID, LOCAL_REGION, Resolver, Template, TemplateError, references

# A GenerateStringKey whose locally generated value an environment variable can fix, so the
# operator knows it (e.g. to register the Telegram webhook with a known secret token).
GENERATED_KEY_OVERRIDES = {"webhook_secret": "TELEGRAM_WEBHOOK_SECRET"}

# Secrets Manager's punctuation set for GenerateSecretString.
_AWS_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

# Types whose `Ref` is an ARN rather than a name (CloudFormation's documented return values).
_REF_IS_ARN = {
    "AWS::SNS::Topic",
    "AWS::Serverless::LayerVersion",
    "AWS::Lambda::LayerVersion",
    "AWS::SecretsManager::Secret",
    "AWS::IAM::ManagedPolicy",
}


@dataclass(frozen=True)
class LocalResource:
    """One template resource as it exists locally."""

    logical_id: str
    type: str
    ref: str  # what `Ref` returns: table/bucket name, queue URL, secret ARN, role name, ...
    attributes: dict[str, str] = field(default_factory=dict)  # what `Fn::GetAtt` returns
    created: bool = False  # True when it exists in the (embedded) AWS, False for a name only

    @property
    def arn(self) -> str | None:
        return self.attributes.get("Arn")


def local_parameters(template: Template, stage: str = "local") -> dict[str, str]:
    """Parameter values for a local run: the template's defaults, Stage set to `stage`.

    (Stage's AllowedValues are for deployments; locally it is "local".)
    """
    values = {name: str(spec.get("Default", "")) for name, spec in template.parameters.items()}
    values["Stage"] = stage
    return values


def local_physical_name(logical_id: str, resource_type: str, stage: str) -> str:
    name = f"signalos-{stage}-{logical_id}"
    return name.lower() if resource_type == "AWS::S3::Bucket" else name


def make_resolver(
    template: Template,
    resources: Mapping[str, LocalResource] | None = None,
    stage: str = "local",
    region: str = LOCAL_REGION,
) -> Resolver:
    resolver = Resolver(
        template=template,
        parameters=local_parameters(template, stage),
        region=region,
        stack_name=f"signalos-{stage}",
    )
    for res in (resources or {}).values():
        resolver.refs[res.logical_id] = res.ref
        for attr, value in res.attributes.items():
            resolver.attributes[(res.logical_id, attr)] = value
    return resolver


def create_resources(
    template: Template,
    stage: str = "local",
    *,
    region: str | None = None,
    generated_overrides: Mapping[str, str] | None = None,
) -> dict[str, LocalResource]:
    """Create every table, queue, bucket and secret of `template` (boto3's current endpoint).

    Returns logical id -> LocalResource for every resource of the template (created or named).
    `generated_overrides` fixes generated secret values by GenerateStringKey; by default
    TELEGRAM_WEBHOOK_SECRET (when set) fixes `webhook_secret`.
    """
    region = region or os.environ.get("AWS_DEFAULT_REGION") or LOCAL_REGION
    if generated_overrides is None:
        generated_overrides = {
            key: os.environ[var] for key, var in GENERATED_KEY_OVERRIDES.items() if os.environ.get(var)
        }
    resolver = make_resolver(template, None, stage, region)
    result: dict[str, LocalResource] = {}
    clients = Clients(region)

    active = {
        lid: res
        for lid, res in template.resources.items()
        if "Condition" not in res or resolver.condition(res["Condition"])
    }
    # Names first (they need nothing), then what moto creates, dependencies before dependants.
    for lid, res in active.items():
        if res.get("Type") not in _CREATORS:
            result[lid] = _named_only(lid, res["Type"], stage, region)
    for lid in _creation_order({k: v for k, v in active.items() if v.get("Type") in _CREATORS}):
        for done in result.values():
            resolver.refs[done.logical_id] = done.ref
            for attr, value in done.attributes.items():
                resolver.attributes[(done.logical_id, attr)] = value
        res = active[lid]
        props = resolver.resolve(res.get("Properties", {}))
        creator = _CREATORS[res["Type"]]
        result[lid] = creator(clients, lid, props, stage, region, generated_overrides)
    return result


def function_environment(
    template: Template,
    resources: Mapping[str, LocalResource],
    stage: str = "local",
    function_id: str | None = None,
    *,
    region: str = LOCAL_REGION,
) -> dict[str, str]:
    """Environment variables of a function (or the Globals alone), resolved to local values."""
    resolver = make_resolver(template, resources, stage, region)
    if function_id is None:
        raw = template.function_globals.get("Environment", {}).get("Variables", {})
    else:
        raw = template.functions()[function_id].environment
    return {name: resolver.resolve_str(value) for name, value in raw.items()}


# ------------------------------------------------------------------------------ internals
class Clients:
    """boto3 clients for one region (the endpoint comes from the environment).

    Kept across calls (keyed by endpoint): creating a client loads its service model, which
    costs more than creating every resource in moto. moto's `mock_aws` intercepts clients
    created before it started, so reusing them across tests is safe.
    """

    _shared: ClassVar[dict[tuple[str, str, str], Any]] = {}

    def __init__(self, region: str) -> None:
        self.region = region

    def __call__(self, service: str) -> Any:
        endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get(
            "AWS_ENDPOINT_URL", ""
        )
        key = (service, self.region, endpoint)
        if key not in self._shared:
            import boto3
            from botocore.config import Config

            # Account-based endpoints (123456789012.streams-ddb...) are unknown to moto.
            self._shared[key] = boto3.session.Session().client(
                service,
                region_name=self.region,
                endpoint_url=endpoint or None,
                config=Config(account_id_endpoint_mode="disabled", retries={"max_attempts": 2}),
            )
        return self._shared[key]


def _creation_order(resources: Mapping[str, dict[str, Any]]) -> list[str]:
    deps = {lid: references(res.get("Properties", {})) & set(resources) for lid, res in resources.items()}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(lid: str) -> None:
        if lid in order:
            return
        if lid in visiting:
            raise TemplateError(f"circular reference through {lid}")
        visiting.add(lid)
        for dep in sorted(deps[lid]):
            visit(dep)
        visiting.discard(lid)
        order.append(lid)

    for lid in resources:
        visit(lid)
    return order


def _named_only(lid: str, rtype: str, stage: str, region: str) -> LocalResource:
    name = local_physical_name(lid, rtype, stage)
    service = rtype.split("::")[1].lower() if rtype.count("::") >= 2 else "cloudformation"
    if rtype == "AWS::IAM::Role":
        arn = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/{name}"
    elif rtype == "AWS::IAM::ManagedPolicy":
        arn = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:policy/{name}"
    elif rtype == "AWS::Serverless::Function":
        arn = f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{name}"
    elif rtype in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
        arn = f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:layer:{name}:1"
    elif rtype == "AWS::Logs::LogGroup":
        arn = f"arn:aws:logs:{region}:{LOCAL_ACCOUNT_ID}:log-group:{name}:*"
    else:
        arn = f"arn:aws:{service}:{region}:{LOCAL_ACCOUNT_ID}:{name}"
    ref = arn if rtype in _REF_IS_ARN else name
    return LocalResource(lid, rtype, ref, {"Arn": arn}, created=False)


def _create_table(
    clients: Clients, lid: str, props: dict[str, Any], stage: str, region: str, _overrides: Mapping[str, str]
) -> LocalResource:
    ddb = clients("dynamodb")
    name = props.get("TableName") or local_physical_name(lid, "AWS::DynamoDB::Table", stage)
    billing = props.get("BillingMode", "PROVISIONED")
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": billing,
    }
    if billing != "PAY_PER_REQUEST":
        kwargs["ProvisionedThroughput"] = props.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            kwargs[key] = [
                {
                    k: v
                    for k, v in index.items()
                    if k in ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")
                }
                for index in props[key]
            ]
    if "StreamSpecification" in props:
        kwargs["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": props["StreamSpecification"]["StreamViewType"],
        }
    # SSESpecification is left out: locally it changes nothing, and moto would generate a KMS
    # RSA key for it (~60 ms per fresh mock, paid by every test).
    desc = ddb.create_table(**kwargs)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    attrs = {"Arn": desc["TableArn"]}
    if desc.get("LatestStreamArn"):
        attrs["StreamArn"] = desc["LatestStreamArn"]
    return LocalResource(lid, "AWS::DynamoDB::Table", name, attrs, created=True)


# CloudFormation queue properties that are SQS attributes of the same name.
_QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "RedrivePolicy",
    "RedriveAllowPolicy",
)


def _sqs_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _create_queue(
    clients: Clients, lid: str, props: dict[str, Any], stage: str, region: str, _overrides: Mapping[str, str]
) -> LocalResource:
    sqs = clients("sqs")
    fifo = str(props.get("FifoQueue", "false")).lower() == "true"
    name = props.get("QueueName") or local_physical_name(lid, "AWS::SQS::Queue", stage) + (
        ".fifo" if fifo else ""
    )
    attributes = {key: _sqs_value(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = f"arn:aws:sqs:{region}:{LOCAL_ACCOUNT_ID}:{name}"
    return LocalResource(
        lid, "AWS::SQS::Queue", url, {"Arn": arn, "QueueName": name, "QueueUrl": url}, created=True
    )


def _create_bucket(
    clients: Clients, lid: str, props: dict[str, Any], stage: str, region: str, _overrides: Mapping[str, str]
) -> LocalResource:
    s3 = clients("s3")
    name = props.get("BucketName") or local_physical_name(lid, "AWS::S3::Bucket", stage)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if "BucketEncryption" in props:
        # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault.
        rules = [
            {
                ("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                for k, v in rule.items()
            }
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    attrs = {
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
    }
    return LocalResource(lid, "AWS::S3::Bucket", name, attrs, created=True)


def generate_secret_value(spec: Mapping[str, Any]) -> str:
    """A password as Secrets Manager's GenerateSecretString would make it."""
    length = int(spec.get("PasswordLength", 32))
    groups = []
    if not spec.get("ExcludeLowercase"):
        groups.append(string.ascii_lowercase)
    if not spec.get("ExcludeUppercase"):
        groups.append(string.ascii_uppercase)
    if not spec.get("ExcludeNumbers"):
        groups.append(string.digits)
    if not spec.get("ExcludePunctuation"):
        groups.append(_AWS_PUNCTUATION)
    if spec.get("IncludeSpace"):
        groups.append(" ")
    excluded = set(spec.get("ExcludeCharacters", ""))
    groups = ["".join(c for c in g if c not in excluded) for g in groups]
    groups = [g for g in groups if g]
    if not groups:
        raise TemplateError("GenerateSecretString excludes every character")
    alphabet = "".join(groups)
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        # RequireEachIncludedType (default true): one of each kind, when the length allows it.
        if not spec.get("RequireEachIncludedType", True) or length < len(groups):
            return value
        if all(any(c in g for c in value) for g in groups):
            return value


def _create_secret(
    clients: Clients, lid: str, props: dict[str, Any], stage: str, region: str, overrides: Mapping[str, str]
) -> LocalResource:
    sm = clients("secretsmanager")
    name = props.get("Name") or local_physical_name(lid, "AWS::SecretsManager::Secret", stage)
    if "SecretString" in props:
        value = props["SecretString"]
    else:
        spec = props.get("GenerateSecretString", {})
        key = spec.get("GenerateStringKey")
        generated = overrides.get(key) if key else None
        generated = generated or generate_secret_value(spec)
        if "SecretStringTemplate" in spec and key:
            document = json.loads(spec["SecretStringTemplate"])
            document[key] = generated
            value = json.dumps(document)
        else:
            value = generated
    arn = sm.create_secret(Name=name, SecretString=value, Description=props.get("Description", ""))["ARN"]
    return LocalResource(lid, "AWS::SecretsManager::Secret", arn, {"Id": arn, "Name": name}, created=True)


_Creator = Callable[[Clients, str, dict[str, Any], str, str, Mapping[str, str]], LocalResource]
_CREATORS: dict[str, _Creator] = {
    "AWS::DynamoDB::Table": _create_table,
    "AWS::SQS::Queue": _create_queue,
    "AWS::S3::Bucket": _create_bucket,
    "AWS::SecretsManager::Secret": _create_secret,
}
