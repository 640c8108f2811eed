"""SignalOS: the code that runs in AWS Lambda (one package shared by every function)."""

# The one place the version is written: pyproject.toml reads it, /version reports it.
__version__ = "0.1.0"
