"""The local Eloqua Bulk API 2.0 sandbox (``scc sandbox serve``); see docs/sandbox.md.

In-process use: ``from scc_sandbox import start_sandbox``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scc_sandbox.server import RunningSandbox


def start_sandbox(**options: Any) -> RunningSandbox:
    """Start a sandbox on a background thread; see ``scc_sandbox.server.start_sandbox`` for the options."""
    from scc_sandbox.server import start_sandbox as _start

    return _start(**options)


__all__ = ["start_sandbox"]
