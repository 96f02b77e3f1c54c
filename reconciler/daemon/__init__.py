"""The reconcile loop as a service: the loop that fires due slots, its settings, the batched status
writer, the health and metrics endpoint, the log files, and the process that holds one state dir."""
