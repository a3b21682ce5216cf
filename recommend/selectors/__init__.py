"""Reads of recommend, one module per capability."""
