"""SignalOS bridge agent (`signalos-bridge`): executes SignalOS orders on MetaTrader 5 (or a paper broker).

Runs on the trader's Windows VPS next to the MT5 terminal. Depends only on boto3, requests and
pydantic (+ MetaTrader5/keyring on Windows) and the pure contracts in `signalos.contracts`.
"""

__version__ = "0.1.0"
