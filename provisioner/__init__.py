"""hookctl: provision Auth0 Actions and Cognito Lambda triggers from a stack file."""

__version__ = "0.1.0"
