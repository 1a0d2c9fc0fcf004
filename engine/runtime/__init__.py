"""The superstep runtime behind compiled graphs."""
