# generated from _async/client.py by scripts/unasync.py; do not edit
"""The synchronous client: one method per API operation, typed answers, typed errors."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType

from augury.client import _base as b
from augury.client._sync.accounts import AccountMethods
from augury.client._sync.admin import AdminMethods
from augury.client._sync.markets import MarketMethods
from augury.client._sync.notifications import NotificationMethods
from augury.client._sync.resolution import ResolutionMethods
from augury.client._sync.scoring import ScoringMethods
from augury.client._sync.surveillance import SurveillanceMethods
from augury.client._sync.trading import TradingMethods
from augury.client._ws import Subscription


class Client(
    AccountMethods,
    MarketMethods,
    TradingMethods,
    ResolutionMethods,
    SurveillanceMethods,
    ScoringMethods,
    AdminMethods,
    NotificationMethods,
):
    """A synchronous Augury client (``with Client(...) as client``).

    ``Client("http://127.0.0.1:8000", api_key="aug_...")``; or no key and
    :meth:`login` (a session cookie; the CSRF header is then sent for you). Commands
    that accept an ``Idempotency-Key`` get a fresh one per call unless you pass
    ``idempotency_key=`` (pass the same key to retry safely). Use it as a context
    manager, or call :meth:`close`.

    Its methods are written by part of the API, one base class per module of this
    package (accounts, markets, trading, resolution, surveillance, scoring, admin).
    """

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def subscribe(self, channels: Iterable[str], *, timeout: float | None = None) -> Subscription:
        """Subscribe to WebSocket channels (``book:<market>``, ``trades:<market>``,
        ``prices:<market>``, ``orders``); use as a context manager and iterate.

        A gap in a channel's ``seq`` resubscribes it (a fresh ``subscribed`` snapshot
        follows); a dropped connection reconnects and resubscribes every channel."""
        return Subscription(
            b.ws_url(self.base_url), self._ws_headers(), list(channels), timeout=timeout
        )
