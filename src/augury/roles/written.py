"""The journal seq the task running now has written (read-your-writes, without HTTP).

``Services.submit_raw`` notes the seq of every command it ran (:func:`note_seq`); whoever
serves a request sets a fresh :class:`Written` in :data:`WRITTEN` before it runs and reads
it after (``augury.api.seq``: the ``Augury-Seq`` header). With none set (a script, the
demo seeder) noting does nothing.
"""

from __future__ import annotations

from contextvars import ContextVar


class Written:
    """The highest seq written so far by the task that set it (0: none yet)."""

    __slots__ = ("seq",)

    def __init__(self) -> None:
        self.seq = 0


WRITTEN: ContextVar[Written | None] = ContextVar("augury_written", default=None)


def note_seq(seq: int) -> None:
    """Called after a command: the answer of the request running now carries ``seq``."""
    written = WRITTEN.get()
    if written is not None and seq > written.seq:
        written.seq = seq
