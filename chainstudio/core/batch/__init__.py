"""Dataset runs: a graph over many input rows, with evaluators, resumable state and the trade-off view."""
