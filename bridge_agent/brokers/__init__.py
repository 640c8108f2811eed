"""Broker adapters: MetaTrader 5 (`mt5.Mt5Broker`) and a paper broker (`paper.PaperBroker`), one interface."""
