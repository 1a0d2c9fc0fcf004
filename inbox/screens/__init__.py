"""The inbox's screens, one module each: the main list (inbox.py) and the dialogs over it."""
