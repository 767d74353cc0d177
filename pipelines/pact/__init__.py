"""PACT data exchange: official schemas, documents v2.3 and v3.0, the host, its clients and grants."""
