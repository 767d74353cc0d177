"""Exports out of the warehouse: the national factor package, PACT product footprints, openLCA JSON-LD."""
