"""hookctl: provision Auth0 Actions and Cognito Lambda triggers from a stack file.
hookctl: the package root; capabilities live in cli/, engine/, providers/, local/, adopt/ and sandbox/.
"""

__version__ = "0.1.0"
