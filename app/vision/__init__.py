"""Perception: frames in, expression readings out. Plain Python, no Qt widgets."""
