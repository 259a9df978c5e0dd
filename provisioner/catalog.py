"""What the platforms offer: Auth0 triggers and runtimes, Cognito trigger keys and Lambda runtimes.

Pure data; no I/O. Validation uses it to reject a trigger or runtime the
platform does not have before any API is called. Trigger *versions* are not
here on purpose: the Auth0 provider reads them from ``GET /actions/triggers``.
"""

from __future__ import annotations

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


def lambda_language(runtime: str) -> str:
    """``"node"`` or ``"python"`` for a Lambda runtime name."""
    return "python" if runtime.startswith("python") else "node"
