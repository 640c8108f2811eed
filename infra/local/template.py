"""template.yaml as data: loading (with CloudFormation's short tags) and resolving intrinsics.

The local stack and the test fixtures read everything from here, so a function, route, queue
or trigger added to template.yaml is picked up with no code change.

Short tags are turned into their long JSON form while loading (`!Ref X` -> `{"Ref": "X"}`,
`!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` -> `{"Fn::Sub": s}`, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"

# What the local stack answers for CloudFormation's pseudo parameters (moto's default account).
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_REGION = "us-east-1"

_NO_VALUE = object()  # AWS::NoValue: the property is removed


class TemplateError(Exception):
    """template.yaml uses something the local stack cannot resolve."""


# ---------------------------------------------------------------------------------- loading
class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that knows CloudFormation's `!Tag` short forms."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_yaml(text: str) -> dict[str, Any]:
    data = yaml.load(text, Loader=_CfnLoader)
    if not isinstance(data, dict):
        raise TemplateError("template is not a mapping")
    return data


@dataclass(frozen=True)
class FunctionEvent:
    """One entry of a function's `Events` (HttpApi, SQS, DynamoDB, ...)."""

    name: str
    type: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    """An AWS::Serverless::Function with Globals applied."""

    logical_id: str
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    environment: dict[str, Any]  # unresolved: values may still be intrinsics
    events: tuple[FunctionEvent, ...]
    code_uri: str

    def events_of(self, kind: str) -> list[FunctionEvent]:
        return [e for e in self.events if e.type == kind]


@dataclass
class Template:
    """A parsed template.yaml."""

    body: dict[str, Any]
    path: Path = TEMPLATE_PATH
    _functions: dict[str, FunctionSpec] | None = field(default=None, repr=False)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.body.get("Resources", {})

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return self.body.get("Parameters", {})

    @property
    def conditions(self) -> dict[str, Any]:
        return self.body.get("Conditions", {})

    @property
    def function_globals(self) -> dict[str, Any]:
        return self.body.get("Globals", {}).get("Function", {})

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r.get("Type") == resource_type}

    def functions(self) -> dict[str, FunctionSpec]:
        """Every Serverless function, Globals merged in (function values win, env vars merged)."""
        if self._functions is None:
            g = self.function_globals
            specs = {}
            for lid, res in self.resources_of_type("AWS::Serverless::Function").items():
                props = res.get("Properties", {})
                env = dict(g.get("Environment", {}).get("Variables", {}))
                env.update(props.get("Environment", {}).get("Variables", {}))
                events = tuple(
                    FunctionEvent(name, ev.get("Type", ""), dict(ev.get("Properties") or {}))
                    for name, ev in (props.get("Events") or {}).items()
                )
                specs[lid] = FunctionSpec(
                    logical_id=lid,
                    handler=props.get("Handler", g.get("Handler", "")),
                    runtime=props.get("Runtime", g.get("Runtime", "")),
                    timeout=int(props.get("Timeout", g.get("Timeout", 3))),
                    memory_size=int(props.get("MemorySize", g.get("MemorySize", 128))),
                    environment=env,
                    events=events,
                    code_uri=str(props.get("CodeUri", g.get("CodeUri", ""))),
                )
            self._functions = specs
        return self._functions


