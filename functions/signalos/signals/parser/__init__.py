"""The rules parser: text in, parse result (signalos.contracts.parse_result) out. Pure Python."""
