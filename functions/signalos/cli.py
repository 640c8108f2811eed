"""`signalos` console script.

    signalos parse --jsonl < messages.jsonl > results.jsonl     (contract: shared/signal-format.md)
    signalos parse "XAUUSD BUY NOW 1950-1948 SL 1940 TP1 1955"   (readable)
    signalos parse --json "..."                                  (the full ParseResult as JSON)

Rules only by default (no network). `--llm` asks the model (signalos.signals.llm) for posts the
rules parser is unsure about, when an OpenAI key is configured; otherwise it says so on stderr
and the rules result stands. `--rules FILE` applies a provider's ProviderRules (JSON).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterable
from typing import IO, Any

EXIT_OK = 0
EXIT_USAGE = 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="signalos", description="SignalOS command line tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("parse", help="parse trading-signal posts into opens and updates",
                       description="Parse trading-signal posts (contract v1, shared/signal-format.md).")
    p.add_argument("text", nargs="?", help="the post to parse (omit to read it from stdin)")
    p.add_argument("--jsonl", action="store_true",
                   help='read {"id","text"} lines on stdin, write {"id","results"} lines on stdout')
    p.add_argument("--json", action="store_true", help="print the whole parse result as JSON")
    p.add_argument("--llm", action="store_true", help="ask the LLM when the rules parser is unsure")
    p.add_argument("--rules", metavar="FILE", help="provider rules (ProviderRules JSON) to apply")
    return parser


class UsageError(Exception):
    """A bad command line or input file: reported on stderr, exit status 2."""


def _load_rules(path: str | None) -> Any:
    if path is None:
        return None
    from pydantic import ValidationError

    from signalos.signals.parser.provider_rules import ProviderRules

    try:
        with open(path, encoding="utf-8") as fh:
            return ProviderRules.model_validate(json.load(fh))
    except OSError as exc:
        raise UsageError(f"cannot read rules file {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"rules file {path} is not JSON: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "rules"
        raise UsageError(f"rules file {path}: {where}: {first.get('msg')}") from None


def _utf8(stream: IO[str]) -> None:
    """Write UTF-8 whatever the locale says (posts are full of emoji); large buffered writes."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):  # a stream that cannot change encoding now
            reconfigure(encoding="utf-8", errors="replace")


# --- the LLM fallback (optional) -----------------------------------------------------------
def _llm_parser() -> Callable[[str, Any], Any] | None:
    """(text, rules result) -> the model's result when the rules were unsure and the model's
    answer passes every check, else the rules result; None (with a note on stderr) when the
    LLM cannot be used here."""
    try:
        from signalos.signals import config, llm
    except ImportError as exc:
        print(f"signalos: --llm unavailable ({exc}); using the rules parser only", file=sys.stderr)
        return None
    try:
        key = llm.api_key()
    except Exception as exc:  # a secret backend that is not reachable from this machine
        name = type(exc).__name__
        print(f"signalos: --llm unavailable ({name}); using the rules parser only", file=sys.stderr)
        return None
    if not key:
        print("signalos: --llm needs an OpenAI key (OPENAI_API_KEY or OPENAI_SECRET_ARN); "
              "using the rules parser only", file=sys.stderr)
        return None
    settings = config.llm_settings()
    threshold = config.confidence_threshold()
    warned = False

    def ask(text: str, rules_result: Any) -> Any:
        nonlocal warned
        if rules_result.confidence >= threshold:
            return rules_result
        try:
            client = llm.make_client(key, settings)
            try:
                completion = client.chat.completions.create(
                    model=settings.model,
                    messages=[{"role": "system", "content": llm.SYSTEM_PROMPT},
                              {"role": "user", "content": f"<post>\n{text}\n</post>"}],
                    response_format=llm.response_format(),
                    max_completion_tokens=settings.max_tokens,
                    temperature=0,
                )
            finally:
                client.close()
            content = completion.choices[0].message.content if completion.choices else None
            result, reason = llm.validate_answer(text, content)
        except Exception as exc:  # network, quota, SDK errors: the rules result stands
            if not warned:
                name = type(exc).__name__
                print(f"signalos: LLM call failed ({name}); keeping the rules results", file=sys.stderr)
                warned = True
            return rules_result
        if result is None:
            print(f"signalos: LLM answer rejected ({reason}); keeping the rules result", file=sys.stderr)
            return rules_result
        return result

    return ask


