"""Where the apps above `messaging` plug in behaviour that messaging runs but does not own.

Signals (messaging.signals) tell others what happened; a hook is asked something and its
answer changes what messaging does, so it is registered, not connected. Apps register in
their `AppConfig.ready()`; messaging works, unchanged, with none registered.

- `maintenance_jobs`: callables the worker's periodic run calls in turn (messaging.maintenance),
  in registration order (INSTALLED_APPS order, then each app's own order).
- `redelivery_guard`: decides which items of a webhook body must not be applied, or apply
  only in part, and removes that from the stored raw copy (privacy keeps erased people from
  coming back, in their own messages and in others' that name them).
"""

from collections.abc import Callable
from typing import Any, Protocol


class RedeliveryGuard(Protocol):
    def split(self, items: list, payload: Any) -> tuple[list, Any]:
        """(items to apply, what was withheld): the latter is falsy when nothing was. An item
        to apply may be a changed copy of one in `items` (part of it withheld)."""

    def split_bodies(self, bodies: list[tuple[list, Any]]) -> list[tuple[list, Any]]:
        """`split` for several bodies at once [(items, payload)], in the same order (for the
        guard to look up what they all need in one go)."""

    def scrub(self, event: Any, withheld: Any) -> str:
        """Remove what was withheld from the stored `event` (a WebhookEvent); return
        "kept", "rewritten" or "deleted" (then `event` is gone)."""


class _LetEverythingThrough:
    def split(self, items: list, payload: Any) -> tuple[list, Any]:
        return items, None

    def split_bodies(self, bodies: list[tuple[list, Any]]) -> list[tuple[list, Any]]:
        return [(items, None) for items, _payload in bodies]

    def scrub(self, event: Any, withheld: Any) -> str:
        return "kept"


_maintenance_jobs: list[Callable[[], Any]] = []
_redelivery_guard: RedeliveryGuard = _LetEverythingThrough()


def register_maintenance_job(job: Callable[[], Any]) -> Callable[[], Any]:
    """Add `job` to the periodic maintenance run (once, however often `ready()` runs)."""
    if job not in _maintenance_jobs:
        _maintenance_jobs.append(job)
    return job


def maintenance_jobs() -> list[Callable[[], Any]]:
    return list(_maintenance_jobs)


def register_redelivery_guard(guard: RedeliveryGuard) -> None:
    global _redelivery_guard
    _redelivery_guard = guard


def redelivery_guard() -> RedeliveryGuard:
    return _redelivery_guard
