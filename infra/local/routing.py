"""Route a request to the function template.yaml names for it, the way API Gateway HTTP APIs do.

Rules (API Gateway HTTP API route selection):
- a route is `METHOD /path` where segments are literals, `{name}` (one segment) or a final
  `{name+}` (one or more segments); method `ANY` matches every method;
- the most specific route wins: literal segments over variables, variables over a greedy
  variable, a named method over ANY;
- the `$default` route (an HttpApi event with no Path/Method) catches whatever matches no other.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from infra.local.template import Template

DEFAULT_ROUTE = "$default"


@dataclass(frozen=True)
class Route:
    method: str  # upper case, or "ANY"
    path: str  # template path, e.g. /api/v1/signals/{proxy+}; "$default" for the default route
    function_id: str
    handler: str

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"

    @property
    def segments(self) -> list[str]:
        return [s for s in self.path.split("/") if s]

    @property
    def is_greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1].endswith("+}")

    def specificity(self) -> tuple[int, int, int, int]:
        literals = sum(1 for s in self.segments if not s.startswith("{"))
        return (0 if self.is_greedy else 1, literals, len(self.segments), 0 if self.method == "ANY" else 1)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route matches (an empty dict for a route without variables)."""
        if self.path == DEFAULT_ROUTE or self.method not in ("ANY", method):
            return None
        parts = path.split("/")[1:] if path.startswith("/") else path.split("/")
        if parts == [""]:
            parts = []
        params: dict[str, str] = {}
        pattern = self.segments
        for i, seg in enumerate(pattern):
            if seg.startswith("{") and seg.endswith("+}"):
                rest = parts[i:]
                if not rest or rest == [""]:
                    return None
                params[seg[1:-2]] = unquote("/".join(rest))
                return params
            if i >= len(parts):
                return None
            if seg.startswith("{") and seg.endswith("}"):
                if not parts[i]:
                    return None
                params[seg[1:-1]] = unquote(parts[i])
            elif seg != parts[i]:
                return None
        return params if len(parts) == len(pattern) else None


@dataclass(frozen=True)
class RouteMatch:
    function_id: str
    handler: str
    route_key: str
    path_parameters: dict[str, str] | None  # None when the route has no variables ($default too)


class Router:
    """Every HttpApi route of a template."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = [r for r in routes if r.path != DEFAULT_ROUTE]
        defaults = [r for r in routes if r.path == DEFAULT_ROUTE]
        self.default: Route | None = defaults[0] if defaults else None
        # Most specific first, so the first match is the winner.
        self.routes.sort(key=Route.specificity, reverse=True)

    @classmethod
    def from_template(cls, template: Template) -> Router:
        routes = []
        for fn in template.functions().values():
            for event in fn.events_of("HttpApi"):
                path = event.properties.get("Path", DEFAULT_ROUTE)
                method = str(event.properties.get("Method", "ANY")).upper()
                routes.append(Route(method=method, path=path, function_id=fn.logical_id, handler=fn.handler))
        return cls(routes)

    def match(self, method: str, path: str) -> RouteMatch | None:
        method = method.upper()
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return RouteMatch(route.function_id, route.handler, route.route_key, params or None)
        if self.default is not None:
            return RouteMatch(self.default.function_id, self.default.handler, DEFAULT_ROUTE, None)
        return None
