"""Every error the journal raises, in one place.

The hierarchy::

    JournalError                  base of everything below
    ├── ChainError                a record does not verify; carries .seq and .fault
    │   └── AppendRejected        append() refused a group; nothing was written
    ├── JournalLocked             another writer holds the journal; names the holder
    │   └── JournalFenced         a leased writer's epoch is no longer the current one
    ├── NotWriter                 a write was attempted without holding the writer lock
    ├── TornTail                  acquire_writer() found a corrupt tail; carries .report
    ├── SnapshotError             a snapshot is corrupt or does not match the journal
    ├── CheckpointError           a checkpoint body is malformed, forged or untrusted
    ├── ExportFormatError         an export file is malformed or truncated; carries .seq
    └── SchemaError               the database holds an unknown or foreign layout

It also holds ``TailReport``, what a tail check found (a ``TornTail`` carries one). This
module imports nothing from the rest of the package, so that every other module can
import it.
"""

from __future__ import annotations

import enum

import msgspec


class ChainFault(enum.Enum):
    """Why a record failed verification."""

    MALFORMED = "malformed"
    """A field has the wrong type, length or range (e.g. a 31-byte hash)."""
    BAD_HASH = "bad-hash"
    """The stored hash is not the SHA-256 of the record's canonical bytes."""
    BROKEN_LINK = "broken-link"
    """prev_hash is not the hash of the record before it."""
    SEQ_GAP = "seq-gap"
    """seq is not exactly one more than the seq before it."""


class JournalError(Exception):
    """Base class of every journal error."""


class ChainError(JournalError):
    """The record at ``seq`` does not verify for reason ``fault``."""

    def __init__(self, seq: int, fault: ChainFault, detail: str) -> None:
        super().__init__(f"journal record seq={seq} fails verification ({fault.value}): {detail}")
        self.seq = seq
        self.fault = fault
        self.detail = detail


class AppendRejected(ChainError):
    """append() refused the group because of the record at ``seq``; nothing was written."""


class JournalLocked(JournalError):
    """Another writer holds the journal; ``holder`` describes it as well as it is known."""

    def __init__(self, journal: str, holder: str) -> None:
        super().__init__(f"journal {journal} is locked for writing by {holder}")
        self.journal = journal
        self.holder = holder


class JournalFenced(JournalLocked):
    """A leased writer (epoch ``epoch``) may no longer write: the lease is at
    ``current_epoch`` (held by ``holder``; "" when it has lapsed). It must stop: another
    writer may be leading."""

    def __init__(self, journal: str, epoch: int, current_epoch: int, holder: str) -> None:
        if current_epoch == epoch:
            holder_text = "nobody: its lease lapsed"
        else:
            holder_text = f"{holder or 'nobody (lapsed)'!r} at epoch {current_epoch}"
        message = f"the writer of epoch {epoch} is fenced off; led by {holder_text}"
        JournalError.__init__(self, f"journal {journal}: {message}")
        self.journal = journal
        self.holder = holder
        self.epoch = epoch
        self.current_epoch = current_epoch


class NotWriter(JournalError):
    """A write needs the writer lock, which this store object does not hold."""


class TornTail(JournalError):
    """The tail of the journal does not verify, so the store refuses to write to it."""

    def __init__(self, message: str, report: TailReport) -> None:
        super().__init__(message)
        self.report = report
        self.seq = report.corrupt_seqs[0] if report.corrupt_seqs else report.head_seq


class SnapshotError(JournalError):
    """A snapshot is corrupt or names a record the journal does not hold."""

    def __init__(self, seq: int, detail: str) -> None:
        super().__init__(f"snapshot at seq={seq}: {detail}")
        self.seq = seq


class CheckpointError(JournalError):
    """A checkpoint body is malformed, its signature is invalid, or its key is not trusted."""


class ExportFormatError(JournalError):
    """An export file is malformed; ``seq`` is the record that is bad or missing."""

    def __init__(self, path: str, line_no: int, seq: int | None, detail: str) -> None:
        where = f"seq={seq}" if seq is not None else "header"
        super().__init__(f"{path}:{line_no}: {where}: {detail}")
        self.path = path
        self.line_no = line_no
        self.seq = seq


class SchemaError(JournalError):
    """The database holds tables this version does not understand."""


class TailReport(msgspec.Struct, frozen=True):
    """What check_tail() found, and what (if anything) it dropped.

    ``corrupt_seqs`` is the suffix after the last record that verifies (empty when the
    tail is sound). ``repairable`` says whether that suffix lies inside the last group
    written, the only place a torn write can be. ``dropped_seqs`` is non-empty only after
    repair=True, and then equals ``corrupt_seqs``.
    """

    checked_from_seq: int
    head_seq: int
    verified_seq: int
    corrupt_seqs: tuple[int, ...] = ()
    dropped_seqs: tuple[int, ...] = ()
    fault: ChainFault | None = None
    detail: str = ""
    repairable: bool = False

    @property
    def ok(self) -> bool:
        """True when every checked record verified (nothing corrupt was found)."""
        return not self.corrupt_seqs
