"""Enterprise on-site (primary) data: collection template, intake, allocation, restricted store."""
