"""The example stacks, shipped inside the package as ``provisioner.examples`` (``hookctl demo`` uses them).

This file only makes the folder a package for the wheel; hookctl reads the YAML files, never this.
"""
