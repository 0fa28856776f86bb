"""Each kind of API object, and what works on any kind (see docs/development.md)."""
