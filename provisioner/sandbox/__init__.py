"""Local sandbox: the Auth0 Management API emulator and moto, on loopback.
Sandbox: the emulator, the AWS behaviour layer, the sandbox runner and the demo.
"""
