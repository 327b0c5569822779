"""The headless core: graph model, file format, validation, layering and execution. Never imports Qt."""
