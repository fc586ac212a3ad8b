"""Prometheus text metrics: responses by status, and password hashes; kept in process without a dependency."""

from __future__ import annotations

from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    def __init__(self, *, hashes: Counter[str] | None = None) -> None:
        self.responses: Counter[tuple[str, str]] = Counter()
        self.hashes: Counter[str] = Counter() if hashes is None else hashes

    def render(self) -> str:
        lines = [
            "# HELP passgate_http_responses_total HTTP responses by method and status.",
            "# TYPE passgate_http_responses_total counter",
        ]
        for (method, status), count in sorted(self.responses.items()):
            lines.append(f'passgate_http_responses_total{{method="{method}",status="{status}"}} {count}')
        lines += [
            "# HELP passgate_password_hashes_total argon2id hashes: computed, or dropped unrun (client gone).",
            "# TYPE passgate_password_hashes_total counter",
            *(f'passgate_password_hashes_total{{outcome="{o}"}} {self.hashes[o]}' for o in ("computed", "dropped")),
        ]
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method = scope["method"] if scope["method"] in {"GET", "POST", "PUT", "DELETE", "HEAD"} else "OTHER"

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.responses[(method, str(message["status"]))] += 1
            await send(message)

        await self.app(scope, receive, counted)
