"""A content-addressed store of the raw bytes captured from sources.

Every capture's body is kept under its SHA-256 (``root/ab/abcdef...``: the first two hex
digits name a directory), so the hash journaled with an observation can be checked
against the bytes by anyone later. Writes are atomic (a temporary file in the same
directory, flushed, then ``os.replace``) and idempotent; names are validated as 64
lower-case hex digits, so no name can reach outside ``root``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 lower-case hex digits (the store's key)."""
    return hashlib.sha256(data).hexdigest()


class BlobStore(Protocol):
    """What the observer and the evidence routes need of a store: files on one machine
    (:class:`EvidenceStore`), the shared database on several (``sql_store``)."""

    def put(self, data: bytes) -> str: ...
    def get(self, sha: str) -> bytes: ...
    def has(self, sha: str) -> bool: ...
    def size(self, sha: str) -> int | None: ...
    def verify(self, sha: str) -> bool: ...


def check_sha(sha: str) -> str:
    """``sha`` if it is 64 lower-case hex digits; ValueError otherwise."""
    if not isinstance(sha, str) or not _SHA256_HEX.fullmatch(sha):
        raise ValueError(f"not a SHA-256 hex digest (64 lower-case hex digits): {sha!r}")
    return sha


class EvidenceStore:
    """Raw bytes by SHA-256 under ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, sha: str) -> Path:
        return self.root / check_sha(sha)[:2] / sha

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its hash; storing the same bytes again is a no-op
        (a damaged copy is replaced)."""
        sha = sha256_hex(data)
        path = self._path(sha)
        if path.is_file() and self.verify(sha):
            return sha
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def get(self, sha: str) -> bytes:
        """The bytes stored under ``sha``; KeyError if absent, ValueError if ``sha`` is not
        a well-formed digest."""
        path = self._path(sha)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise KeyError(sha) from None

    def has(self, sha: str) -> bool:
        """Whether bytes are stored under ``sha`` (False for a malformed digest)."""
        try:
            return self._path(sha).is_file()
        except ValueError:
            return False

    def size(self, sha: str) -> int | None:
        """The length in bytes of what is stored under ``sha``; None if absent or malformed."""
        try:
            return self._path(sha).stat().st_size
        except (ValueError, OSError):
            return None

    def verify(self, sha: str) -> bool:
        """Re-hash the stored bytes: True when they still match ``sha``. KeyError if absent."""
        return sha256_hex(self.get(sha)) == sha
