"""Luigi targets on the lake (:mod:`lake.storage`): the one place a task's output becomes a ``luigi.Target``.

* :class:`DatasetTarget`: a dataset folder, complete only once ``<dataset>/_SUCCESS`` exists;
* :class:`FileTarget`: one document (a receipt), written atomically when the handle closes without error.

Both carry ``url`` (the lake URL) and work the same on ``file://`` and ``s3://``: every byte goes through the
lake's filesystem, no library client is built by hand.

:class:`OnLake` is the mixin of every task that writes to the lake: its ``target_lake`` parameter is part of the
task's identity (:class:`luigi_tasks.config.LakeParameter`) and ``lake`` is the storage behind it.
"""

from __future__ import annotations

import io
from typing import Any

import luigi

from lake.storage import Lake
from luigi_tasks.config import LakeParameter, lake_at


class OnLake:
    """Mixin (before ``luigi.Task``): the lake as a significant parameter, and its storage."""

    target_lake = LakeParameter()

    @property
    def lake(self) -> Lake:
        # Not cached on the task: luigi reuses instances; lake_at keeps one per process and URL.
        return lake_at(self.target_lake)


class DatasetTarget(luigi.Target):
    """A dataset at ``url``; exists once its ``_SUCCESS`` flag does."""

    def __init__(self, lake: Lake, url: str) -> None:
        self.lake = lake
        self.url = lake.check_url(url)

    def exists(self) -> bool:
        return self.lake.is_complete(self.url)

    def __repr__(self) -> str:
        return f"DatasetTarget({self.url!r})"


class _AtomicWriter(io.StringIO):
    """Text buffered in memory and written to the lake in one atomic write on a clean close."""

    def __init__(self, lake: Lake, url: str) -> None:
        super().__init__()
        self._lake, self._url, self._discard = lake, url, False

    def close(self) -> None:
        if not self.closed and not self._discard:
            self._lake.write_bytes(self._url, self.getvalue().encode("utf-8"))
        super().close()

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        self._discard = exc_type is not None  # a failed block leaves the previous document in place
        self.close()


class FileTarget(luigi.Target):
    """One text document at ``url`` (a receipt); ``open("w")`` writes it atomically on close."""

    def __init__(self, lake: Lake, url: str) -> None:
        self.lake = lake
        self.url = lake.check_url(url)

    def exists(self) -> bool:
        return self.lake.exists(self.url)

    def open(self, mode: str = "r") -> io.StringIO:
        if mode == "r":
            return io.StringIO(self.lake.read_bytes(self.url).decode("utf-8"))
        if mode == "w":
            return _AtomicWriter(self.lake, self.url)
        raise ValueError(f"mode {mode!r}: FileTarget opens 'r' or 'w'")

    def __repr__(self) -> str:
        return f"FileTarget({self.url!r})"
