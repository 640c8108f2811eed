"""The contracts between the parts of SignalOS, defined once and imported by both sides.

- parse_result: what the signal parser returns (shared/signal-format.md, v1).
- orders: what the cloud puts on an account's FIFO queue for its bridge agent.
- execution: what the bridge agent reports back (execution reports, heartbeats).

These modules import pydantic and the standard library only: the bridge agent on a
trader's VPS imports them too.
"""
