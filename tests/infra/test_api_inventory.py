"""The API's inventory agrees with itself: every route module loads, every documented route is
routed by template.yaml to the function whose handler serves that router, and every route the
template declares leads to at least one documented route (no stray, undocumented entry points)."""

from __future__ import annotations

import re

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from signalos.status import docs

from infra.local.routing import Router

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def documented_by_module() -> dict[str, set[tuple[str, str]]]:
    loaded, skipped = docs.load_routers()
    assert skipped == [], f"route modules that did not load: {skipped}"
    routes: dict[str, set[tuple[str, str]]] = {}
    for name, router in loaded:
        app = APIGatewayHttpResolver(enable_validation=True)
        app.include_router(router)
        paths = app.get_openapi_schema().paths or {}
        routes[name] = {(method.upper(), path) for path, item in paths.items()
                        for method in item.model_dump(exclude_none=True) if method in HTTP_METHODS}
    return routes


# The documentation serves itself: it is not a route of the API it describes.
UNDOCUMENTED = {("GET", "/api/openapi.json"), ("GET", "/api/docs")}


def _path_regex(template_path: str) -> str:
    """API Gateway path -> regex: {proxy+} is one or more segments, {name} exactly one."""
    parts = []
    for segment in template_path.strip("/").split("/"):
        if segment.endswith("+}"):
            parts.append(".+")
        elif segment.startswith("{"):
            parts.append("[^/]+")
        else:
            parts.append(re.escape(segment))
    return "/" + "/".join(parts)


def _sample(path: str) -> str:
    """A concrete request path for an OpenAPI path template ({provider_id} -> x1)."""
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_every_route_module_is_listed_and_loads(documented_by_module):
    contexts = {"auth", "status", "signals", "telegram", "trading", "bridge_api", "analytics", "admin"}
    assert set(documented_by_module) == {f"signalos.{ctx}.routes" for ctx in contexts}
    assert all(documented_by_module.values()), "a route module with no routes"


def test_every_documented_route_reaches_the_function_that_serves_it(signalos_template, documented_by_module):
    router = Router.from_template(signalos_template)
    wrong = []
    for module, routes in documented_by_module.items():
        expected_handler = module.rsplit(".", 1)[0] + ".handler.lambda_handler"
        for method, path in sorted(routes):
            match = router.match(method, _sample(path))
            if match is None or match.route_key == "$default" or match.handler != expected_handler:
                wrong.append(f"{method} {path} -> {match and match.handler}")
    assert wrong == []


def test_every_template_route_leads_to_a_documented_route(signalos_template, documented_by_module):
    documented = [(m, _sample(p)) for routes in documented_by_module.values() for m, p in routes]
    stray = []
    for fn in signalos_template.functions().values():
        for event in fn.events_of("HttpApi"):
            path = event.properties.get("Path")
            if path is None:  # $default: the catch-all that answers unknown routes with a 404
                continue
            method = str(event.properties.get("Method", "ANY")).upper()
            if (method, path) in UNDOCUMENTED:
                continue
            pattern = re.compile("^" + _path_regex(path) + "$")
            if not any(pattern.match(p) and method in ("ANY", m) for m, p in documented):
                stray.append(f"{fn.logical_id}: {method} {path}")
    assert stray == []
