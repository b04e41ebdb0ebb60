"""Cleanup by the next run: what killed runs left behind, removed once it is older than a safety age.

A killed extract leaves its staging folder (``_tmp-<name>-<token>``, :func:`lake.paths.staging_url`) and a
killed Spark write on ``file://`` its ``_tmp.<name>.<uuid>`` output beside the dataset; a range that is
re-planned after a kill abandons its state file. Nothing reads them again, so the next task that publishes into
the same parent removes them. A live run's leftovers are never touched: an entry counts as abandoned only when
the newest file in it is older than ``older_than`` seconds, and every live writer keeps touching its files
(pages, parts, the state file) far more often than the default age (``DEFAULT_AGE``, longer than the longest
sync wait, ``[extract] sync_timeout``).
"""

from __future__ import annotations

import logging
import time

import pyarrow.fs as pafs

from lake.storage import Lake

log = logging.getLogger("luigi-interface")

DEFAULT_AGE = 12 * 3600.0  # seconds; above the 6 h default sync_timeout, so no waiting run looks abandoned
ABANDONED_PREFIXES = ("_tmp-", "_tmp.")  # the extract's staging folders, Spark's file:// outputs


def newest_mtime(lake: Lake, url: str) -> float | None:
    """Seconds since the epoch of the newest file at or under ``url`` (None when there is none)."""
    filesystem, path = lake.fs_path(url)
    with lake.io_errors(url, "list"):
        info = filesystem.get_file_info(path)
        if info.type == pafs.FileType.File:
            return info.mtime.timestamp() if info.mtime else None
        entries = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True, recursive=True))
    times = [e.mtime.timestamp() for e in entries if e.mtime is not None]
    # an empty folder has only its own time (a local folder; an S3 prefix is never empty)
    if not times and info.mtime is not None:
        times = [info.mtime.timestamp()]
    return max(times) if times else None


def is_abandoned(lake: Lake, url: str, older_than: float, now: float | None = None) -> bool:
    newest = newest_mtime(lake, url)
    return newest is not None and (now or time.time()) - newest > older_than


def sweep(lake: Lake, parent_url: str, older_than: float, keep: tuple[str, ...] = ()) -> list[str]:
    """Remove the abandoned staging entries directly under ``parent_url`` (never one in ``keep``); return them.

    Best effort: a leftover is worth a log line, never a failed task.
    """
    filesystem, path = lake.fs_path(parent_url)
    with lake.io_errors(parent_url, "list"):
        entries = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True, recursive=False))
    now = time.time()
    removed = []
    for entry in entries:
        url = f"{parent_url.rstrip('/')}/{entry.base_name}"
        if not entry.base_name.startswith(ABANDONED_PREFIXES) or url in keep:
            continue
        try:
            if is_abandoned(lake, url, older_than, now):
                lake.delete(url, recursive=entry.type == pafs.FileType.Directory)
                removed.append(url)
        except Exception as exc:  # cleanup must not fail the publication that triggered it
            log.info("could not remove the abandoned %s (%s)", url, exc)
    if removed:
        log.info("removed %d abandoned staging folder(s) under %s", len(removed), parent_url)
    return removed


def stale_files(lake: Lake, folder_url: str, older_than: float, suffix: str = ".json") -> list[str]:
    """URLs of the files directly in ``folder_url`` ending in ``suffix`` and older than ``older_than``."""
    filesystem, path = lake.fs_path(folder_url)
    with lake.io_errors(folder_url, "list"):
        entries = filesystem.get_file_info(pafs.FileSelector(path, allow_not_found=True, recursive=False))
    now = time.time()
    return [f"{folder_url.rstrip('/')}/{e.base_name}" for e in entries
            if e.type == pafs.FileType.File and e.base_name.endswith(suffix) and e.mtime is not None
            and now - e.mtime.timestamp() > older_than]
