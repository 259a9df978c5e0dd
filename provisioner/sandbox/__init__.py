"""Local sandbox: the Auth0 Management API emulator and moto, on loopback."""
