"""ILCD 1.1 archives (the TianGong LCA open database and the like) into the warehouse: read, validate, map, solve (docs/ilcd.md)."""
