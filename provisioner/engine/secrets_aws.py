"""Reads secrets from AWS Secrets Manager and SSM Parameter Store through boto3.
Engine: the secrets stage's remote sources (the one engine module besides state_s3 that imports boto3).

Not a provider's client: a secret from Secrets Manager or SSM may feed an Auth0 action as well as a
Lambda function, so the secrets stage owns the reader. Errors keep only the SDK error's code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .errors import SecretUnavailable
from .model import SecretRef


def _aws_reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code", "")
        return f"{code or type(exc).__name__}"
    return type(exc).__name__


def aws_fetcher(region: str | None = None) -> Callable[[SecretRef], str]:
    """Reads Secrets Manager / SSM through boto3's standard credential chain (in ``region`` if given)."""

    clients: dict[str, Any] = {}

    def client(name: Any) -> Any:
        if name not in clients:
            import boto3  # deferred: keeps start-up fast for commands that need no AWS

            clients[name] = boto3.client(name, region_name=region) if region else boto3.client(name)
        return clients[name]

    def fetch(ref: SecretRef) -> str:
        try:
            return read(ref)
        except SecretUnavailable:
            raise
        except Exception as exc:  # SDK errors carry no secret values; keep only their class and code
            raise SecretUnavailable(f"cannot read {ref.describe()}: {_aws_reason(exc)}") from None

    def read(ref: SecretRef) -> str:
        if ref.source == "secretsmanager":
            answer = client("secretsmanager").get_secret_value(SecretId=ref.locator)
            text = answer.get("SecretString")
            if text is None:
                raise SecretUnavailable(f"{ref.describe()} holds binary data; hookctl needs a string")
            if ref.key is None:
                return str(text)
            try:
                data = json.loads(text)
            except ValueError:
                raise SecretUnavailable(
                    f"{ref.describe()}: the secret is not JSON, so it has no key {ref.key!r}"
                ) from None
            if not isinstance(data, dict) or ref.key not in data:
                raise SecretUnavailable(f"{ref.describe()}: no key {ref.key!r} in the secret")
            return str(data[ref.key])
        if ref.source == "ssm":
            answer = client("ssm").get_parameter(Name=ref.locator, WithDecryption=True)
            return str(answer["Parameter"]["Value"])
        raise SecretUnavailable(f"unknown secret source {ref.source!r}")

    return fetch
