"""The Flower ClientApp of the app's FAB: the installed :mod:`registry.flower.client_app` (the same code the FLEP
executor runs beside a SuperNode)."""

from registry.flower.client_app import app

__all__ = ["app"]
