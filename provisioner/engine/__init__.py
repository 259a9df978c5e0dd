"""The engine: the pipeline's stages and the core data they pass on.
Engine: load, render, secrets, package, diff, plan, apply (execute), state, output; pipeline.py runs them.
"""
