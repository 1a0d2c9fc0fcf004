"""An embedded graph runtime with LangGraph's human-in-the-loop semantics.

Programs written for LangGraph port by changing the import prefix `langgraph` to `engine`.
"""

__version__ = "0.1.0"
