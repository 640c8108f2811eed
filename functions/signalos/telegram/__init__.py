"""The Telegram webhook: where a signal enters SignalOS."""
