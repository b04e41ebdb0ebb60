"""Fault injection for the sandbox, from ``--faults FILE`` or ``PUT /sandbox/faults`` (same JSON).

Format (documented in docs/sandbox.md)::

    {"seed": 1, "faults": [
      {"kind": "status", "route": "GET /syncs/*/data", "status": 503, "count": 2},
      {"kind": "drop", "route": "GET /syncs/*/data", "count": 1},
      {"kind": "slow_pending", "match": "/activities/exports/*", "seconds": 3},
      {"kind": "stuck_pending", "match": "*"},
      {"kind": "sync_error", "match": "/contacts/imports/*"},
      {"kind": "expire_data", "match": "*", "after_pages": 1}]}

Common keys: ``count`` (how many times it fires; default 1; ``null`` or -1 = always), ``after`` (let that many
matching events pass first), ``probability`` (0..1, drawn from a generator seeded by ``seed`` and the fault's
position, so a run is reproducible). ``route`` globs match the route key ``"METHOD /path"`` as counted in
``/sandbox/state`` (ids shown as ``{id}``) or the actual path; ``match`` globs match a sync's
``syncedInstanceUri`` or its own ``uri``. Matching is case-insensitive.
"""

from __future__ import annotations

import copy
import fnmatch
import random
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("status", "drop", "slow_pending", "stuck_pending", "sync_error", "expire_data")
STATUS_BODIES = {
    429: "Too Many Requests",
    500: "There was an internal server error.",
    502: "Bad Gateway",
    503: "There was a timeout processing the request.",
}


class FaultSpecError(ValueError):
    """A fault specification that cannot be used (one line naming the bad entry)."""


@dataclass
class Fault:
    kind: str
    spec: dict[str, Any]
    rng: random.Random
    remaining: int | None
    skip: int
    fired: int = 0

    def matches_route(self, route_key: str, method: str, path: str) -> bool:
        pattern = str(self.spec.get("route", "*")).lower()
        actual = f"{method} {path}".lower()
        return fnmatch.fnmatchcase(route_key.lower(), pattern) or fnmatch.fnmatchcase(actual, pattern)

    def matches_sync(self, *uris: str) -> bool:
        pattern = str(self.spec.get("match", "*")).lower()
        return any(fnmatch.fnmatchcase(u.lower(), pattern) for u in uris if u)

    def take(self) -> bool:
        """One matching event: decide (deterministically) whether the fault fires, and count it."""
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.rng.random() >= float(self.spec.get("probability", 1.0)):
            return False
        if self.remaining is not None:
            self.remaining -= 1
        self.fired += 1
        return True


@dataclass
class SyncPlan:
    """What faults do to one sync, decided when it is created."""

    pending_seconds: float | None = None  # None: the normal --sync-delay
    stuck: bool = False
    error: str | None = None


def _parse(spec: Any) -> list[Fault]:
    if not isinstance(spec, dict) or not isinstance(spec.get("faults", []), list):
        raise FaultSpecError('faults: expected a JSON object {"seed": N, "faults": [...]}')
    seed = spec.get("seed", 0)
    if not isinstance(seed, int):
        raise FaultSpecError("faults: 'seed' must be an integer")
    out = []
    for i, entry in enumerate(spec.get("faults", [])):
        if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
            raise FaultSpecError(f"faults[{i}]: 'kind' must be one of {', '.join(KINDS)}")
        kind = entry["kind"]
        if kind == "status" and entry.get("status") not in (429, 500, 502, 503):
            raise FaultSpecError(f"faults[{i}]: 'status' must be 429, 500, 502 or 503")
        if kind == "slow_pending" and not isinstance(entry.get("seconds"), int | float):
            raise FaultSpecError(f"faults[{i}]: slow_pending needs 'seconds'")
        count = entry.get("count", 1)
        if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
            raise FaultSpecError(f"faults[{i}]: 'count' must be an integer or null")
        prob = entry.get("probability", 1.0)
        if not isinstance(prob, int | float) or not 0 <= prob <= 1:
            raise FaultSpecError(f"faults[{i}]: 'probability' must be between 0 and 1")
        after = entry.get("after", 0)
        if not isinstance(after, int) or after < 0:
            raise FaultSpecError(f"faults[{i}]: 'after' must be a non-negative integer")
        remaining = None if count is None or count < 0 else count
        out.append(Fault(kind, copy.deepcopy(entry), random.Random(seed * 7919 + i), remaining, after))
    return out


@dataclass
class Faults:
    """The active faults; thread-safe."""

    faults: list[Fault] = field(default_factory=list)
    seed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    generation: int = 0

    def load(self, spec: Any) -> None:
        parsed = _parse(spec)
        with self._lock:
            self.faults = parsed
            self.seed = spec.get("seed", 0)
            self.generation += 1

    def clear(self) -> None:
        with self._lock:
            self.faults = []
            self.generation += 1

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "seed": self.seed,
                "faults": [{**f.spec, "remaining": f.remaining, "fired": f.fired} for f in self.faults],
            }

    def on_request(self, route_key: str, method: str, path: str) -> Fault | None:
        """The status or drop fault that fires for this request, if any."""
        with self._lock:
            for f in self.faults:
                if f.kind in ("status", "drop") and f.matches_route(route_key, method, path) and f.take():
                    return f
        return None

    def plan_sync(self, instance_uri: str, sync_uri: str) -> SyncPlan:
        plan = SyncPlan()
        with self._lock:
            for f in self.faults:
                if f.kind not in ("slow_pending", "stuck_pending", "sync_error"):
                    continue
                if not f.matches_sync(instance_uri, sync_uri) or not f.take():
                    continue
                if f.kind == "slow_pending":
                    plan.pending_seconds = float(f.spec["seconds"])
                elif f.kind == "stuck_pending":
                    plan.stuck = True
                else:
                    plan.error = str(
                        f.spec.get("message", "Temporary failure processing the sync; retry later.")
                    )
        return plan

    def expire_now(self, instance_uri: str, sync_uri: str, pages_served: int) -> bool:
        """True when an expire_data fault ends this sync's data before serving another page."""
        with self._lock:
            for f in self.faults:
                if f.kind != "expire_data" or not f.matches_sync(instance_uri, sync_uri):
                    continue
                if pages_served < int(f.spec.get("after_pages", 0)):
                    continue
                if f.remaining is not None and f.remaining <= 0:
                    continue
                if f.rng.random() >= float(f.spec.get("probability", 1.0)):
                    continue
                if f.remaining is not None:
                    f.remaining -= 1
                f.fired += 1
                return True
        return False
