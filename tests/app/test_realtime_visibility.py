"""Every resolver a subscription can reach is classified: identity-dependent or class-safe."""

from __future__ import annotations

from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
)

from app.graphql import build_schema
from app.monitoring.extensions import observed_label
from app.realtime.visibility import CLASS_SAFE_FIELDS, IDENTITY_FIELDS


def _named(type_: object) -> object:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def test_every_resolver_reachable_from_subscriptions_is_classified() -> None:
    schema = build_schema()._schema
    assert schema.subscription_type is not None
    pending = [_named(field.type) for field in schema.subscription_type.fields.values()]
    seen: set[str] = set()
    labels: set[str] = set()
    while pending:
        type_ = pending.pop()
        if isinstance(type_, GraphQLUnionType):
            pending.extend(type_.types)
            continue
        if isinstance(type_, GraphQLInterfaceType):
            pending.extend(schema.get_possible_types(type_))
            continue
        if not isinstance(type_, GraphQLObjectType) or type_.name in seen:
            continue
        seen.add(type_.name)
        for name, field in type_.fields.items():
            label = observed_label(type_, name, field)
            if label:
                labels.add(label)
            pending.append(_named(field.type))
    unclassified = labels - IDENTITY_FIELDS - CLASS_SAFE_FIELDS
    assert unclassified == set(), "classify these in app/realtime/visibility.py"
    assert set() == IDENTITY_FIELDS & CLASS_SAFE_FIELDS
