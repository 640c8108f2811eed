"""A thin, typed door to DynamoDB tables. Every data layer goes through it.

Tables share one key shape (template.yaml): `pk`/`sk` strings, optional GSI1 (`gsi1pk`/`gsi1sk`)
and GSI2 (`gsi2pk`/`gsi2sk`), and the TTL attribute `expires_at` (epoch seconds). Items are
plain dicts of Python values; floats are stored as Decimal and come back as float (ints stay int).

boto3 is imported when the first table is used, not when this module is imported, so code
paths that never touch DynamoDB do not pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

Item = dict[str, Any]


class ConditionFailed(Exception):
    """A conditional write found the item in a state it did not expect."""


def _client() -> Any:
    from signalos.common import aws

    return aws.client("dynamodb")


def reset_clients() -> None:
    """Forget cached clients (tests that start a new embedded AWS call this)."""
    from signalos.common import aws

    aws.reset_clients()


@lru_cache(maxsize=1)
def _codec() -> tuple[Any, Any]:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {k: _to_dynamo_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_to_dynamo_value(v) for v in value]
    return value


def _from_dynamo_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo_value(v) for v in value]
    if isinstance(value, set):
        return {_from_dynamo_value(v) for v in value}
    return value


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    ser, _ = _codec()
    return {k: ser.serialize(_to_dynamo_value(v)) for k, v in item.items() if v is not None}


def deserialize(raw: Mapping[str, Any]) -> Item:
    _, de = _codec()
    return {k: _from_dynamo_value(de.deserialize(v)) for k, v in raw.items()}


class Table:
    """One DynamoDB table, named by an environment variable (e.g. `Table.from_env("USERS_TABLE")`)."""

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def from_env(cls, variable: str) -> Table:
        name = os.environ.get(variable)
        if not name:
            raise RuntimeError(f"environment variable {variable} (a table name) is not set")
        return cls(name)

    @property
    def client(self) -> Any:
        return _client()

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        resp = self.client.get_item(
            TableName=self.name, Key=serialize({"pk": pk, "sk": sk}), ConsistentRead=consistent
        )
        raw = resp.get("Item")
        return deserialize(raw) if raw else None

    def put(self, item: Mapping[str, Any], *, if_absent: bool = False, condition: str | None = None,
            names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> None:
        """Write an item. `if_absent=True` refuses to overwrite (raises ConditionFailed)."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        if if_absent:
            absent = "attribute_not_exists(pk)"
            condition = absent if condition is None else f"{absent} AND ({condition})"
        self._apply_condition(kwargs, condition, names, values)
        try:
            self.client.put_item(**kwargs)
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise ConditionFailed(str(exc)) from exc

    def update(self, pk: str, sk: str, *, set_values: Mapping[str, Any] | None = None,
               add_values: Mapping[str, int | float] | None = None, remove: list[str] | None = None,
               condition: str | None = None, names: Mapping[str, str] | None = None,
               values: Mapping[str, Any] | None = None) -> Item:
        """SET / ADD / REMOVE attributes; returns the item as it is after the update."""
        names = dict(names or {})
        values = dict(values or {})
        clauses: list[str] = []
        sets: list[str] = []
        for i, (key, val) in enumerate((set_values or {}).items()):
            names[f"#s{i}"] = key
            values[f":s{i}"] = val
            sets.append(f"#s{i} = :s{i}")
        if sets:
            clauses.append("SET " + ", ".join(sets))
        adds: list[str] = []
        for i, (key, val) in enumerate((add_values or {}).items()):
            names[f"#a{i}"] = key
            values[f":a{i}"] = val
            adds.append(f"#a{i} :a{i}")
        if adds:
            clauses.append("ADD " + ", ".join(adds))
        if remove:
            rems = []
            for i, key in enumerate(remove):
                names[f"#r{i}"] = key
                rems.append(f"#r{i}")
            clauses.append("REMOVE " + ", ".join(rems))
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": serialize({"pk": pk, "sk": sk}),
            "UpdateExpression": " ".join(clauses),
            "ReturnValues": "ALL_NEW",
        }
        self._apply_condition(kwargs, condition, names, values)
        try:
            resp = self.client.update_item(**kwargs)
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise ConditionFailed(str(exc)) from exc
        return deserialize(resp.get("Attributes", {}))

    def delete(self, pk: str, sk: str, *, condition: str | None = None,
               names: Mapping[str, str] | None = None, values: Mapping[str, Any] | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": serialize({"pk": pk, "sk": sk})}
        self._apply_condition(kwargs, condition, names, values)
        try:
            self.client.delete_item(**kwargs)
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise ConditionFailed(str(exc)) from exc

    def query_page(self, pk: str, *, sk_prefix: str | None = None, sk_between: tuple[str, str] | None = None,
                   index: str | None = None, limit: int = 50, cursor: dict[str, Any] | None = None,
                   newest_first: bool = False, filter_expression: str | None = None,
                   names: Mapping[str, str] | None = None,
                   values: Mapping[str, Any] | None = None) -> tuple[list[Item], dict[str, Any] | None]:
        """One page of a key query. `index` is "gsi1" or "gsi2" (keys gsiNpk/gsiNsk).

        Returns (items, cursor); pass the cursor back for the next page (None when done).
        """
        pk_name, sk_name = ("pk", "sk") if index is None else (f"{index}pk", f"{index}sk")
        names = {"#pk": pk_name, **(names or {})}
        values = {":pk": pk, **(values or {})}
        key_cond = "#pk = :pk"
        if sk_prefix is not None:
            names["#sk"] = sk_name
            values[":skp"] = sk_prefix
            key_cond += " AND begins_with(#sk, :skp)"
        elif sk_between is not None:
            names["#sk"] = sk_name
            values[":sklo"], values[":skhi"] = sk_between
            key_cond += " AND #sk BETWEEN :sklo AND :skhi"
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_cond,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": not newest_first,
            "Limit": max(1, min(limit, 1000)),
        }
        if index is not None:
            kwargs["IndexName"] = index
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        if cursor:
            kwargs["ExclusiveStartKey"] = serialize(cursor)
        resp = self.client.query(**kwargs)
        items = [deserialize(i) for i in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        return items, (deserialize(last) if last else None)

    def query_all(self, pk: str, **kwargs: Any) -> Iterator[Item]:
        """Every item of a key query, page by page (for bounded partitions only)."""
        cursor = None
        while True:
            items, cursor = self.query_page(pk, cursor=cursor, **kwargs)
            yield from items
            if cursor is None:
                return

    def transact_write(self, operations: list[dict[str, Any]]) -> None:
        """Write several items atomically. Each operation is a boto3 TransactItems entry whose
        `Item`/`Key`/`ExpressionAttributeValues` are plain Python (serialized here) and whose
        TableName defaults to this table."""
        items = []
        for op in operations:
            ((kind, body),) = op.items()
            body = dict(body)
            body.setdefault("TableName", self.name)
            for field in ("Item", "Key", "ExpressionAttributeValues"):
                if field in body:
                    body[field] = serialize(body[field])
            items.append({kind: body})
        try:
            self.client.transact_write_items(TransactItems=items)
        except self.client.exceptions.TransactionCanceledException as exc:
            raise ConditionFailed(str(exc)) from exc

    @staticmethod
    def _apply_condition(kwargs: dict[str, Any], condition: str | None,
                         names: Mapping[str, str] | None, values: Mapping[str, Any] | None) -> None:
        if condition:
            kwargs["ConditionExpression"] = condition
        all_names = {**kwargs.get("ExpressionAttributeNames", {}), **(names or {})}
        if all_names:
            kwargs["ExpressionAttributeNames"] = all_names
        if values:
            kwargs["ExpressionAttributeValues"] = serialize(values)
