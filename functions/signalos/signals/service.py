"""Where a signal becomes a stored, parsed record: the signals context's one entry point.

    ingest_text(...)  -> SignalRecord   rules parser now; slow path (LLM) when it is unsure
    ingest_image(...) -> SignalRecord   always the slow path (OCR), status "queued"
    finish_slow_path(job) -> SignalRecord | None   what the worker runs for a queued signal
    get_provider / create_provider / update_provider / delete_provider / list_providers

Called by the signals API, the Telegram webhook and the slow-path worker. Nothing here answers
HTTP; errors are `signalos.common.errors` so the API maps them, and every input ends as a
stored record with a status and a reason (a bad post is "ignored" or "failed", never lost).

Statuses: "parsed" (results or a decision), "queued" (waiting for OCR/LLM), "ignored" (nothing
actionable), "failed" (could not be read: bad image, OCR found nothing, parser error).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from signalos.common.clock import utc_now
from signalos.common.errors import BadRequest, Forbidden, NotFound
from signalos.common.ids import new_id
from signalos.contracts.parse_result import ParseResult
from signalos.signals import config, data, jobs
from signalos.signals.records import PreviousRevision, Provider, SignalRecord

log = logging.getLogger(__name__)

SlowPathMode = Literal["queue", "inline", "off"]
_EDIT_RETRIES = 3


class ProviderNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such signal provider", code="PROVIDER_NOT_FOUND")


class DispatchIncomplete(RuntimeError):
    """Fan-out could not reach every subscription; the job is retried."""


class SignalNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such signal", code="SIGNAL_NOT_FOUND")


def _ms(dt: datetime) -> datetime:
    """Millisecond precision: what the stored ISO text keeps, so a record reads back equal."""
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def _now() -> datetime:
    return _ms(utc_now())


# --- parsing ---------------------------------------------------------------------------------
@dataclass(slots=True)
class Decision:
    """The outcome of parsing one text: what the record should say."""

    status: str
    parse: ParseResult | None
    parser: str | None
    parse_ms: float
    rules_confidence: float | None = None
    warnings: list[str] = field(default_factory=list)
    reason: str | None = None
    slow_path: str | None = None


def provider_rules(provider: Provider | None) -> Any:
    """The provider's ProviderRules (the parser's model), or None."""
    if provider is None or not provider.rules:
        return None
    from signalos.signals.parser.provider_rules import ProviderRules

    return ProviderRules.model_validate(provider.rules)


def rules_parse(text: str, rules: Any) -> tuple[ParseResult, float]:
    from signalos.signals.parser import parse_message

    started = time.perf_counter()
    result = parse_message(text, rules)
    return result, round((time.perf_counter() - started) * 1000.0, 3)


def _final_from(
    result: ParseResult,
    parser: str,
    parse_ms: float,
    *,
    rules_confidence: float | None,
    warnings: list[str],
    reason_if_empty: str,
) -> Decision:
    parsed = result.model_copy(update={"parser": parser})
    status, reason = "parsed", None
    if not parsed.results:
        status, reason = "ignored", reason_if_empty
        if parsed.confidence < config.confidence_threshold():
            # It looked like a signal and nothing could read it: a missed trade, not chatter.
            status = "failed"
            detail = "; ".join(parsed.warnings)
            reason = "looks like a signal but could not be read" + (f" ({detail})" if detail else "")
    return Decision(
        status=status,
        parse=parsed,
        parser=parser,
        parse_ms=parse_ms,
        rules_confidence=rules_confidence,
        warnings=list(dict.fromkeys(warnings)),
        reason=reason,
    )


def decide_text(
    text: str, rules: Any, *, llm_allowed: bool, mode: SlowPathMode, user_id: str, parser_name: str = "rules"
) -> Decision:
    """Rules parse, then (when unsure and allowed) the LLM now, later, or not at all."""
    if not text.strip():
        return Decision(
            status="ignored",
            parse=ParseResult(parser="rules"),
            parser=parser_name,
            parse_ms=0.0,
            reason="empty message",
        )
    try:
        result, parse_ms = rules_parse(text, rules)
    except Exception:
        log.exception("rules parser failed")
        return Decision(status="failed", parse=None, parser=None, parse_ms=0.0, reason="parser error")
    threshold = config.confidence_threshold()
    unsure = result.confidence < threshold
    warnings = list(result.warnings)
    if not unsure:
        return _final_from(
            result,
            parser_name,
            parse_ms,
            rules_confidence=result.confidence,
            warnings=warnings,
            reason_if_empty="no actionable content",
        )
    if mode == "off":
        warnings.append("low confidence")
    elif not llm_allowed:
        warnings.append("low confidence: LLM fallback not licensed")
    elif mode == "queue":
        # The worker holds the key (and decides if there is none): the webhook and the API
        # functions need no access to it just to queue.
        return Decision(
            status="queued",
            parse=result.model_copy(update={"parser": parser_name}),
            parser=parser_name,
            parse_ms=parse_ms,
            rules_confidence=result.confidence,
            warnings=warnings,
            slow_path="llm",
        )
    else:
        from signalos.signals import llm

        if llm.is_configured():
            return apply_llm(text, result, parse_ms, user_id=user_id, parser_name=parser_name)
        warnings.append("low confidence: LLM fallback not configured")
    return _final_from(
        result,
        parser_name,
        parse_ms,
        rules_confidence=result.confidence,
        warnings=warnings,
        reason_if_empty="no actionable content",
    )


def apply_llm(
    text: str,
    rules_result: ParseResult,
    rules_ms: float,
    *,
    user_id: str,
    parser_name: str = "rules",
    http_client: Any = None,
) -> Decision:
    """Run the LLM and decide between its answer and the rules result."""
    from signalos.signals import llm

    outcome = llm.llm_parse(text, user_id=user_id, http_client=http_client)
    warnings = list(rules_result.warnings)
    if outcome.status == "accepted" and outcome.result is not None:
        return _final_from(
            outcome.result,
            "llm",
            round(rules_ms + outcome.elapsed_ms, 3),
            rules_confidence=rules_result.confidence,
            warnings=list(outcome.result.warnings),
            reason_if_empty="no actionable content (LLM)",
        )
    label = {"rejected": "LLM result rejected", "over_budget": "LLM budget used up"}.get(
        outcome.status, "LLM unavailable"
    )
    warnings.append(f"{label}: {outcome.reason}" if outcome.reason else label)
    return _final_from(
        rules_result,
        parser_name,
        round(rules_ms + outcome.elapsed_ms, 3),
        rules_confidence=rules_result.confidence,
        warnings=warnings,
        reason_if_empty="no actionable content",
    )


# --- licenses ---------------------------------------------------------------------------------
def user_features(user_id: str) -> frozenset[str]:
    """Features of a user's license right now (for callers without a request principal)."""
    from signalos.auth import data as auth_data
    from signalos.auth import licenses

    user = auth_data.get_user(user_id)
    if not user or not isinstance(user.get("license"), dict):
        return frozenset()
    return licenses.active_features(user["license"])


