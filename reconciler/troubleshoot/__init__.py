"""troubleshoot's own files: spec files of the right kind (plain or wrapped in a ConfigMap/Secret), and
the jobs `support-bundle schedule` kept, brought over as schedules."""
