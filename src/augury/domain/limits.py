"""Limits on everything a client controls, so no input can grow state without bound."""

from __future__ import annotations

from dataclasses import dataclass

from augury.domain.units import ONE


@dataclass(frozen=True, slots=True)
class Limits:
    open_orders_per_account: int = 1_000
    order_qty_max: int = 1_000_000 * ONE  # a million shares
    grant_max: int = 1_000_000_000 * ONE  # a billion credits in one grant
    liquidity_max: int = 10_000_000 * ONE
    outcomes_max: int = 64
    id_length_max: int = 64
    text_length_max: int = 4_000
    fee_bps_max: int = 1_000
    tick_min: int = 100  # 0.0001 credit
    tick_max: int = 100_000  # 0.1 credit
    spec_bytes_max: int = 64_000
    observations_per_market_max: int = 100_000
    clarifications_per_market_max: int = 1_000
    alerts_per_market_max: int = 10_000
    organizations_per_account_max: int = 32
    observation_text_max: int = 2_000  # value, error and change summary of an observation


DEFAULT_LIMITS = Limits()