def _llm_allowed(user_id: str, features: frozenset[str] | None) -> bool:
    if features is None:
        try:
            features = user_features(user_id)
        except Exception:
            log.exception("could not read the license of %s; LLM fallback off", user_id)
            return False
    return config.LLM_FEATURE in features


# --- ingest -------------------------------------------------------------------------------------
def _check_text(text: str) -> str:
    if len(text) > config.MAX_TEXT_CHARS:
        raise BadRequest(
            f"The text is {len(text)} characters; the limit is {config.MAX_TEXT_CHARS}", code="TEXT_TOO_LONG"
        )
    return text


def _provider_or_404(user_id: str, provider_id: str | None) -> Provider | None:
    if not provider_id:
        return None
    provider = data.get_provider(user_id, provider_id)
    if provider is None:
        raise ProviderNotFound()
    return provider


def _safe_rules(provider: Provider | None, warnings: list[str]) -> Any:
    try:
        return provider_rules(provider)
    except Exception:
        # Stored rules that the parser no longer accepts must not stop the signal.
        log.exception("provider rules unreadable; parsing without them")
        warnings.append("provider rules could not be applied")
        return None


def _apply(record: SignalRecord, decision: Decision, *, now: datetime) -> SignalRecord:
    final = decision.status != "queued"
    return record.model_copy(
        update={
            "status": decision.status,
            "parse": decision.parse,
            "parser": decision.parser,
            "confidence": decision.parse.confidence if decision.parse is not None else None,
            "rules_confidence": decision.rules_confidence,
            "warnings": list(dict.fromkeys([*record.warnings, *decision.warnings])),
            "reason": decision.reason,
            "slow_path": decision.slow_path if not final else record.slow_path,
            "parse_ms": decision.parse_ms,
            "parsed_at": now if final else None,
        }
    )


