"""The handlers: one module per command (``diagnose``, ``watch``, ``wizard``, ``plan``, ``lab``).

Each has ``run(args, env) -> exit code``; ``wizard.cli.main`` imports only the
one whose command runs.
"""
