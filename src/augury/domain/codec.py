"""Canonical serialization of commands, events and results (deterministic JSON).

The journal hashes these bytes, so the encoding of a given message must never
change: fields are encoded in declaration order, tagged by ``type``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from augury.domain import commands as cmd
from augury.domain import events as ev

AnyCommand = (
    cmd.OpenAccount
    | cmd.GrantCredits
    | cmd.CreateMarket
    | cmd.HaltMarket
    | cmd.ResumeMarket
    | cmd.CloseMarket
    | cmd.PlaceOrder
    | cmd.CancelOrder
    | cmd.CancelAll
    | cmd.AmendOrder
    | cmd.MintSets
    | cmd.RedeemSets
    | cmd.ConvertNo
    | cmd.ResolveMarket
    | cmd.VoidMarket
    | cmd.SetResolutionSpec
    | cmd.DeclareAffiliation
    | cmd.RecordObservation
    | cmd.ProposeOutcome
    | cmd.DisputeProposal
    | cmd.CastVote
    | cmd.PostClarification
    | cmd.RaiseAlert
    | cmd.ReviewAlert
    | cmd.Tick
)
AnyEvent = (
    ev.AccountOpened
    | ev.CreditsGranted
    | ev.MarketCreated
    | ev.MarketStatusChanged
    | ev.OrderAccepted
    | ev.OrderRested
    | ev.BookFill
    | ev.MakerFill
    | ev.OrderClosed
    | ev.OrderReduced
    | ev.SetsMinted
    | ev.SetsRedeemed
    | ev.NoConverted
    | ev.MarketSettled
    | ev.MarketVoided
    | ev.ResolutionSpecSet
    | ev.AffiliationDeclared
    | ev.ObservationRecorded
    | ev.OutcomeProposed
    | ev.ProposalDisputed
    | ev.ResolutionHeld
    | ev.VoteCast
    | ev.ResolutionFinalized
    | ev.ClarificationPosted
    | ev.AlertRaised
    | ev.AlertReviewed
)

_encoder = msgspec.json.Encoder()
_command_decoder = msgspec.json.Decoder(AnyCommand)
_event_decoder = msgspec.json.Decoder(AnyEvent)
_events_decoder = msgspec.json.Decoder(list[AnyEvent])


def encode(message: Any) -> bytes:
    """Canonical JSON bytes of a command, an event, a list of them, or a result."""
    return _encoder.encode(message)


def decode_command(data: bytes) -> cmd.Command:
    decoded: cmd.Command = _command_decoder.decode(data)
    return decoded


def decode_event(data: bytes) -> ev.Event:
    decoded: ev.Event = _event_decoder.decode(data)
    return decoded


def decode_events(data: bytes) -> list[ev.Event]:
    return list(_events_decoder.decode(data))


def command_from_builtins(data: Any) -> cmd.Command:
    """Build a command from already-parsed JSON (a dict with a ``type`` tag)."""
    converted: cmd.Command = msgspec.convert(data, AnyCommand)
    return converted
