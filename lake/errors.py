"""The one exception of the storage layer."""

from __future__ import annotations


class LakeError(RuntimeError):
    """A lake that cannot be read or written. The message is one line naming the URL and what to do."""
