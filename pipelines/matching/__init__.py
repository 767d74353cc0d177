"""Which factor an activity line gets: the matcher over a release (lines) and the one precedence rule (selection)."""
