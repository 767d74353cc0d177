"""Product carbon footprint certification: applications through the five steps, certificates, surveillance (docs/certification.md)."""
