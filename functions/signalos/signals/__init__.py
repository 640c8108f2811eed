"""Signals: parsing (rules, LLM, OCR), providers and the signals API."""
