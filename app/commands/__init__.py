"""Headless command-line commands (analyze, eval, watch)."""
