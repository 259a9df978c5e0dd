"""Running handlers on this machine: `hookctl invoke`, `hookctl test` and `hookctl event`.
Local runs: cases and their checks, the capture server, the runner, isolation and reports.
"""
