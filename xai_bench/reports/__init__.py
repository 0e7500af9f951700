"""Self-contained HTML comparison reports."""

from .render import render_report

__all__ = ["render_report"]
