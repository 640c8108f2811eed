"""Cold-start import cost of every Lambda handler in template.yaml, beside `import boto3`.

Run with `make bench`. Each figure is the median wall time of a fresh `python -c "import <module>"`
over several runs, minus nothing (the interpreter start is shown as its own line), plus the
cumulative time Python's `-X importtime` reports for the module itself. A handler module that
fails to import is an error, never skipped.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from infra.local.template import load_template

RUNS = int(os.environ.get("IMPORT_BENCH_RUNS", "5"))


def handler_modules() -> list[tuple[str, str]]:
    functions = load_template().functions()
    return sorted((fid, spec.handler.rsplit(".", 1)[0]) for fid, spec in functions.items())


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TRACING_ENABLED", None)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return env


def wall_ms(code: str) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True)
        samples.append((time.perf_counter() - started) * 1000)
        if proc.returncode != 0:
            raise AssertionError(f"`{code}` failed:\n{proc.stderr[-2000:]}")
    return statistics.median(samples)


SKIP_ROOTS = {"signalos", "site", "encodings", "builtins", "__editable___signalos_0_1_0_finder"}


def importtime_ms(module: str) -> tuple[float, list[tuple[float, str]]]:
    """Cumulative import time of `module`, and the five heaviest top-level packages it pulls in."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], env=_env(),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"import {module} failed:\n{proc.stderr[-2000:]}")
    total = 0.0
    roots: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if name == module:
            total = int(cumulative) / 1000
        elif "." not in name and name not in SKIP_ROOTS and not name.startswith("_"):
            roots[name] = max(roots.get(name, 0.0), int(cumulative) / 1000)
    heavy = sorted(((ms, name) for name, ms in roots.items()), reverse=True)[:5]
    return total, heavy


def test_handler_import_times():
    modules = handler_modules()
    assert modules, "template.yaml declares no functions"
    baseline = wall_ms("pass")
    boto3_ms = wall_ms("import boto3")
    rows, failures = [], []
    for function_id, module in modules:
        try:
            rows.append((function_id, module, wall_ms(f"import {module}"), *importtime_ms(module)))
        except AssertionError as exc:
            failures.append(f"{function_id} ({module}): {str(exc).strip().splitlines()[-1]}")
    print(f"\nImport time, fresh process, median of {RUNS} ({sys.version.split()[0]}):")
    print(f"  {'python -c pass':<48} {baseline:8.0f} ms")
    print(f"  {'import boto3':<48} {boto3_ms:8.0f} ms  (+{boto3_ms - baseline:.0f} ms over the interpreter)")
    for function_id, module, wall, own, heavy in rows:
        extra = f"+{wall - baseline:.0f} ms; importtime {own:.0f} ms"
        print(f"  {module:<48} {wall:8.0f} ms  ({extra}; {function_id})")
        print(f"      heaviest: {', '.join(f'{name} {ms:.0f}' for ms, name in heavy)}")
    for failure in failures:
        print(f"  FAILED TO IMPORT: {failure}")
    assert not failures, "handler modules that do not import: " + "; ".join(failures)
