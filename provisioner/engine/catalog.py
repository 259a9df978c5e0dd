"""What the platforms offer: Auth0 triggers and runtimes, Cognito trigger keys and Lambda runtimes.
Engine: reference data every stage checks against.

Pure data; no I/O. Validation uses it to reject a trigger or runtime the
platform does not have before any API is called. Trigger *versions* are not
here on purpose: the Auth0 provider reads them from ``GET /actions/triggers``.
"""

from __future__ import annotations

import re

# Auth0 Actions triggers. Source: Auth0 docs, "Actions Triggers"
# (https://auth0.com/docs/customize/actions/explore-triggers) and the
# `ActionTriggerTypeEnum` of the Management API.
AUTH0_TRIGGERS: frozenset[str] = frozenset(
    {
        "post-login",
        "credentials-exchange",
        "pre-user-registration",
        "post-user-registration",
        "post-change-password",
        "send-phone-message",
        "password-reset-post-challenge",
        "custom-email-provider",
        "custom-phone-provider",
    }
)

# Triggers the tenant marks entity-bound (`binding_policy` in GET /actions/triggers): their actions
# are attached to an entity (custom-token-exchange: a token exchange profile), not to the trigger's
# binding list, so a stack cannot bind them. auth0-deploy-cli #988/#990: listing the bindings of
# custom-token-exchange answers 400 "cannot list action bindings for an entity-bound trigger".
AUTH0_ENTITY_BOUND_TRIGGERS: frozenset[str] = frozenset({"custom-token-exchange"})

# Runtimes a stack may name. The Management API spells node18 as
# "node18-actions"; providers normalise both spellings to the stack's.
AUTH0_RUNTIMES: frozenset[str] = frozenset({"node18", "node22"})
AUTH0_DEFAULT_RUNTIME = "node22"
AUTH0_API_RUNTIME = {"node18": "node18-actions", "node22": "node22"}

# Auth0 tenant limits (Actions limitations page).
AUTH0_MAX_DEPENDENCIES = 10
AUTH0_MAX_SECRETS = 30
AUTH0_MAX_CODE_BYTES = 100 * 1024
AUTH0_MAX_BINDINGS_PER_TRIGGER = 20
AUTH0_MAX_ACTIONS = 100  # per tenant

# Cognito user pool LambdaConfig keys (botocore cognito-idp model, LambdaConfigType).
COGNITO_SIMPLE_TRIGGERS: frozenset[str] = frozenset(
    {
        "PreSignUp",
        "CustomMessage",
        "PostConfirmation",
        "PreAuthentication",
        "PostAuthentication",
        "DefineAuthChallenge",
        "CreateAuthChallenge",
        "VerifyAuthChallengeResponse",
        "PreTokenGeneration",
        "UserMigration",
    }
)
# Triggers configured as {LambdaArn, LambdaVersion}; the sender triggers also need KMSKeyID.
COGNITO_VERSIONED_TRIGGERS: dict[str, frozenset[str]] = {
    "PreTokenGeneration": frozenset({"V1_0", "V2_0", "V3_0"}),
    "CustomSMSSender": frozenset({"V1_0"}),
    "CustomEmailSender": frozenset({"V1_0"}),
    # botocore: LambdaConfigType.InboundFederation is {LambdaArn, LambdaVersion (V1_0)}.
    "InboundFederation": frozenset({"V1_0"}),
}
COGNITO_TRIGGERS: frozenset[str] = COGNITO_SIMPLE_TRIGGERS | frozenset(COGNITO_VERSIONED_TRIGGERS)
COGNITO_KMS_TRIGGERS: frozenset[str] = frozenset({"CustomSMSSender", "CustomEmailSender"})

LAMBDA_RUNTIMES: frozenset[str] = frozenset({"nodejs20.x", "nodejs22.x", "python3.12", "python3.13"})
# The runtime a function gets when its stack entry names none: the newest of the handler file's language.
LAMBDA_DEFAULT_RUNTIMES: dict[str, str] = {
    ".mjs": "nodejs22.x",
    ".js": "nodejs22.x",
    ".cjs": "nodejs22.x",
    ".py": "python3.13",
}


def lambda_language(runtime: str) -> str:
    """``"node"`` or ``"python"`` for a Lambda runtime name."""
    return "python" if runtime.startswith("python") else "node"


# Target fields. They are checked before any use (a DNS lookup, a TLS connection, a URL built
# from them), because a pull request writes the stack and the runner holds the credentials:
# `exampleco.us.auth0.com@127.0.0.1:4433` must never send the client secret to 127.0.0.1.
# An Auth0 domain is a hostname with an optional port, nothing else (no user info, path,
# query or fragment); "https://" and one trailing "/" are tolerated and dropped.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
AUTH0_DOMAIN_RE = re.compile(rf"(?:https://)?(?P<host>(?:{_LABEL}\.)*{_LABEL})(?::(?P<port>[0-9]{{1,5}}))?/?")
# AWS region names (us-east-1, us-gov-west-1, cn-north-1, eu-central-2, us-isob-east-1).
AWS_REGION_RE = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")
# botocore cognito-idp model, shape UserPoolIdType: pattern [\w-]+_[0-9a-zA-Z]+, length 1-55.
COGNITO_POOL_ID_RE = re.compile(r"[\w-]{1,40}_[0-9a-zA-Z]{1,40}", re.ASCII)


def auth0_domain(text: str) -> str | None:
    """``host`` or ``host:port`` when ``text`` is an Auth0 domain and nothing else, else ``None``."""
    match = AUTH0_DOMAIN_RE.fullmatch(text)
    if match is None or len(match.group("host")) > 253:
        return None
    port = match.group("port")
    if port is not None and not 0 < int(port) < 65536:
        return None
    return match.group("host") + (f":{port}" if port is not None else "")


def aws_region(text: str) -> bool:
    return AWS_REGION_RE.fullmatch(text) is not None


def cognito_pool_id(text: str) -> bool:
    return len(text) <= 55 and COGNITO_POOL_ID_RE.fullmatch(text) is not None


_KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d+:key/[A-Za-z0-9-]+")


def kms_key_arn(value: str) -> bool:
    """Is ``value`` the ARN of a KMS key (not an alias ARN, not a bare key id)?"""
    return _KMS_KEY_ARN.fullmatch(value) is not None