def ingest_text(
    *,
    user_id: str,
    provider_id: str | None,
    text: str,
    source: str,
    source_ref: dict[str, Any],
    signal_time: datetime | None,
    received_at: datetime | None,
    reply_to_signal_id: str | None = None,
    edit_of_signal_id: str | None = None,
    features: frozenset[str] | None = None,
    slow_path: SlowPathMode = "queue",
    auto_dispatch: bool | None = None,
) -> SignalRecord:
    """Parse and store one text message (see the module docstring).

    `features`: the caller's license features when known (API principal); None reads the
    owner's license (webhook). `slow_path`: "queue" (default) sends an unsure parse to the
    worker, "inline" asks the LLM now (parse-sync), "off" keeps the rules result.
    `auto_dispatch`: whether the slow-path worker hands the finished signal to fan-out
    (default: Telegram signals yes, others no; the fast path's caller dispatches itself).
    """
    text = _check_text(text or "")
    received_at = _ms(received_at or _now())
    signal_time = _ms(min(signal_time or received_at, received_at))
    if edit_of_signal_id:
        edited = _edit(
            user_id=user_id,
            signal_id=edit_of_signal_id,
            text=text,
            features=features,
            slow_path=slow_path,
            now=received_at,
        )
        if edited is not None:
            return edited
    provider = _provider_or_404(user_id, provider_id)
    warnings: list[str] = [] if not edit_of_signal_id else ["edit of an unknown signal: stored as new"]
    rules = _safe_rules(provider, warnings)
    llm_allowed = _llm_allowed(user_id, features)
    decision = decide_text(text, rules, llm_allowed=llm_allowed, mode=slow_path, user_id=user_id)
    base = SignalRecord(
        signal_id=new_id("sig"),
        user_id=user_id,
        provider_id=provider_id,
        source=source,
        source_ref=dict(source_ref or {}),
        text=text,
        status="queued",
        signal_time=signal_time,
        received_at=received_at,
        reply_to_signal_id=reply_to_signal_id,
        warnings=warnings,
        auto_dispatch=(source == "telegram") if auto_dispatch is None else auto_dispatch,
    )
    record = _apply(base, decision, now=_now())
    data.put_new_signal(record)
    if record.status == "queued":
        record = _enqueue_or_settle(record, llm_allowed=llm_allowed)
    return record


def _enqueue_or_settle(record: SignalRecord, *, llm_allowed: bool) -> SignalRecord:
    """Queue the slow path; if the queue is unreachable, settle on what we have (never stuck)."""
    kind = record.slow_path or "llm"
    try:
        jobs.enqueue(
            jobs.SlowPathJob(
                signal_id=record.signal_id,
                user_id=record.user_id,
                kind=kind,
                revision=record.revision,
                llm_allowed=llm_allowed,
            )
        )
        return record
    except jobs.EnqueueFailed:
        log.exception("slow path unavailable for %s", record.signal_id)
    if kind == "ocr":
        settled = record.model_copy(
            update={"status": "failed", "reason": "image could not be queued for OCR", "parsed_at": _now()}
        )
    else:
        parse = record.parse or ParseResult()
        settled = record.model_copy(
            update={
                "status": "parsed" if parse.results else "ignored",
                "reason": None if parse.results else "no actionable content",
                "warnings": [*record.warnings, "slow path unavailable: rules result kept"],
                "parsed_at": _now(),
            }
        )
    data.replace_signal(record, settled)
    return settled


