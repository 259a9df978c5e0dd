"""Provider clients: thin, typed wrappers around the Auth0 and AWS SDKs."""
