"""Kubernetes deployment of the runner: which programs a DaemonSet may run, and its manifests (`bee k8s`)."""
