"""TEMPORARY stand-in for `signalos.signals.service` (SIGNALS helper) until it is committed:
the same two functions with the same keyword arguments, records with the fields the webhook
reads (signal_id, status, parse, symbols, revision, to_event()), and a tiny parse of the test
phrases. Edits re-parse the record in place with revision + 1, as the real service does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from signalos.common.clock import utc_now
from signalos.common.ids import new_id
from signalos.contracts.parse_result import OpenSetup, ParseResult, SignalUpdate
from signalos.contracts.signal_event import SignalEvent


@dataclass
class _Record:
    signal_id: str
    user_id: str
    provider_id: str
    status: str
    parse: ParseResult | None
    signal_time: datetime
    received_at: datetime
    revision: int = 0
    reply_to_signal_id: str | None = None
    source_ref: dict = field(default_factory=dict)

    @property
    def symbols(self) -> list[str]:
        return sorted({r.symbol for r in self.parse.results if r.symbol}) if self.parse else []

    def to_event(self) -> SignalEvent:
        return SignalEvent(
            signal_id=self.signal_id,
            user_id=self.user_id,
            provider_id=self.provider_id,
            source="telegram",
            parse=self.parse,
            signal_time=self.signal_time,
            received_at=self.received_at,
            parsed_at=utc_now(),
            revision=self.revision,
            reply_to_signal_id=self.reply_to_signal_id,
            chat_id=self.source_ref.get("chat_id"),
            message_id=self.source_ref.get("message_id"),
        )


def _parse(text: str) -> ParseResult:
    t = text.upper()
    if "CLOSE" in t:
        return ParseResult(results=[SignalUpdate(action="close_all")])
    m = re.search(r"(XAUUSD|EURUSD)\s+(BUY|SELL)", t)
    if not m:
        return ParseResult()
    sl = re.search(r"SL\s+([\d.]+)", t)
    tps = [float(x) for x in re.findall(r"TP\d?\s+([\d.]+)", t)]
    return ParseResult(
        results=[
            OpenSetup(
                symbol=m.group(1),
                side=m.group(2).lower(),
                stop_loss=float(sl.group(1)) if sl else None,
                take_profits=tps,
            )
        ]
    )


class FakeSignals:
    def __init__(self):
        self.records: dict[str, _Record] = {}
        self.calls: list[tuple[str, dict]] = []

    def ingest_text(
        self,
        *,
        user_id,
        provider_id,
        text,
        source,
        source_ref,
        signal_time,
        received_at,
        reply_to_signal_id=None,
        edit_of_signal_id=None,
    ):
        self.calls.append(
            ("text", {"text": text, "edit_of": edit_of_signal_id, "reply_to": reply_to_signal_id})
        )
        parse = _parse(text)
        status = "parsed" if parse.results else "ignored"
        if edit_of_signal_id:
            rec = self.records[edit_of_signal_id]
            rec.parse, rec.status, rec.revision = parse, status, rec.revision + 1
            return rec
        rec = _Record(
            new_id("sig"),
            user_id,
            provider_id,
            status,
            parse,
            signal_time,
            received_at,
            reply_to_signal_id=reply_to_signal_id,
            source_ref=source_ref,
        )
        self.records[rec.signal_id] = rec
        return rec

    def ingest_image(
        self,
        *,
        user_id,
        provider_id,
        image_bytes,
        caption,
        source,
        source_ref,
        signal_time,
        received_at,
        reply_to_signal_id=None,
    ):
        self.calls.append(("image", {"bytes": image_bytes, "caption": caption}))
        rec = _Record(
            new_id("sig"),
            user_id,
            provider_id,
            "queued",
            None,
            signal_time,
            received_at,
            source_ref=source_ref,
        )
        self.records[rec.signal_id] = rec
        return rec
