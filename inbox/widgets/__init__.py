"""Widgets of the inbox, one module each."""
