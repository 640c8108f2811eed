"""Rules parser throughput on one core (run with `make bench` or
`.venv/bin/python -m pytest tests/benchmarks/test_parser_throughput.py -s -o addopts=""`).

Target: >= 20,000 messages/second for `parse_message` over the dev corpus repeated (the
signal mix a channel produces: setups, management, chatter). Figures are printed, nothing is
asserted on time (the CI box is shared); printed per run:

- in-process `parse_message`: CPU time of the best of several passes (least disturbed by other
  processes), the median pass, and the very first pass (cold word cache);
- the `signalos parse --jsonl` console script end to end on the corpus repeated 40 times
  (process start, JSON in and out included).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import timeit
from pathlib import Path

from signalos.signals.parser import parse_message

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path("/work/shared/corpus/signals-dev.jsonl")
CORPUS = SHARED if SHARED.exists() else ROOT / "tests" / "unit" / "parsing" / "data" / "signals-dev.jsonl"
PASSES = 40


def _texts() -> list[str]:
    return [json.loads(line)["text"] for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]


def test_parse_message_throughput():
    texts = _texts()
    started = time.process_time()
    opens = sum(len(parse_message(t).opens) for t in texts)  # first pass: cold word cache
    cold = time.process_time() - started
    assert opens >= 60  # the corpus really parses (69 labelled opens)
    passes = []
    for _ in range(PASSES):
        started = time.process_time()
        for text in texts:
            parse_message(text)
        passes.append(time.process_time() - started)
    n = len(texts)
    best, median = min(passes), statistics.median(passes)
    print(f"\nparse_message over {n} dev messages x {PASSES} passes (one core, CPU time):")
    print(f"  best pass   {n / best:>9,.0f} msgs/s  ({best / n * 1e6:.1f} us/msg)")
    print(f"  median pass {n / median:>9,.0f} msgs/s  ({median / n * 1e6:.1f} us/msg)")
    print(f"  first pass  {n / cold:>9,.0f} msgs/s  (cold caches)")
    # How fast this box runs plain Python right now, to compare figures taken on different days
    # or machines (an idle modern core does this in ~15 us; a shared CI core can take twice that).
    reference = min(timeit.repeat("sum(range(1000))", number=200, repeat=5)) / 200 * 1e6
    print(f"  machine reference: sum(range(1000)) takes {reference:.1f} us here")


def test_cli_throughput(tmp_path):
    lines = CORPUS.read_text("utf-8").splitlines() * 40
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(json.dumps({"id": i, "text": json.loads(line)["text"]}) for i, line in enumerate(lines))
        + "\n",
        "utf-8",
    )
    script = Path(sys.executable).with_name("signalos")
    started = time.perf_counter()
    with source.open("rb") as stdin:
        done = subprocess.run([str(script), "parse", "--jsonl"], stdin=stdin, capture_output=True, check=True)
    wall = time.perf_counter() - started
    out = done.stdout.decode("utf-8").splitlines()
    assert len(out) == len(lines) and all('"results"' in line for line in out)
    rate = len(lines) / wall
    print(f"\nsignalos parse --jsonl: {len(lines)} messages in {wall:.2f} s wall = {rate:,.0f} msgs/s "
          "(process start included)")


HOSTILE = {
    "wall of setups": "XAUUSD BUY 2050 SL 2045 TP 2060\n" * 400,
    "a direction repeated": "buy " * 2500,
    "direction and instrument repeated": "buy gold " * 1200,
    "close instrument repeated": "close eurusd " * 800,
    "breakeven lines": "be\n" * 3000,
    "targets": "tp 1 " * 2000,
    "a zone that never ends": "2050-" * 2000,
    "comma-joined numbers": "1," * 5000,
    "emoji": "🎯" * 3000 + " 2050",
}


def test_hostile_posts_stay_bounded():
    """Worst cases of a 10,000-character post (longer input is cut): printed, not asserted."""
    print("\nhostile posts (ms per post):")
    for name, text in HOSTILE.items():
        started = time.process_time()
        result = parse_message(text)
        spent = (time.process_time() - started) * 1000
        assert len(result.results) <= 20
        print(f"  {name:36s} {spent:7.1f} ms")
