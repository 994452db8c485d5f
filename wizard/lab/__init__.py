"""The nspawn lab: a real systemd booted in a container, and its scenarios."""
