"""The `hookctl` command line: click commands only, each handing its work to a capability.
CLI: main.py (the group), stack.py, local.py, adopt.py, sandbox.py, and options.py they share.
"""
