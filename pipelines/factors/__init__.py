"""The factor pipeline: the canonical record (schema), stage -> validate -> harmonise (warehouse), expectation suites, freshness, and what changed between factor tables."""
