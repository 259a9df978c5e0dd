"""``python -m provisioner.sandbox.auth0``: run the Auth0 Management API emulator on 127.0.0.1.
Sandbox capability: the emulator's command line (options in ``server.main``)."""

import sys

from .server import main

sys.exit(main())
