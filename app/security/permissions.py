"""Coarse gates on root fields (signed in, staff, admin). Ownership is checked in services."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from schema.context import Info
from schema.errors import FORBIDDEN, UNAUTHENTICATED, ApiError


class IsAuthenticated(BasePermission):
    message = "sign in first"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer is not None

    def on_unauthorized(self) -> None:
        raise ApiError(self.message, UNAUTHENTICATED)


class _HasRole(BasePermission):
    def allowed(self, info: Info) -> bool:
        raise NotImplementedError

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.viewer is None:
            raise ApiError("sign in first", UNAUTHENTICATED)
        return self.allowed(info)

    def on_unauthorized(self) -> None:
        raise ApiError(self.message or "not allowed", FORBIDDEN)


class IsStaff(_HasRole):
    message = "moderators and admins only"

    def allowed(self, info: Info) -> bool:
        return info.context.viewer is not None and info.context.viewer.is_staff


class IsAdmin(_HasRole):
    message = "admins only"

    def allowed(self, info: Info) -> bool:
        return info.context.viewer is not None and info.context.viewer.is_admin
