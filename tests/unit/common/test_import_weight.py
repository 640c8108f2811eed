"""Cold starts: the auth and status handlers load no heavy library at import (boto3, argon2, PyJWT,
the X-Ray SDK, ...); each is imported by the route that needs it, when it needs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ["boto3", "botocore.client", "botocore.session", "argon2", "jwt", "cryptography", "openai", "PIL",
         "reportlab", "pytesseract", "aws_xray_sdk"]


@pytest.mark.parametrize("module", ["signalos.auth.handler", "signalos.status.handler"])
def test_handler_import_loads_nothing_heavy(module):
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("TRACING_ENABLED", None)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "", f"{module} imports {proc.stdout.strip()} at load time"
