"""Routing's data lifecycle: finished routes move to the archive. Routing holds no personal data.

The received event routing keeps has no contact (routing drops it) and no name or citizen ID; wards and
offices are administrative data. Declarations only (shared/lifecycle.py applies them; docs/data-lifecycle.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.lifecycle import CollectionLifecycle, ServiceLifecycle


def _finished_at(route: Mapping[str, Any]) -> datetime | None:
    """When the latest hand-off came back from its office (refused, returned or withdrawn there)."""
    handoffs = [h for h in (route.get("handoffs") or {}).values() if isinstance(h.get("sent_at"), datetime)]
    if route.get("parked") or not handoffs:
        return None
    latest = max(handoffs, key=lambda h: h["sent_at"])
    returned = latest.get("returned_at")
    return returned if isinstance(returned, datetime) else None


LIFECYCLE = ServiceLifecycle(
    service="routing",
    collections=(CollectionLifecycle(name="routes", finished_filter={"parked": False}, finished_at=_finished_at),),
)
