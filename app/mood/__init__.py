"""Mood voting over time: readings in, a steady mood out. Plain Python, no Qt."""
