"""One execution of a schedule: the executor drives collect, redact, analyze, archive, encrypt, then
delivery (upload, webhooks, retention); and the RBAC preflight of what the collectors will ask for."""
