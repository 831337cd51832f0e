"""The Qt user interface. Depends on the core; the core never imports this package."""
