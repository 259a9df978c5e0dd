"""The local sandbox: an emulated Auth0 tenant and a moto AWS endpoint, on 127.0.0.1 only.
Sandbox: the runner behind `hookctl sandbox` and `make demo`.

``Sandbox.start()`` brings up the project's Auth0 Management API emulator
(HTTPS with a throwaway CA) and moto's server, seeds a Cognito user pool that
has settings of its own (password policy, auto-verified email, a tag, a
custom attribute) and two more plain pools (for stacks that send one trigger
to different functions in different pools), and returns the environment a
shell or the pipeline needs.
With a ``state_dir`` the tenant and the pool are saved on ``stop()`` and
restored on the next ``start()``, so a stopped sandbox comes back as it was.
"""

from __future__ import annotations

import json
import os
import pickle
import secrets as _random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .auth0.config import EmulatorConfig
from .auth0.server import Auth0Emulator
from .awsmodel import SETTLE_PATH, AwsBehaviours, ModelledMotoServer

REGION = "us-east-1"
# Auth0 builds take seconds (30-45 s have been seen with dependencies; the builder gives up at 5 min,
# https://github.com/auth0/terraform-provider-auth0/pull/1616). The sandbox builds this long unless
# $HOOKCTL_SANDBOX_BUILD_SECONDS says otherwise (the test suite shortens it).
SANDBOX_BUILD_SECONDS = 3.0
BUILD_SECONDS_ENV = "HOOKCTL_SANDBOX_BUILD_SECONDS"


