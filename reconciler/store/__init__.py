"""The state directory on disk: state.json and its lock, execution records, the audit log, daemon.pid,
the layout and its modes, and the crash-safe, link-refusing file operations all of them use. What is
stored, not what it means: the meaning lives in plan/ and timing/."""