def _edit(
    *,
    user_id: str,
    signal_id: str,
    text: str,
    features: frozenset[str] | None,
    slow_path: SlowPathMode,
    now: datetime,
) -> SignalRecord | None:
    """Re-parse an edited message into its record (revision + 1); None if the record is unknown."""
    for _ in range(_EDIT_RETRIES):
        before = data.get_signal(user_id, signal_id)
        if before is None:
            return None
        if before.text == text and before.status != "failed":
            return before  # a formatting-only edit changes nothing we parse
        provider = data.get_provider(user_id, before.provider_id) if before.provider_id else None
        warnings: list[str] = []
        rules = _safe_rules(provider, warnings)
        llm_allowed = _llm_allowed(user_id, features)
        if before.image_key:
            # A new caption on a photo: read the image again with it (the caption competes with OCR).
            decision = Decision(status="queued", parse=None, parser=None, parse_ms=0.0, slow_path="ocr")
        else:
            decision = decide_text(text, rules, llm_allowed=llm_allowed, mode=slow_path, user_id=user_id)
        kept = [
            *before.previous,
            PreviousRevision(revision=before.revision, text=before.text, replaced_at=now),
        ]
        base = before.model_copy(
            update={
                "text": text,
                "revision": before.revision + 1,
                "warnings": warnings,
                "reason": None,
                "previous": kept[-10:],
                "image_key": before.image_key,
                "ocr_text": None,
            }
        )
        after = _apply(base, decision, now=_now())
        try:
            data.replace_signal(before, after)
        except data.StaleRecord:
            continue  # a worker or another edit got there first: read again
        if after.status == "queued":
            after = _enqueue_or_settle(after, llm_allowed=llm_allowed)
        return after
    raise data.StaleRecord(signal_id)


def ingest_image(
    *,
    user_id: str,
    provider_id: str | None,
    image_bytes: bytes | None = None,
    s3_key: str | None = None,
    caption: str | None = None,
    source: str,
    source_ref: dict[str, Any] | None = None,
    signal_time: datetime | None = None,
    received_at: datetime | None = None,
    reply_to_signal_id: str | None = None,
    features: frozenset[str] | None = None,
    auto_dispatch: bool | None = None,
) -> SignalRecord:
    """Store an image signal and queue it for OCR (status "queued").

    A bad image from a pipeline (Telegram) is stored as "failed" with the reason; the API
    checks images first (`images.inspect_image`) and answers 400 instead.
    """
    from signalos.signals import images, storage

    caption = _check_text(caption or "")
    received_at = _ms(received_at or _now())
    signal_time = _ms(min(signal_time or received_at, received_at))
    _provider_or_404(user_id, provider_id)
    signal_id = new_id("sig")
    record = SignalRecord(
        signal_id=signal_id,
        user_id=user_id,
        provider_id=provider_id,
        source=source,
        source_ref=dict(source_ref or {}),
        text=caption,
        status="queued",
        slow_path="ocr",
        signal_time=signal_time,
        received_at=received_at,
        reply_to_signal_id=reply_to_signal_id,
        auto_dispatch=(source == "telegram") if auto_dispatch is None else auto_dispatch,
    )
    if image_bytes is not None:
        try:
            info = images.inspect_image(image_bytes, pillow_optional=True)
        except images.ImageRejected as exc:
            failed = record.model_copy(
                update={"status": "failed", "reason": f"bad image: {exc.message}", "parsed_at": _now()}
            )
            data.put_new_signal(failed)
            return failed
        key = storage.image_key(user_id, signal_id, info.extension)
        storage.put_image(key, image_bytes, info.content_type)
    elif s3_key and storage.owns_key(user_id, s3_key):
        key = s3_key
    else:
        raise BadRequest("An image (bytes or one of your uploads) is required", code="IMAGE_REQUIRED")
    record = record.model_copy(update={"image_key": key})
    data.put_new_signal(record)
    return _enqueue_or_settle(record, llm_allowed=_llm_allowed(user_id, features))


