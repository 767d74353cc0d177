"""Steward curation: the decision log (decisions.py) and the review queue (queue.py)."""