def load_template(path: Path | str = TEMPLATE_PATH) -> Template:
    """Parse template.yaml (cached per path and modification time)."""
    p = Path(path).resolve()
    return _load_cached(p, p.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _load_cached(path: Path, _mtime: int) -> Template:
    return Template(body=load_yaml(path.read_text()), path=path)


# --------------------------------------------------------------------------------- resolving
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass
class Resolver:
    """Resolves intrinsic functions against local values.

    `refs` maps a logical id or parameter name to what `Ref` returns; `attributes` maps
    (logical id, attribute) to what `Fn::GetAtt` returns. A missing one raises TemplateError
    naming it (so a template change the local stack cannot follow fails loudly).
    """

    template: Template
    parameters: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    region: str = LOCAL_REGION
    account_id: str = LOCAL_ACCOUNT_ID
    stack_name: str = "signalos-local"

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"
            ),
            "AWS::URLSuffix": "amazonaws.com",
        }

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        pseudo = self.pseudo()
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise TemplateError(f"cannot resolve Ref {name!r} locally")

    def get_att(self, resource: str, attribute: str) -> Any:
        try:
            return self.attributes[(resource, attribute)]
        except KeyError:
            raise TemplateError(f"cannot resolve Fn::GetAtt {resource}.{attribute} locally") from None

    def condition(self, name: str) -> bool:
        if name not in self.template.conditions:
            raise TemplateError(f"unknown condition {name!r}")
        return bool(self.resolve(self.template.conditions[name]))

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic inside `value` (dicts and lists recursively)."""
        if isinstance(value, list):
            out = [self.resolve(v) for v in value]
            return [v for v in out if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            fn = self._FUNCTIONS.get(key)
            if fn is not None:
                return fn(self, arg)
        out = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _NO_VALUE}

    def resolve_str(self, value: Any) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, dict | list):
            return json.dumps(resolved)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        return str(resolved)

    # -- intrinsic functions
    def _fn_ref(self, arg: Any) -> Any:
        return self.ref(self.resolve(arg))

    def _fn_get_att(self, arg: Any) -> Any:
        if isinstance(arg, str):
            resource, _, attribute = arg.partition(".")
        else:
            resource, attribute = (self.resolve(a) for a in arg)
        return self.get_att(resource, attribute)

    def _fn_sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve_str(v) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return variables[name]
            if "." in name and not name.startswith("AWS::"):
                resource, _, attribute = name.partition(".")
                return str(self.get_att(resource, attribute))
            return str(self.ref(name))

        return _SUB_VAR.sub(substitute, text).replace("${!", "${")

    def _fn_if(self, arg: Any) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(name) else when_false)

    def _fn_join(self, arg: Any) -> str:
        sep, items = arg
        return self.resolve_str(sep).join(self.resolve_str(i) for i in self.resolve(items))

    def _fn_select(self, arg: Any) -> Any:
        index, items = arg
        return self.resolve(items)[int(self.resolve(index))]

    def _fn_split(self, arg: Any) -> list[str]:
        sep, text = arg
        return self.resolve_str(text).split(self.resolve_str(sep))

    def _fn_equals(self, arg: Any) -> bool:
        a, b = (self.resolve_str(x) for x in arg)
        return a == b

    def _fn_not(self, arg: Any) -> bool:
        return not self.resolve(arg[0])

    def _fn_and(self, arg: Any) -> bool:
        return all(self.resolve(a) for a in arg)

    def _fn_or(self, arg: Any) -> bool:
        return any(self.resolve(a) for a in arg)

    def _fn_condition(self, arg: Any) -> bool:
        return self.condition(arg)

    def _fn_find_in_map(self, arg: Any) -> Any:
        name, top, second = (self.resolve(a) for a in arg)
        return self.template.body["Mappings"][name][top][second]

    def _fn_get_azs(self, _arg: Any) -> list[str]:
        return [f"{self.region}a", f"{self.region}b"]

    def _fn_base64(self, arg: Any) -> str:
        import base64

        return base64.b64encode(self.resolve_str(arg).encode()).decode()

    _FUNCTIONS: ClassVar[Mapping[str, Callable[[Resolver, Any], Any]]] = {
        "Ref": _fn_ref,
        "Fn::GetAtt": _fn_get_att,
        "Fn::Sub": _fn_sub,
        "Fn::If": _fn_if,
        "Fn::Join": _fn_join,
        "Fn::Select": _fn_select,
        "Fn::Split": _fn_split,
        "Fn::Equals": _fn_equals,
        "Fn::Not": _fn_not,
        "Fn::And": _fn_and,
        "Fn::Or": _fn_or,
        "Condition": _fn_condition,
        "Fn::FindInMap": _fn_find_in_map,
        "Fn::GetAZs": _fn_get_azs,
        "Fn::Base64": _fn_base64,
    }


def references(value: Any) -> set[str]:
    """Logical ids (and parameter names) that `value` refers to through Ref/GetAtt/Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= references(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.partition(".")[0] if isinstance(arg, str) else arg[0])
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                found |= {m.partition(".")[0] for m in _SUB_VAR.findall(text)}
                if isinstance(arg, list):
                    found |= references(arg[1])
            else:
                found |= references(arg)
    return {name for name in found if not name.startswith("AWS::")}
