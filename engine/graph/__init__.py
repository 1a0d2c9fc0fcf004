"""Build graphs: `StateGraph`, and the `START`/`END` markers."""

from engine.constants import END, START
from engine.graph.builder import StateGraph

__all__ = ["StateGraph", "START", "END"]
