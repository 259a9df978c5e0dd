"""The shipped template library (installed as provisioner.templates)."""