def get_signal(user_id: str, signal_id: str) -> SignalRecord:
    record = data.get_signal(user_id, signal_id)
    if record is None:
        raise SignalNotFound()
    return record


# --- the slow path ------------------------------------------------------------------------------
def _ocr_decision(record: SignalRecord, job: jobs.SlowPathJob, rules: Any) -> tuple[Decision, str | None]:
    """OCR the image, parse its text; the caption competes (a photo's text may be in either)."""
    from signalos.signals import images, ocr, storage

    try:
        image = storage.get_image(record.image_key or "")
        read = ocr.image_to_text(image)
    except storage.ImageMissing:
        return Decision(status="failed", parse=None, parser=None, parse_ms=0.0, reason="image missing"), None
    except images.ImageRejected as exc:
        return Decision(
            status="failed", parse=None, parser=None, parse_ms=0.0, reason=f"bad image: {exc.message}"
        ), None
    if not read.text.strip() and not record.text.strip():
        return Decision(
            status="failed",
            parse=None,
            parser=None,
            parse_ms=read.elapsed_ms,
            reason="no text found in the image",
        ), read.text
    mode: SlowPathMode = "inline" if job.llm_allowed else "off"
    candidates = []
    if read.text.strip():
        from_image = decide_text(
            read.text,
            rules,
            llm_allowed=job.llm_allowed,
            mode=mode,
            user_id=record.user_id,
            parser_name="ocr",
        )
        from_image.parse_ms = round(from_image.parse_ms + read.elapsed_ms, 3)
        candidates.append(from_image)
    if record.text.strip():
        candidates.append(
            decide_text(
                record.text, rules, llm_allowed=False, mode="off", user_id=record.user_id, parser_name="rules"
            )
        )
    best = max(candidates, key=_strength)
    if best.status == "ignored" and read.text.strip() and record.text.strip():
        # The caption may name the instrument and the image carry the levels: read them together.
        both = decide_text(
            f"{record.text}\n{read.text}",
            rules,
            llm_allowed=False,
            mode="off",
            user_id=record.user_id,
            parser_name="ocr",
        )
        if both.status == "parsed":
            best = both
    return best, read.text


def _strength(decision: Decision) -> tuple[int, float]:
    has = decision.status == "parsed" and decision.parse is not None and bool(decision.parse.results)
    return (1 if has else 0, decision.parse.confidence if decision.parse is not None else 0.0)


def finish_slow_path(
    job: jobs.SlowPathJob, *, give_up: bool = False, dispatch: Callable[[Any], Any] | None = None
) -> SignalRecord | None:
    """Run OCR/LLM for a queued signal, store the outcome, hand it to fan-out when asked.

    Idempotent: a job for a record that has moved on (finished, or edited to a new revision)
    only completes a dispatch that did not happen. `give_up=True` (last delivery) settles a
    failing job as "failed" instead of raising, so no signal stays queued forever.
    """
    record = data.get_signal(job.user_id, job.signal_id)
    if record is None:
        log.warning("slow-path job for unknown signal %s", job.signal_id)
        return None
    if record.status == "queued" and record.revision == job.revision:
        try:
            record = _run_slow_path(record, job)
        except data.StaleRecord:
            record = data.get_signal(job.user_id, job.signal_id)
            if record is None:
                return None
        except Exception:
            if not give_up:
                raise
            log.exception("slow path failed for good for %s", job.signal_id)
            record = _settle_failed(record)
    # Only this job's revision is its to dispatch: a newer one (an edit) has its own job, or was
    # parsed on the fast path and dispatched by its caller.
    if record.needs_dispatch and dispatch is not None and record.revision == job.revision:
        record, summary = dispatch_now(record, dispatch)
        if getattr(summary, "failed", 0):
            # Fan-out is idempotent per (signal, revision, subscription): the redelivered job
            # sends only what is still missing, so the record is marked only when all went out.
            raise DispatchIncomplete(f"{summary.failed} subscription(s) failed for {record.signal_id}")
    return record


