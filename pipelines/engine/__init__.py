"""Footprint engine: product systems as a sparse technology matrix, solved for every product at once."""
