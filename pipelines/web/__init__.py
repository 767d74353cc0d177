"""The web service platform (docs/web.md)."""