def dispatch_now(record: SignalRecord, dispatch: Callable[[Any], Any]) -> tuple[SignalRecord, Any]:
    """Hand a parsed signal to fan-out and mark the revision dispatched when nothing failed."""
    summary = dispatch(record.to_event())
    if getattr(summary, "failed", 0):
        return record, summary
    marked = record.model_copy(update={"dispatched_revision": record.revision})
    try:
        data.replace_signal(record, marked)
    except data.StaleRecord:
        return record, summary  # edited meanwhile; the new revision is dispatched on its own
    return marked, summary


def _run_slow_path(record: SignalRecord, job: jobs.SlowPathJob) -> SignalRecord:
    provider = data.get_provider(record.user_id, record.provider_id) if record.provider_id else None
    warnings: list[str] = []
    rules = _safe_rules(provider, warnings)
    ocr_text = None
    if job.kind == "ocr":
        decision, ocr_text = _ocr_decision(record, job, rules)
    else:
        rules_result = record.parse or ParseResult()
        if job.llm_allowed:
            decision = apply_llm(record.text, rules_result, record.parse_ms or 0.0, user_id=record.user_id)
        else:
            decision = _final_from(
                rules_result,
                "rules",
                record.parse_ms or 0.0,
                rules_confidence=rules_result.confidence,
                warnings=[*rules_result.warnings, "low confidence: LLM fallback not licensed"],
                reason_if_empty="no actionable content",
            )
    decision.warnings = [*warnings, *decision.warnings]
    after = _apply(record, decision, now=_now())
    if ocr_text is not None:
        after = after.model_copy(update={"ocr_text": ocr_text[: config.MAX_TEXT_CHARS]})
    data.replace_signal(record, after)
    return after


def _settle_failed(record: SignalRecord) -> SignalRecord:
    parse = record.parse
    if record.slow_path == "llm" and parse is not None:
        update = {
            "status": "parsed" if parse.results else "ignored",
            "reason": None if parse.results else "no actionable content",
            "warnings": [*record.warnings, "slow path failed: rules result kept"],
        }
    else:
        update = {"status": "failed", "reason": "slow path failed repeatedly"}
    settled = record.model_copy(update={**update, "parsed_at": _now()})
    data.replace_signal(record, settled)
    return settled


# --- providers ------------------------------------------------------------------------------------
def get_provider(user_id: str, provider_id: str) -> Provider | None:
    """The caller's provider (None if it is not theirs or does not exist)."""
    return data.get_provider(user_id, provider_id)


MAX_PROVIDERS_PER_USER = 100


def validate_rules(rules: dict[str, Any] | None) -> dict[str, Any]:
    """ProviderRules JSON as the parser normalises it; 422-style BadRequest naming the problem."""
    if not rules:
        return {}
    from pydantic import ValidationError

    from signalos.signals.parser.provider_rules import ProviderRules

    try:
        model = ProviderRules.model_validate(rules)
    except ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]) or "rules": e["msg"] for e in exc.errors()}
        raise BadRequest(
            "The provider rules are not valid",
            code="INVALID_RULES",
            details={"fields": {f"rules.{k}": v for k, v in fields.items()}},
        ) from None
    return model.model_dump(mode="json", exclude_defaults=True)


