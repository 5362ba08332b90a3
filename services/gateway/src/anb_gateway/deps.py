"""Names of the injected values, marked explicitly as Litestar asks (inferred injection is deprecated)."""

from __future__ import annotations

import uuid
from typing import TypeAlias

from litestar.di import NamedDependency

from anb_gateway.runtime import Runtime

RuntimeDep: TypeAlias = NamedDependency[Runtime]
"""The process's runtime (pool, storage, tokens...), provided app-wide as ``runtime``."""
CurrentUser: TypeAlias = NamedDependency[uuid.UUID]
"""The authenticated caller's id, provided as ``user_id`` by authn.current_user where a route needs it."""
