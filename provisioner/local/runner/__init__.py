"""The harnesses that run handlers locally (package data; see ``provisioner.local.run``).
Local runs: the harness files the runner starts (package data).

``harness.mjs`` runs Auth0 actions and Cognito Node.js handlers, with the Auth0
``api`` object from ``auth0-api.mjs``; ``harness.py`` runs Cognito Python
handlers. ``shims/`` holds hookctl's tiny *test shims* for ``axios`` and
``@slack/webhook`` — not the real packages — used only when the real ones are
not installed (``--install-deps``).
"""

import os

RUNNER_DIR = os.path.dirname(os.path.abspath(__file__))
NODE_HARNESS = os.path.join(RUNNER_DIR, "harness.mjs")
PYTHON_HARNESS = os.path.join(RUNNER_DIR, "harness.py")
SHIMS_DIR = os.path.join(RUNNER_DIR, "shims")
