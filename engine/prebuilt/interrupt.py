"""Moved to `engine.review.interrupt` (a leaf the checkpoint package may import); this name stays
an alias of that module, so imports, attribute access and monkeypatching all reach the same
object."""

import sys

import engine.review.interrupt as _moved

sys.modules[__name__] = _moved
