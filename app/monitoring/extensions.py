"""The strawberry extension behind GraphQL metrics and spans.

One extension does both: operation counts and duration, phase durations, the operation span, and
resolver timing and spans. Like strawberry's own tracing extensions it skips default attribute
resolvers and introspection, and goes further: those fields are not even wrapped (see
`instrument_resolvers`), so a plain attribute costs nothing. Async resolvers (where I/O happens)
get spans; synchronous ones are timed only. Spans carry `Type.field` and the path, never
argument values. Resolver timing is sampled per operation (METRICS_RESOLVER_SAMPLE_RATE); spans
follow the trace's own sampling.
"""

from __future__ import annotations

import functools
import hashlib
import random
import time
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextvars import ContextVar
from inspect import isawaitable
from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLObjectType, GraphQLResolveInfo
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from app.monitoring import metrics

_PHASES = {
    phase: metrics.GRAPHQL_PHASE_DURATION.labels(phase)
    for phase in ("parse", "validate", "execute")
}
_OPERATIONS = metrics.children(metrics.GRAPHQL_OPERATIONS)
_DURATION = metrics.children(metrics.GRAPHQL_DURATION)
_RESOLVER_DURATION = metrics.children(metrics.RESOLVER_DURATION)
# The operation being executed in this context: what the wrapped resolvers report to.
_current: ContextVar[MonitoringExtension | None] = ContextVar("bountyexpo_operation", default=None)


@functools.lru_cache(maxsize=1024)
def document_hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:12]


# Metadata of a field whose resolver only formats what its object holds (a media URL from a
# key): it is not wrapped, as an attribute is not. `strawberry.field(..., metadata=UNTIMED)`.
UNTIMED: dict[str, object] = {"bountyexpo.untimed": True}


def observed_label(type_: GraphQLObjectType, name: str, field: GraphQLField) -> str:
    """`Type.field` for a resolver that does work; "" for attributes and introspection.

    A Node's `id` is skipped too: its resolver only encodes the global id; so are UNTIMED fields.
    """
    default = field.resolve is None or getattr(field.resolve, "_is_default", False)
    introspection = type_.name.startswith("__") or name.startswith("__")
    node_id = name == "id" and any(interface.name == "Node" for interface in type_.interfaces)
    definition = (field.extensions or {}).get("strawberry-definition")
    untimed = bool((getattr(definition, "metadata", None) or {}).get("bountyexpo.untimed"))
    skipped = default or introspection or node_id or untimed
    return "" if skipped else f"{type_.name}.{name}"


def instrument_resolvers(schema: strawberry.Schema) -> None:
    """Wrap, once, every resolver that does work; attribute fields keep their plain resolver.

    Done at build time rather than in `SchemaExtension.resolve`, which graphql-core would call
    for every field of every object (a 20-item list of 4 attributes is 80 extra calls).
    """
    for type_ in schema._schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType):
            continue
        for name, field in type_.fields.items():
            label = observed_label(type_, name, field)
            if label and field.resolve is not None:
                field.resolve = _observed(field.resolve, label)


def _observed(resolve: Callable[..., Any], label: str) -> Callable[..., Any]:
    def observed(root: Any, info: GraphQLResolveInfo[Any], *args: Any, **kwargs: Any) -> Any:
        operation = _current.get()
        if operation is None:
            return resolve(root, info, *args, **kwargs)
        return operation.observe(resolve, label, root, info, *args, **kwargs)

    return observed


class MonitoringExtension(SchemaExtension):
    def __init__(self, *, tracer: Tracer | None, metrics_enabled: bool, sample_rate: float) -> None:
        self.tracer = tracer
        self.metrics_enabled = metrics_enabled
        self.sample_rate = sample_rate
        self.timed = metrics_enabled and (sample_rate >= 1.0 or random.random() < sample_rate)  # noqa: S311
        self.span: Span | None = None
        self.subscription_field = ""
        self.start = 0.0

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
        self.start = start = time.perf_counter()
        token = None
        if self.tracer is not None:
            self.span = self.tracer.start_span("graphql.operation")
            token = otel_context.attach(trace.set_span_in_context(self.span))
        previous = _current.get()
        _current.set(self)
        try:
            yield
        finally:
            _current.set(previous)
            kind, name = self.labels()
            context = self.execution_context
            result = context.result
            failed = bool(context.pre_execution_errors or (result is not None and result.errors))
            if self.metrics_enabled:
                _OPERATIONS(kind, name, "error" if failed else "ok").inc()
                if kind != OperationType.SUBSCRIPTION.value:
                    elapsed = time.perf_counter() - start
                    _DURATION(kind, name).observe(elapsed)
            if self.subscription_field:
                metrics.WEBSOCKET_SUBSCRIPTIONS.labels(self.subscription_field).dec()
            if self.span is not None and token is not None:
                self.span.update_name(f"{kind} {name}")
                self.span.set_attributes(
                    {
                        "graphql.operation.type": kind,
                        "graphql.operation.name": name,
                        "graphql.document.hash": document_hash(context.query or ""),
                    }
                )
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
        _PHASES[phase].observe(time.perf_counter() - start)

    # No on_parse hook: each hook costs ~3 µs of strawberry's machinery per operation, and
    # parsing is what happens between the operation's start and validation's.
    def on_validate(self) -> Generator[None, None, None]:
        if self.metrics_enabled:
            _PHASES["parse"].observe(time.perf_counter() - self.start)
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

    def observe(
        self,
        _next: Callable[..., Any],
        field: str,
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Run one wrapped resolver: timed when sampled, a span when async and traced."""
        span = self.span
        traced = span is not None and span.is_recording()
        if not (self.timed or traced):
            return _next(root, info, *args, **kwargs)
        start = time.perf_counter()
        try:
            result = _next(root, info, *args, **kwargs)
        except Exception as error:
            self._finish(field, start, None, error)
            raise
        if not isawaitable(result):  # synchronous: timed, but too cheap to be worth a span
            self._finish(field, start, None, None)
            return result
        # An async resolver has not started yet: its span becomes current before it runs.
        child = None
        if traced and self.tracer is not None and span is not None:
            child = self.tracer.start_span(
                field,
                context=trace.set_span_in_context(span),
                attributes={
                    "graphql.field.name": field,
                    "graphql.field.path": ".".join(map(str, info.path.as_list())),
                },
            )
        return self._await(result, field, start, child)

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
            _RESOLVER_DURATION(field).observe(time.perf_counter() - start)
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
