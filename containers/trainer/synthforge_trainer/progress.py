"""Run log and live progress: plain log lines on stdout, and progress.json for the platform.

progress.json sits in the checkpoints folder because SageMaker syncs that folder to S3 while the
job runs: it is the only place the platform can read live state from without a sidecar. Locally the
platform reads the same file. Every write is atomic (temporary file + rename), so a reader never
sees half a document.
"""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional, TextIO

PROGRESS_LOG_LINES = 20
# SageMaker truncates FailureReason to 1,024 characters; trimming here keeps the important start.
FAILURE_REASON_MAX_CHARS = 1024


def utc_now_iso() -> str:
    """ISO-8601 UTC with a `Z`, millisecond precision: what the TypeScript side's Date parses."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see either the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_json_atomic(path: Path, document: Any) -> None:
    write_bytes_atomic(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


def write_failure(path: Path, reason: str) -> None:
    """SageMaker's contract: the text of /opt/ml/output/failure becomes FailureReason."""
    write_bytes_atomic(path, reason[:FAILURE_REASON_MAX_CHARS].encode("utf-8"))


class RunLog:
    """Prints plain lines to stdout (flushed, so CloudWatch and the local platform see them at once)
    and keeps the last few for progress.json."""

    def __init__(self, stream: Optional[TextIO] = None, keep: int = PROGRESS_LOG_LINES) -> None:
        self._stream = stream
        self._recent: Deque[str] = deque(maxlen=keep)

    def __call__(self, line: str) -> None:
        stream = self._stream or sys.stdout
        self._recent.append(line)
        print(line, file=stream, flush=True)

    @property
    def recent(self) -> List[str]:
        return list(self._recent)


class ProgressReporter:
    """Holds the progress document and rewrites progress.json on every update.

    The field names are seed 002's progress object in snake_case, plus `metrics`,
    `images_per_second` and `updated_at`.
    """

    def __init__(self, path: Path, log: RunLog, total_epochs: int = 0) -> None:
        self._path = path
        self._log = log
        self._document: Dict[str, Any] = {
            "status": "running",
            "current_epoch": 0,
            "total_epochs": total_epochs,
            "current_loss": None,
            "best_loss": None,
            "message": "",
            "datasets_found": 0,
            "datasets_processed": 0,
            "metrics": None,
            "images_per_second": None,
        }

    def set(self, **fields: Any) -> None:
        """Merge `fields` into the document without writing it. Unknown names are a programming error."""
        unknown = set(fields) - set(self._document)
        if unknown:
            raise KeyError(f"unknown progress field(s): {', '.join(sorted(unknown))}")
        self._document.update(fields)

    def update(self, **fields: Any) -> None:
        """Merge `fields` into the document and write it."""
        self.set(**fields)
        self.write()

    def write(self) -> None:
        document = dict(self._document)
        document["logs"] = self._log.recent
        document["updated_at"] = utc_now_iso()
        write_json_atomic(self._path, document)

    @property
    def document(self) -> Dict[str, Any]:
        return dict(self._document)
