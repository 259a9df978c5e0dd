"""Bringing an existing setup under management: `hookctl import` and `hookctl adopt`.
Adopt: importing.py reads the live systems, stackfile.py writes the stack, adoption.py takes ownership.
"""
