"""make stress: the real sbsched binary under faults, load and hostile input (see docs/reliability.md)."""
