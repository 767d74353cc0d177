"""PCF Factor Warehouse: ingest, validate, harmonise and publish versioned emission-factor releases."""

__version__ = "0.1.0"
