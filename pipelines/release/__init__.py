"""Releases: publishing (publish), reading them (manifests), the analysts' catalogue and SQL guard, and verification."""
