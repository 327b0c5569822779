"""The command-line front end on the core. Each subcommand is a module here with ``register(subparsers)``."""
