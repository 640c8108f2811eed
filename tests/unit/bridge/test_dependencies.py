"""The agent ships to a trader's VPS: it may import only boto3, requests, pydantic and signalos.contracts."""

from __future__ import annotations

import json
import subprocess
import sys

AGENT_MODULES = [
    "bridge_agent.cli",
    "bridge_agent.runner",
    "bridge_agent.executor",
    "bridge_agent.monitor",
    "bridge_agent.queue",
    "bridge_agent.brokers.mt5",
    "bridge_agent.brokers.paper",
    "bridge_agent.local_demo",
]
FORBIDDEN = {
    "aws_lambda_powertools",
    "jwt",
    "argon2",
    "openai",
    "pytesseract",
    "PIL",
    "reportlab",
    "moto",
    "infra",
}


def test_agent_imports_no_lambda_side_code_or_libraries():
    code = (
        "import importlib, json, sys\n"
        f"for m in {AGENT_MODULES!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    signalos = {m for m in loaded if m == "signalos" or m.startswith("signalos.")}
    assert signalos <= {"signalos", "signalos.contracts"} | {
        m for m in signalos if m.startswith("signalos.contracts.")
    }
    assert not {m.split(".")[0] for m in loaded} & FORBIDDEN
    assert "boto3" not in loaded  # imported when the queue is first used, not at start-up
