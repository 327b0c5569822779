"""Chat-completion providers behind one interface: simulated (offline default) and OpenAI-compatible."""