def _check_visibility(visibility: str | None, is_admin: bool) -> None:
    if visibility == "public" and not is_admin:
        raise Forbidden("Only administrators can make a provider public", code="PUBLIC_PROVIDER_ADMIN_ONLY")


def create_provider(
    user_id: str,
    *,
    name: str,
    description: str | None = None,
    visibility: str = "private",
    rules: dict[str, Any] | None = None,
    is_admin: bool = False,
) -> Provider:
    _check_visibility(visibility, is_admin)
    clean_rules = validate_rules(rules)
    if data.count_providers(user_id) >= MAX_PROVIDERS_PER_USER:
        raise BadRequest(f"At most {MAX_PROVIDERS_PER_USER} providers per user", code="TOO_MANY_PROVIDERS")
    now = _now()
    provider = Provider(
        provider_id=new_id("prv"),
        user_id=user_id,
        name=name.strip(),
        description=description,
        visibility=visibility,
        rules=clean_rules,
        created_at=now,
        updated_at=now,
    )
    data.put_new_provider(provider)
    return provider


def update_provider(
    user_id: str, provider_id: str, changes: dict[str, Any], *, is_admin: bool = False
) -> Provider:
    """Apply a partial update (PATCH) or a replacement (PUT: every field given)."""
    _check_visibility(changes.get("visibility"), is_admin)
    for _ in range(_EDIT_RETRIES):
        current = data.get_provider(user_id, provider_id)
        if current is None:
            raise ProviderNotFound()
        update = dict(changes)
        if "rules" in update:
            update["rules"] = validate_rules(update["rules"])
        if "name" in update and isinstance(update["name"], str):
            update["name"] = update["name"].strip()
        changed = {k for k, v in update.items() if getattr(current, k) != v}
        if not changed:
            return current
        new = current.model_copy(update={**update, "updated_at": _now(), "version": current.version + 1})
        try:
            return data.update_provider(new, expected_version=current.version, changed=changed)
        except data.ConditionFailed:
            continue
    raise data.StaleRecord(provider_id)


def delete_provider(user_id: str, provider_id: str) -> None:
    if not data.delete_provider(user_id, provider_id):
        raise ProviderNotFound()


def list_providers(user_id: str, *, limit: int, cursor: str | None) -> tuple[list[Provider], str | None]:
    return data.list_providers(user_id, limit=limit, cursor=cursor)


# --- bulk import ------------------------------------------------------------------------------------
def import_rows(user_id: str, rows: list[Any], *, features: frozenset[str]) -> list[dict[str, Any]]:
    """Ingest each importer row (rules only: a backfill must not spend the LLM budget) and
    report every line: ok with the signal, or error with the reason."""
    from signalos.common.errors import ApiError

    report: list[dict[str, Any]] = []
    known_providers: dict[str, bool] = {}
    received_at = _now()
    for row in rows:
        if row.error:
            report.append({"line": row.line, "status": "error", "error": row.error})
            continue
        if row.provider_id and row.provider_id not in known_providers:
            known_providers[row.provider_id] = data.get_provider(user_id, row.provider_id) is not None
        if row.provider_id and not known_providers[row.provider_id]:
            report.append({"line": row.line, "status": "error", "error": f"no provider {row.provider_id}"})
            continue
        try:
            record = ingest_text(
                user_id=user_id,
                provider_id=row.provider_id,
                text=row.text,
                source="import",
                source_ref={"line": row.line},
                signal_time=row.signal_time,
                received_at=received_at,
                features=features,
                slow_path="off",
                auto_dispatch=False,
            )
        except ApiError as exc:
            report.append({"line": row.line, "status": "error", "error": exc.message})
            continue
        except Exception:
            log.exception("import line %s failed", row.line)
            report.append({"line": row.line, "status": "error", "error": "could not be stored; try again"})
            continue
        report.append(
            {
                "line": row.line,
                "status": "ok",
                "signal_id": record.signal_id,
                "signal_status": record.status,
                "results": len(record.parse.results) if record.parse is not None else 0,
            }
        )
    return report
