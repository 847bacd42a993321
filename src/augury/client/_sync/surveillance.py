# generated from _async/surveillance.py by scripts/unasync.py; do not edit
"""Conflicts of interest and surveillance: affiliations and the alerts arbiters review."""

from __future__ import annotations

from typing import Any, Literal

from augury.client import _models as m
from augury.client._sync.base import Core


class SurveillanceMethods(Core):
    """The client's methods for affiliations and surveillance alerts."""

    def declare_affiliation(
        self, organization: str, affiliated: bool = True, *, idempotency_key: str | None = None
    ) -> m.Affiliations:
        """Declare (``affiliated=False``: end) my affiliation with an organization."""
        req = self._req(
            "declare_affiliation",
            body={"organization": organization, "affiliated": affiliated},
            idempotency_key=idempotency_key,
        )
        return self._call(req, m.Affiliations)

    def link_affiliation(
        self,
        account: str,
        organization: str,
        affiliated: bool = True,
        *,
        idempotency_key: str | None = None,
    ) -> m.Affiliations:
        """Record an account's affiliation with an organization (admin)."""
        body = {"account": account, "organization": organization, "affiliated": affiliated}
        req = self._req("link_affiliation", body=body, idempotency_key=idempotency_key)
        return self._call(req, m.Affiliations)

    def alerts(
        self,
        *,
        market: str | None = None,
        severity: Literal["low", "medium", "high"] | None = None,
        detector: str | None = None,
        status: Literal["open", "dismissed", "confirmed"] | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> list[m.Alert]:
        """Surveillance alerts, newest first (arbiter, admin); ``before`` (an alert id)
        pages on."""
        params: dict[str, Any] = {"market": market, "severity": severity, "detector": detector}
        params.update(status=status, before=before, limit=limit)
        return (self._call(self._req("alerts", params=params), m.AlertList)).items

    def review_alert(
        self,
        alert_id: int,
        verdict: Literal["dismiss", "confirm"],
        note: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> m.Alert:
        """Dismiss (releases its hold) or confirm (the arbiters decide) an alert."""
        req = self._req(
            "review_alert",
            path={"alert_id": alert_id},
            body={"verdict": verdict, "note": note},
            idempotency_key=idempotency_key,
        )
        return self._call(req, m.Alert)
