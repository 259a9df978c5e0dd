"""``python -m provisioner.sandbox.auth0``: run the Auth0 Management API emulator on 127.0.0.1.
Sandbox: the Auth0 emulator's entry point (options in :mod:`.cli`).
"""

import sys

from .cli import main

sys.exit(main())
