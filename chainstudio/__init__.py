"""ChainStudio: design chains of LLM calls and watch them run on a live Gantt chart."""

__version__ = "0.1.0"
