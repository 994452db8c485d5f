"""Differential testing of revival liveness against a real systemd (see README.md)."""
