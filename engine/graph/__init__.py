"""Build graphs: `StateGraph`, the `START`/`END` markers, and message-list state
(`MessagesState`, `add_messages`, `RemoveMessage`)."""

from engine.constants import END, START
from engine.graph.builder import StateGraph
from engine.graph.message import REMOVE_ALL_MESSAGES, MessagesState, RemoveMessage, add_messages

__all__ = ["StateGraph", "START", "END", "MessagesState", "add_messages", "RemoveMessage", "REMOVE_ALL_MESSAGES"]
