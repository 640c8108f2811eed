"""The risk engine: where a setup is sized into orders for one account. Pure Python."""
