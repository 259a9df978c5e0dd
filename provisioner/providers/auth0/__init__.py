"""The Auth0 Actions provider: client.py (auth0-python calls), plan.py (pure planning), provider.py (wiring).
Provider auth0: the package; import from its modules, nothing is re-exported here.
"""
