"""The manifest, schedules.yaml: read and placed at FILE:LINE:COL (load), checked against the schema,
normalized into complete specs, and edited in place by the imperative verbs."""
