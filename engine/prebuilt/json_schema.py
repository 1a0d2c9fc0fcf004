"""Moved to `engine.review.json_schema` (a leaf the checkpoint package may import); this name stays
an alias of that module, so imports, attribute access and monkeypatching all reach the same
object."""

import sys

import engine.review.json_schema as _moved

sys.modules[__name__] = _moved