# --- parse ---------------------------------------------------------------------------------
def _parse_lines(lines: Iterable[bytes], out: IO[str], parse: Callable[[str], Any]) -> None:
    """One output line per input line, same order; a bad line gets an error line, never a stop."""
    for raw in lines:
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        line = raw.decode("utf-8", errors="replace")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            reply: dict[str, Any] = {"id": None, "error": f"invalid JSON: {exc.msg} (column {exc.colno})"}
        else:
            if not isinstance(obj, dict):
                reply = {"id": None, "error": "a line must be a JSON object with \"id\" and \"text\""}
            else:
                msg_id = obj.get("id")
                text = obj.get("text")
                if not isinstance(text, str):
                    reply = {"id": msg_id, "error": "missing \"text\" (a string)"}
                else:
                    try:
                        reply = {"id": msg_id, "results": parse(text).contract_json()}
                    except Exception as exc:  # never lose the rest of the batch to one message
                        reply = {"id": msg_id, "error": f"parser failed: {type(exc).__name__}"}
        out.write(json.dumps(reply, ensure_ascii=False))
        out.write("\n")


def _describe(result: Any) -> str:
    if not result.results:
        why = f" ({'; '.join(result.warnings)})" if result.warnings else ""
        return f"nothing actionable{why}  confidence {result.confidence:.2f}"
    lines = []
    for item in result.results:
        if item.kind == "open":
            parts = [f"OPEN   {item.symbol} {item.side.upper()} {item.order_type}"]
            if item.entry_zone is not None:
                parts.append(f"zone {item.entry_zone[0]:g}-{item.entry_zone[1]:g}")
            elif item.entry is not None:
                parts.append(f"entry {item.entry:g}")
            if item.stop_loss is not None:
                parts.append(f"SL {item.stop_loss:g}")
            elif item.sl_pips is not None:
                parts.append(f"SL {item.sl_pips:g} pips")
            if item.take_profits:
                parts.append("TP " + ", ".join(f"{tp:g}" for tp in item.take_profits))
            if item.tp_pips:
                parts.append("TP " + ", ".join(f"{tp:g}" for tp in item.tp_pips) + " pips")
        else:
            parts = [f"UPDATE {item.action}"]
            if item.symbol:
                parts.append(item.symbol)
            if item.price is not None:
                parts.append(f"price {item.price:g}")
            if item.fraction is not None:
                parts.append(f"fraction {item.fraction:g}")
        parts.append(f"confidence {item.confidence:.2f}")
        lines.append("  ".join(parts))
        lines.extend(f"       warning: {w}" for w in item.warnings)
    return "\n".join(lines)


def _cmd_parse(args: argparse.Namespace) -> int:
    from signalos.signals.parser import parse_message

    rules = _load_rules(args.rules)
    ask = _llm_parser() if args.llm else None

    def parse(text: str) -> Any:
        result = parse_message(text, rules)
        return ask(text, result) if ask is not None else result

    if args.jsonl:
        if args.text is not None:
            raise UsageError("--jsonl reads stdin; do not also give TEXT")
        _utf8(sys.stdout)
        source = getattr(sys.stdin, "buffer", None)
        lines = source if source is not None else (line.encode("utf-8") for line in sys.stdin)
        _parse_lines(lines, sys.stdout, parse)
        sys.stdout.flush()
        return EXIT_OK
    text = args.text if args.text is not None else sys.stdin.read()
    _utf8(sys.stdout)
    result = parse(text)
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        print(_describe(result))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "parse":
            return _cmd_parse(args)
    except UsageError as exc:
        print(f"signalos: {exc}", file=sys.stderr)
        return EXIT_USAGE
    parser.print_help(sys.stderr)  # pragma: no cover - argparse enforces a command
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
