"""Jinja2 templates for the files staydown writes (see README.md here)."""
