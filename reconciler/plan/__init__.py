"""Desired against stored: the plan (create / update / delete / no-op), the state transitions it and
each run make, `apply` and suspend/resume under the lock, and the views `list` and `status` show."""