def sandbox_build_seconds() -> float:
    raw = os.environ.get(BUILD_SECONDS_ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else SANDBOX_BUILD_SECONDS
    except ValueError:
        return SANDBOX_BUILD_SECONDS


def sandbox_auth0_config() -> EmulatorConfig:
    """The sandbox's tenant: realistic build times (the emulator's own default is instant)."""
    return EmulatorConfig(build_seconds=sandbox_build_seconds())


POOL_NAME = "hookctl-sandbox"
# The variables the sandbox exports its pools' ids in (moto makes the ids up), in seeding order.
POOL_VARIABLES = ("HOOKCTL_SANDBOX_POOL_ID", "HOOKCTL_SANDBOX_POOL_ID_2", "HOOKCTL_SANDBOX_POOL_ID_3")
# moto keeps everything in per-service backends; these are the ones hookctl touches.
MOTO_SERVICES = ("cognitoidp", "awslambda", "iam", "secretsmanager", "ssm", "s3", "sts", "kms")


@dataclass
class Sandbox:
    state_dir: Path | None = None
    region: str = REGION
    auth0_config: EmulatorConfig = field(default_factory=sandbox_auth0_config)
    # Real AWS behaviours in front of moto (awsmodel.py): all on unless switched off.
    aws_behaviours: AwsBehaviours = field(default_factory=AwsBehaviours.from_environment)
    auth0: Auth0Emulator | None = None
    pool_id: str = ""
    more_pool_ids: tuple[str, ...] = ()
    _moto: Any = None
    _endpoint: str = ""

    def start(self) -> Sandbox:
        # Real accounts have AWS managed policies (AWSLambdaBasicExecutionRole); moto loads
        # them only when asked, before its IAM backend is first used.
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        auth0_dir = self.state_dir / "auth0" if self.state_dir else None
        if auth0_dir is not None:
            auth0_dir.mkdir(parents=True, exist_ok=True)
        self.auth0 = Auth0Emulator(self.auth0_config, state_dir=auth0_dir).start()
        restored = self._restore_aws()
        quiet_moto_logs()
        self._moto = ModelledMotoServer(self.aws_behaviours).start()
        host, port = self._moto.get_host_and_port()
        self._endpoint = f"http://{host}:{port}"
        if not restored:
            # moto's backends live for the whole process: a new sandbox starts from an empty account.
            import urllib.request

            # The reset reloads IAM's managed policies: about a second of CPU, which took over 10 s
            # on a loaded 2-core machine running the test suite in parallel. The timeout only
            # guards against a hang.
            urllib.request.urlopen(
                urllib.request.Request(f"{self._endpoint}/moto-api/reset", method="POST"), timeout=120
            )
            self.pool_id = self._seed_pool()
            idp = self.boto3_client("cognito-idp")
            self.more_pool_ids = tuple(
                str(idp.create_user_pool(PoolName=f"{POOL_NAME}-{n}")["UserPool"]["Id"])
                for n in range(2, len(POOL_VARIABLES) + 1)
            )
        return self

    def stop(self) -> None:
        try:
            if self.state_dir is not None and self._moto is not None:
                self._save_aws()
        finally:
            if self._moto is not None:
                self._moto.stop()
                self._moto = None
            if self.auth0 is not None:
                self.auth0.stop()  # saves the tenant into its state_dir
                self.auth0 = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def settle(self) -> None:
        """Let every role propagate and every function finish its update now (set-up done by hand)."""
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self._endpoint}{SETTLE_PATH}", method="POST"), timeout=10)

    def environment(self) -> dict[str, str]:
        """What to export so hookctl (or any AWS / httpx program) talks to the sandbox."""
        assert self.auth0 is not None, "the sandbox is not running"
        return {
            "AUTH0_DOMAIN": self.auth0.domain,
            "AUTH0_CLIENT_ID": self.auth0.client_id,
            "AUTH0_CLIENT_SECRET": self.auth0.client_secret,
            # The emulator's CA for every client: httpx/OpenSSL, requests, and Node.js (which adds it).
            "SSL_CERT_FILE": str(self.auth0.ca_file),
            "REQUESTS_CA_BUNDLE": str(self.auth0.ca_file),
            "NODE_EXTRA_CA_CERTS": str(self.auth0.ca_file),
            "AWS_ENDPOINT_URL": self._endpoint,
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **dict(zip(POOL_VARIABLES, (self.pool_id, *self.more_pool_ids), strict=False)),
        }

    def boto3_client(self, service: Any) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self._endpoint,
            region_name=self.region,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )

    def _seed_pool(self) -> str:
        return seed_pool(self.boto3_client("cognito-idp"))

    # moto has no persistence of its own; its backends are plain Python objects, so the
    # sandbox pickles the ones hookctl uses. Only sandbox data lives there (no real secrets).
    def _save_aws(self) -> None:
        assert self.state_dir is not None
        import moto.backends as backends

        _register_key_pickling()
        snapshot = {name: backends.get_backend(name) for name in MOTO_SERVICES}  # type: ignore[call-overload]
        path = self.state_dir / "aws.pickle"
        tmp = path.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as fh:
                pickle.dump(snapshot, fh)
            os.replace(tmp, path)
        except Exception as exc:  # an unpicklable backend object: keep Auth0, say so
            tmp.unlink(missing_ok=True)
            (self.state_dir / "aws.error").write_text(f"could not save the AWS side: {type(exc).__name__}: {exc}\n")
            return
        (self.state_dir / "sandbox.json").write_text(
            json.dumps({"pool_id": self.pool_id, "more_pool_ids": list(self.more_pool_ids), "region": self.region})
        )

    def _restore_aws(self) -> bool:
        if self.state_dir is None:
            return False
        path = self.state_dir / "aws.pickle"
        meta = self.state_dir / "sandbox.json"
        if not (path.exists() and meta.exists()):
            return False
        import moto.backends as backends

        _register_key_pickling()
        with open(path, "rb") as fh:
            snapshot = pickle.load(fh)
        for name, backend in snapshot.items():
            live = backends.get_backend(name)
            live.clear()
            live.update(backend)
        saved = json.loads(meta.read_text())
        self.pool_id = str(saved["pool_id"])
        self.more_pool_ids = tuple(str(p) for p in saved.get("more_pool_ids", ()))
        return True


def seed_pool(idp: Any) -> str:
    """The sandbox's user pool: settings of its own that an apply must keep."""
    pool = idp.create_user_pool(
        PoolName=POOL_NAME,
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 12,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": False,
                "TemporaryPasswordValidityDays": 3,
            }
        },
        AutoVerifiedAttributes=["email"],
        Schema=[{"Name": "domain", "AttributeDataType": "String", "Mutable": True}],
        UserPoolTags={"team": "identity", "created-by": "hookctl-sandbox"},
        MfaConfiguration="OFF",
    )
    return str(pool["UserPool"]["Id"])


def _load_private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(pem, password=None)


def _register_key_pickling() -> None:
    """moto's Cognito backend keeps an RSA key (to sign tokens); pickle it as PEM."""
    import copyreg

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)

    def reduce(k: Any) -> Any:
        pem = k.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return (_load_private_key, (pem,))

    copyreg.pickle(type(key), reduce)


def quiet_moto_logs() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def new_secret() -> str:
    return _random.token_urlsafe(24)
