"""The strawberry extension behind GraphQL metrics and spans.

One extension does both, so every field pays for one middleware layer, not two. Like strawberry's
own tracing extensions it skips default attribute resolvers and introspection; unlike them its
`resolve` is synchronous, so a plain attribute stays a plain value (an async `resolve` would turn
every field into a coroutine). Spans carry `Type.field` and the path, never argument values.
Resolver timing is sampled per operation (METRICS_RESOLVER_SAMPLE_RATE); spans follow the trace's
own sampling.
"""

from __future__ import annotations

import functools
import hashlib
import random
import time
from collections.abc import Awaitable, Callable, Generator, Iterator
from inspect import isawaitable
from typing import Any

from graphql import GraphQLResolveInfo
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from app.monitoring import metrics

_SKIP = ""
_fields: dict[tuple[str, str], str] = {}


@functools.lru_cache(maxsize=1024)
def document_hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:12]


def observed_field(info: GraphQLResolveInfo[Any]) -> str:
    """`Type.field` for a resolver that does work; "" for attributes and introspection."""
    key = (info.parent_type.name, info.field_name)
    name = _fields.get(key)
    if name is None:
        definition = info.parent_type.fields.get(info.field_name)
        resolver = definition.resolve if definition is not None else None
        default = resolver is None or getattr(resolver, "_is_default", False)
        introspection = key[0].startswith("__") or key[1].startswith("__")
        name = _SKIP if default or introspection else f"{key[0]}.{key[1]}"
        _fields[key] = name
    return name


class MonitoringExtension(SchemaExtension):
    def __init__(self, *, tracer: Tracer | None, metrics_enabled: bool, sample_rate: float) -> None:
        self.tracer = tracer
        self.metrics_enabled = metrics_enabled
        self.sample_rate = sample_rate
        self.timed = metrics_enabled and (sample_rate >= 1.0 or random.random() < sample_rate)  # noqa: S311
        self.span: Span | None = None
        self.subscription_field = ""

    def labels(self) -> tuple[str, str]:
        context = self.execution_context
        try:
            kind = context.operation_type.value
        except Exception:  # no document, or no such operation: the request failed early
            return "unknown", "unknown"
        name = context.operation_name
        if not name:
            name = "anonymous:" + document_hash(context.query or "")
        return kind, metrics.OPERATION_NAMES(name)

    def on_operation(self) -> Iterator[None]:
        start = time.perf_counter()
        token = None
        if self.tracer is not None:
            self.span = self.tracer.start_span("graphql.operation")
            token = otel_context.attach(trace.set_span_in_context(self.span))
        try:
            yield
        finally:
            kind, name = self.labels()
            context = self.execution_context
            result = context.result
            failed = bool(context.pre_execution_errors or (result is not None and result.errors))
            if self.metrics_enabled:
                metrics.GRAPHQL_OPERATIONS.labels(kind, name, "error" if failed else "ok").inc()
                if kind != OperationType.SUBSCRIPTION.value:
                    elapsed = time.perf_counter() - start
                    metrics.GRAPHQL_DURATION.labels(kind, name).observe(elapsed)
            if self.subscription_field:
                metrics.WEBSOCKET_SUBSCRIPTIONS.labels(self.subscription_field).dec()
            if self.span is not None and token is not None:
                self.span.update_name(f"{kind} {name}")
                self.span.set_attribute("graphql.operation.type", kind)
                self.span.set_attribute("graphql.operation.name", name)
                self.span.set_attribute("graphql.document.hash", document_hash(context.query or ""))
                if failed:
                    self.span.set_status(Status(StatusCode.ERROR))
                self.span.end()
                otel_context.detach(token)

    def _phase(self, phase: str) -> Generator[None, None, None]:
        if not self.metrics_enabled:
            yield
            return
        start = time.perf_counter()
        yield
        metrics.GRAPHQL_PHASE_DURATION.labels(phase).observe(time.perf_counter() - start)

    def on_parse(self) -> Generator[None, None, None]:
        yield from self._phase("parse")

    def on_validate(self) -> Generator[None, None, None]:
        yield from self._phase("validate")

    def on_execute(self) -> Generator[None, None, None]:
        if self.execution_context.operation_type is OperationType.SUBSCRIPTION:
            self.subscription_field = self._root_field()
            metrics.WEBSOCKET_SUBSCRIPTIONS.labels(self.subscription_field).inc()
        yield from self._phase("execute")

    def _root_field(self) -> str:
        document = self.execution_context.graphql_document
        for definition in document.definitions if document else ():
            selections = getattr(getattr(definition, "selection_set", None), "selections", ())
            for selection in selections:
                return str(selection.name.value)
        return "unknown"

    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        field = observed_field(info)
        span = self.span
        traced = span is not None and span.is_recording()
        if not field or not (self.timed or traced):
            return _next(root, info, *args, **kwargs)
        child = None
        if traced and self.tracer is not None:
            child = self.tracer.start_span(
                field,
                context=trace.set_span_in_context(span),  # type: ignore[arg-type]
                attributes={
                    "graphql.field.name": field,
                    "graphql.field.path": ".".join(map(str, info.path.as_list())),
                },
            )
        start = time.perf_counter()
        try:
            result = _next(root, info, *args, **kwargs)
        except Exception as error:
            self._finish(field, start, child, error)
            raise
        if isawaitable(result):
            return self._await(result, field, start, child)
        self._finish(field, start, child, None)
        return result

    async def _await(
        self, awaitable: Awaitable[Any], field: str, start: float, span: Span | None
    ) -> Any:
        token = otel_context.attach(trace.set_span_in_context(span)) if span else None
        error: Exception | None = None
        try:
            return await awaitable
        except Exception as raised:
            error = raised
            raise
        finally:
            if token is not None:
                otel_context.detach(token)
            self._finish(field, start, span, error)

    def _finish(self, field: str, start: float, span: Span | None, error: Exception | None) -> None:
        if self.timed:
            metrics.RESOLVER_DURATION.labels(field).observe(time.perf_counter() - start)
            if error is not None:
                metrics.RESOLVER_ERRORS.labels(field).inc()
        if span is not None:
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR))
            span.end()


def record_errors(errors: list[Any] | None) -> None:
    """Count the errors of a finished result by `extensions.code` (set by ErrorFormatter)."""
    for error in errors or ():
        code = (error.extensions or {}).get("code", "UNKNOWN")
        metrics.GRAPHQL_ERRORS.labels(str(code)).inc()
