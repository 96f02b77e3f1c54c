"""Kubernetes as the engine: a ScheduleSet rendered into CronJobs (`export kubernetes`), server-side
applied and pruned by label (`apply/diff --target kubernetes`), and the pod side (`run --from-configmap`).

  names.py        labels, object names, the prune selector (pure)
  configmap.py    one schedule packed into a ConfigMap, and unpacked in the pod (pure)
  render.py       the objects: CronJob, ConfigMap, ServiceAccount and RBAC per set (pure)
  inputs.py       what rendering needs from disk: spec files, and the accesses their collectors need
  plan.py         desired objects against the cluster's: create / update / delete / no-op (pure)
  cluster.py      the API calls: label-selected lists, server-side apply (dry run too), deletes
  runner.py       `sbsched run --from-configmap`: one execution in the pod, like the host's
"""
