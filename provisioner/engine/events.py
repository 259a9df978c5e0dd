"""Sample trigger events: what Amazon Cognito and Auth0 hand a handler.
Engine: reference data for the handler check and for local runs.

Pure data; no I/O. ``hookctl event`` prints these, ``hookctl invoke`` and
``hookctl test`` start from them (a test case merges its overrides onto one).

Cognito: one sample per ``triggerSource``, shaped like the events Cognito
sends (the common fields ``version``, ``triggerSource``, ``region``,
``userPoolId``, ``userName``, ``callerContext {awsSdkVersion, clientId}``, then
``request`` and ``response`` as documented for each trigger in the Cognito
developer guide, "Customizing user pool workflows with Lambda triggers").
Response fields the handler may set arrive as ``null`` or with Cognito's
defaults, as they do in the real events. The AWS post authentication example's
Lambda console test event is kept verbatim under its own ``triggerSource``,
``testTrigger``.

Auth0: one sample ``event`` per Actions trigger, with the properties of the
trigger's documented event object (Auth0 docs, "Actions Triggers: <trigger> -
Event Object"). ``event.secrets`` is filled in by the runner from test values.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

# -- Cognito ------------------------------------------------------------------------------

# LambdaConfig key → the triggerSource values Cognito sends to that trigger's function.
COGNITO_TRIGGER_SOURCES: dict[str, tuple[str, ...]] = {
    "PreSignUp": ("PreSignUp_SignUp", "PreSignUp_AdminCreateUser", "PreSignUp_ExternalProvider"),
    "PostConfirmation": ("PostConfirmation_ConfirmSignUp", "PostConfirmation_ConfirmForgotPassword"),
    "PreAuthentication": ("PreAuthentication_Authentication",),
    "PostAuthentication": ("PostAuthentication_Authentication",),
    "CustomMessage": (
        "CustomMessage_SignUp",
        "CustomMessage_AdminCreateUser",
        "CustomMessage_ResendCode",
        "CustomMessage_ForgotPassword",
        "CustomMessage_UpdateUserAttribute",
        "CustomMessage_VerifyUserAttribute",
        "CustomMessage_Authentication",
    ),
    "DefineAuthChallenge": ("DefineAuthChallenge_Authentication",),
    "CreateAuthChallenge": ("CreateAuthChallenge_Authentication",),
    "VerifyAuthChallengeResponse": ("VerifyAuthChallengeResponse_Authentication",),
    "PreTokenGeneration": (
        "TokenGeneration_HostedAuth",
        "TokenGeneration_Authentication",
        "TokenGeneration_NewPasswordChallenge",
        "TokenGeneration_AuthenticateDevice",
        "TokenGeneration_RefreshTokens",
        "TokenGeneration_ClientCredentials",  # V3_0 only: machine-to-machine tokens
    ),
    "UserMigration": ("UserMigration_Authentication", "UserMigration_ForgotPassword"),
    "CustomEmailSender": (
        "CustomEmailSender_SignUp",
        "CustomEmailSender_ResendCode",
        "CustomEmailSender_ForgotPassword",
        "CustomEmailSender_UpdateUserAttribute",
        "CustomEmailSender_VerifyUserAttribute",
        "CustomEmailSender_AdminCreateUser",
        "CustomEmailSender_Authentication",
        "CustomEmailSender_AccountTakeOverNotification",
    ),
    "CustomSMSSender": (
        "CustomSMSSender_SignUp",
        "CustomSMSSender_ResendCode",
        "CustomSMSSender_ForgotPassword",
        "CustomSMSSender_UpdateUserAttribute",
        "CustomSMSSender_VerifyUserAttribute",
        "CustomSMSSender_Authentication",
        "CustomSMSSender_AdminCreateUser",
    ),
    "InboundFederation": ("InboundFederation_ExternalProvider",),
}

TRIGGER_BY_SOURCE: dict[str, str] = {
    source: trigger for trigger, sources in COGNITO_TRIGGER_SOURCES.items() for source in sources
}

# The AWS post authentication example's test event (Cognito developer guide,
# "Post authentication Lambda trigger"), verbatim: what the Lambda console
# sends when the example is tested there. It is not a complete Cognito event.
SEED_TEST_TRIGGER = "testTrigger"
SEED_POST_AUTHENTICATION_EVENT: dict[str, Any] = {
    "triggerSource": "testTrigger",
    "userPoolId": "testPool",
    "userName": "testName",
    "callerContext": {"clientId": "12345"},
    "response": {},
}

DEFAULT_REGION = "us-east-1"
DEFAULT_CLIENT_ID = "1example23456789abcdefghij"
SDK_VERSION = "aws-sdk-unknown-unknown"  # what Cognito reports for calls not made through an AWS SDK
EXAMPLE_SUB = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
EXAMPLE_EMAIL = "jane.doe@example.com"
EXAMPLE_PHONE = "+12065550100"
# KMS-encrypted codes are opaque base64 blobs; this one decrypts to nothing.
EXAMPLE_ENCRYPTED_CODE = "AYADeD0hkdxiv1yHsEXAMPLEAAQAVYXdzLWNyeXB0by1wdWJsaWMta2V5AERBcmJzSkVYQU1QTEU="


def cognito_trigger_sources(trigger: str | None = None) -> tuple[str, ...]:
    """Every triggerSource, or those of one LambdaConfig key."""
    if trigger is None:
        return tuple(TRIGGER_BY_SOURCE)
    return COGNITO_TRIGGER_SOURCES.get(trigger, ())


def event_version(lambda_version: str | None) -> str:
    """The event's ``version`` field for a LambdaConfig ``LambdaVersion`` (``V2_0`` → ``"2"``)."""
    if not lambda_version:
        return "1"
    return lambda_version.removeprefix("V").split("_", 1)[0] or "1"


def cognito_event(
    trigger_source: str,
    *,
    lambda_version: str | None = None,
    region: str | None = None,
    user_pool_id: str | None = None,
    client_id: str | None = None,
    user_name: str | None = None,
) -> dict[str, Any]:
    """A sample event for ``trigger_source`` (a fresh, mutable dictionary).

    ``lambda_version`` selects the PreTokenGeneration event version
    (``V1_0``, ``V2_0``, ``V3_0``). Raises ``KeyError`` for an unknown source.
    """
    if trigger_source == SEED_TEST_TRIGGER:
        return copy.deepcopy(SEED_POST_AUTHENTICATION_EVENT)
    trigger = TRIGGER_BY_SOURCE[trigger_source]
    kind = trigger_source.split("_", 1)[1]
    region = region or DEFAULT_REGION
    version = event_version(lambda_version)
    if trigger_source == "TokenGeneration_ClientCredentials" and version in ("1", "2"):
        version = "3"  # Cognito sends this source only to V3_0 functions
    request, response = _COGNITO_BUILDERS[trigger](kind, version)
    caller_client = client_id or DEFAULT_CLIENT_ID
    if trigger_source in ("PreSignUp_AdminCreateUser", "CustomMessage_AdminCreateUser"):
        caller_client = client_id or "CLIENT_ID_NOT_APPLICABLE"
    event: dict[str, Any] = {
        "version": version,
        "triggerSource": trigger_source,
        "region": region,
        "userPoolId": user_pool_id or f"{region}_EXAMPLE",
        "userName": user_name or _user_name(trigger_source),
        "callerContext": {"awsSdkVersion": SDK_VERSION, "clientId": caller_client},
        "request": request,
        "response": response,
    }
    return event


def _user_name(trigger_source: str) -> str:
    if trigger_source == "PreSignUp_ExternalProvider" or trigger_source.startswith("InboundFederation"):
        return "google_107453421569427345567"
    if trigger_source.startswith("PreSignUp") or trigger_source.startswith("UserMigration"):
        return "janedoe"
    if trigger_source == "TokenGeneration_ClientCredentials":
        return ""
    return EXAMPLE_SUB


def _signup_attributes() -> dict[str, str]:
    return {"email": EXAMPLE_EMAIL, "phone_number": EXAMPLE_PHONE, "name": "Jane Doe"}


def _user_attributes(confirmed: bool = True) -> dict[str, str]:
    """A stored user's attributes, as Cognito passes them (every value a string)."""
    return {
        "sub": EXAMPLE_SUB,
        "email_verified": "true",
        "cognito:user_status": "CONFIRMED" if confirmed else "UNCONFIRMED",
        "email": EXAMPLE_EMAIL,
        "phone_number_verified": "false",
        "phone_number": EXAMPLE_PHONE,
        "name": "Jane Doe",
    }


Built = tuple[dict[str, Any], dict[str, Any]]


def _pre_sign_up(kind: str, version: str) -> Built:
    attributes = _signup_attributes()
    if kind == "ExternalProvider":
        attributes = {"email": EXAMPLE_EMAIL, "name": "Jane Doe"}
    request = {"userAttributes": attributes, "validationData": {}, "clientMetadata": {}}
    return request, {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}


def _post_confirmation(kind: str, version: str) -> Built:
    return {"userAttributes": _user_attributes(), "clientMetadata": {}}, {}


def _pre_authentication(kind: str, version: str) -> Built:
    return {"userAttributes": _user_attributes(), "userNotFound": False, "validationData": {}}, {}


def _post_authentication(kind: str, version: str) -> Built:
    return {"userAttributes": _user_attributes(), "newDeviceUsed": False, "clientMetadata": {}}, {}


def _custom_message(kind: str, version: str) -> Built:
    request: dict[str, Any] = {
        "userAttributes": _user_attributes(confirmed=kind not in ("SignUp", "ResendCode", "AdminCreateUser")),
        "codeParameter": "{####}",
        "linkParameter": "{##Click Here##}",
        "usernameParameter": "{username}" if kind == "AdminCreateUser" else None,
        "clientMetadata": {},
    }
    return request, {"smsMessage": None, "emailMessage": None, "emailSubject": None}


def _define_auth_challenge(kind: str, version: str) -> Built:
    request = {"userAttributes": _user_attributes(), "session": [], "clientMetadata": {}, "userNotFound": False}
    return request, {"challengeName": None, "issueTokens": None, "failAuthentication": None}


def _create_auth_challenge(kind: str, version: str) -> Built:
    request = {
        "userAttributes": _user_attributes(),
        "challengeName": "CUSTOM_CHALLENGE",
        "session": [],
        "clientMetadata": {},
        "userNotFound": False,
    }
    return request, {"publicChallengeParameters": None, "privateChallengeParameters": None, "challengeMetadata": None}


def _verify_auth_challenge(kind: str, version: str) -> Built:
    request = {
        "userAttributes": _user_attributes(),
        "privateChallengeParameters": {"answer": "5"},
        "challengeAnswer": "5",
        "clientMetadata": {},
        "userNotFound": False,
    }
    return request, {"answerCorrect": None}


def _pre_token_generation(kind: str, version: str) -> Built:
    attributes = {} if kind == "ClientCredentials" else _user_attributes()
    request: dict[str, Any] = {
        "userAttributes": attributes,
        "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": None},
        "clientMetadata": {},
    }
    if version == "1":
        return request, {"claimsOverrideDetails": None}
    # V2_0 and V3_0 add the requested scopes and answer for both tokens at once.
    if kind == "ClientCredentials":
        request["scopes"] = ["example.com/read"]
    else:
        request["scopes"] = ["openid", "email", "phone", "aws.cognito.signin.user.admin"]
    return request, {"claimsAndScopeOverrideDetails": None}


def _user_migration(kind: str, version: str) -> Built:
    request: dict[str, Any] = {"validationData": {}, "clientMetadata": {}}
    if kind == "Authentication":
        request = {"password": "correct horse battery staple", **request}
    response = {
        "userAttributes": None,
        "forceAliasCreation": None,
        "enableSMSMFA": None,
        "finalUserStatus": None,
        "messageAction": None,
        "desiredDeliveryMediums": None,
    }
    return request, response


def _custom_sender(channel: str) -> Any:
    def build(kind: str, version: str) -> Built:
        code: str | None = EXAMPLE_ENCRYPTED_CODE
        attributes: dict[str, str] = _user_attributes(confirmed=kind not in ("SignUp", "ResendCode"))
        if kind == "AccountTakeOverNotification":
            code = None
            attributes = {
                "EVENT_ID": "2b4d1f0a-5e8c-4c3b-9a7d-EXAMPLE22222",
                "USER_NAME": "janedoe",
                "IP_ADDRESS": "192.0.2.10",
                "ACCOUNT_TAKE_OVER_ACTION": "BLOCK",
                "ONE_CLICK_LINK_VALID": "https://example.com/valid",
                "ONE_CLICK_LINK_INVALID": "https://example.com/invalid",
                "LOGIN_TIME": "2025-01-01T12:00:00Z",
                "FEEDBACK_TOKEN": "EXAMPLE-FEEDBACK-TOKEN",
                "CITY": "Seattle",
                "COUNTRY": "United States",
                "DEVICE_NAME": "Chrome on Windows",
            }
        request = {
            "type": f"custom{channel}SenderRequestV1",
            "code": code,
            "clientMetadata": {},
            "userAttributes": attributes,
        }
        return request, {}

    return build


def _inbound_federation(kind: str, version: str) -> Built:
    request = {
        "providerName": "Google",
        "providerType": "Google",
        "attributes": {
            "tokenResponse": {"token_type": "Bearer", "expires_in": "3599", "scope": "openid email profile"},
            "idToken": {"sub": "107453421569427345567", "email": EXAMPLE_EMAIL, "email_verified": "true"},
            "userInfo": {"email": EXAMPLE_EMAIL, "name": "Jane Doe", "picture": "https://example.com/jane.png"},
        },
    }
    return request, {"userAttributesToMap": {}}


_COGNITO_BUILDERS: dict[str, Any] = {
    "PreSignUp": _pre_sign_up,
    "PostConfirmation": _post_confirmation,
    "PreAuthentication": _pre_authentication,
    "PostAuthentication": _post_authentication,
    "CustomMessage": _custom_message,
    "DefineAuthChallenge": _define_auth_challenge,
    "CreateAuthChallenge": _create_auth_challenge,
    "VerifyAuthChallengeResponse": _verify_auth_challenge,
    "PreTokenGeneration": _pre_token_generation,
    "UserMigration": _user_migration,
    "CustomEmailSender": _custom_sender("Email"),
    "CustomSMSSender": _custom_sender("SMS"),
    "InboundFederation": _inbound_federation,
}


# -- Auth0 --------------------------------------------------------------------------------

# Trigger → the handler the action must export.
AUTH0_HANDLERS: dict[str, str] = {
    "post-login": "onExecutePostLogin",
    "credentials-exchange": "onExecuteCredentialsExchange",
    "pre-user-registration": "onExecutePreUserRegistration",
    "post-user-registration": "onExecutePostUserRegistration",
    "post-change-password": "onExecutePostChangePassword",
    "send-phone-message": "onExecuteSendPhoneMessage",
    "password-reset-post-challenge": "onExecutePostChallenge",
    "custom-email-provider": "onExecuteCustomEmailProvider",
    "custom-phone-provider": "onExecuteCustomPhoneProvider",
}

# Triggers whose api and event hookctl models from the documentation; the
# others get the common event properties and an api with only api.cache.
AUTH0_MODELLED_TRIGGERS = frozenset(
    {"post-login", "credentials-exchange", "pre-user-registration", "post-user-registration", "post-change-password"}
)

# Auth0 ends a flow's execution after 20 seconds (Actions limitations).
AUTH0_TIME_LIMIT_MS = 20_000

EXAMPLE_TENANT = "example-tenant"


def _geoip() -> dict[str, Any]:
    return {
        "cityName": "Seattle",
        "continentCode": "NA",
        "countryCode": "US",
        "countryCode3": "USA",
        "countryName": "United States of America",
        "latitude": 47.6062,
        "longitude": -122.3321,
        "subdivisionCode": "WA",
        "subdivisionName": "Washington",
        "timeZone": "America/Los_Angeles",
    }


def _request(method: str, tenant: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "geoip": _geoip(),
        "hostname": f"{tenant}.us.auth0.com",
        "ip": "192.0.2.10",
        "language": "en",
        "method": method,
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0",
    }
    if body is not None:
        request["body"] = dict(body)
    return request


def _client() -> dict[str, Any]:
    return {"client_id": "AbCdEfGhIjKlMnOpQrStUvWxYz012345", "name": "Example App", "metadata": {}}


def _connection() -> dict[str, Any]:
    return {
        "id": "con_EXAMPLE1234567890",
        "name": "Username-Password-Authentication",
        "strategy": "auth0",
        "metadata": {},
    }


def _transaction() -> dict[str, Any]:
    return {
        "acr_values": [],
        "locale": "en",
        "protocol": "oidc-basic-profile",
        "redirect_uri": "https://app.example.com/callback",
        "requested_scopes": ["openid", "profile", "email"],
        "response_mode": "query",
        "response_type": ["code"],
        "state": "EXAMPLE-STATE",
        "ui_locales": ["en"],
    }


def _stored_user() -> dict[str, Any]:
    return {
        "user_id": "auth0|64f1c0ffee0123456789abcd",
        "email": EXAMPLE_EMAIL,
        "email_verified": False,
        "username": "janedoe",
        "name": "Jane Doe",
        "given_name": "Jane",
        "family_name": "Doe",
        "nickname": "jane.doe",
        "phone_number": EXAMPLE_PHONE,
        "phone_verified": False,
        "picture": "https://s.gravatar.com/avatar/example.png",
        "created_at": "2025-01-01T12:00:00.000Z",
        "updated_at": "2025-01-01T12:00:00.000Z",
        "last_password_reset": None,
        "identities": [
            {
                "connection": "Username-Password-Authentication",
                "isSocial": False,
                "provider": "auth0",
                "user_id": "64f1c0ffee0123456789abcd",
            }
        ],
        "app_metadata": {},
        "user_metadata": {},
    }


def auth0_event(trigger: str, *, tenant: str | None = None) -> dict[str, Any]:
    """A sample ``event`` for an Auth0 Actions trigger (a fresh, mutable dictionary)."""
    tenant = tenant or EXAMPLE_TENANT
    if trigger == "pre-user-registration":
        return {
            "client": _client(),
            "connection": _connection(),
            "request": _request(
                "POST", tenant, {"email": EXAMPLE_EMAIL, "connection": "Username-Password-Authentication"}
            ),
            "security_context": {
                "ja3": "773906b0efdefa24a7f2b8eb6985bf37",
                "ja4": "t13d1516h2_8daaf6152771_02713d6af862",
            },
            "tenant": {"id": tenant},
            "transaction": _transaction(),
            "user": {
                "email": EXAMPLE_EMAIL,
                "username": "janedoe",
                "name": "Jane Doe",
                "given_name": "Jane",
                "family_name": "Doe",
                "nickname": "jane.doe",
                "phone_number": EXAMPLE_PHONE,
                "picture": "https://s.gravatar.com/avatar/example.png",
                "app_metadata": {},
                "user_metadata": {},
            },
        }
    if trigger == "post-user-registration":
        return {
            "connection": _connection(),
            "request": _request("POST", tenant),
            "tenant": {"id": tenant},
            "transaction": _transaction(),
            "user": _stored_user(),
        }
    if trigger == "post-login":
        user = _stored_user()
        user["email_verified"] = True
        return {
            "authentication": {"methods": [{"name": "pwd", "timestamp": "2025-01-01T12:00:00.000Z"}]},
            "authorization": {"roles": []},
            "client": _client(),
            "connection": _connection(),
            "organization": None,
            "request": {**_request("GET", tenant), "query": {"scope": "openid profile email"}},
            "resource_server": {"identifier": "https://api.example.com"},
            "session": {"id": "EXAMPLE-SESSION-ID"},
            "stats": {"logins_count": 5},
            "tenant": {"id": tenant},
            "transaction": _transaction(),
            "user": user,
        }
    if trigger == "credentials-exchange":
        return {
            "accessToken": {"customClaims": {}, "scope": ["read:users"]},
            "client": _client(),
            "request": _request(
                "POST",
                tenant,
                {"grant_type": "client_credentials", "audience": "https://api.example.com"},
            ),
            "resource_server": {"identifier": "https://api.example.com"},
            "tenant": {"id": tenant},
            "transaction": {"requested_scopes": ["read:users"]},
        }
    if trigger == "post-change-password":
        return {
            "connection": _connection(),
            "request": _request("POST", tenant),
            "tenant": {"id": tenant},
            "user": _stored_user(),
        }
    # Triggers hookctl does not model in detail: the common properties only.
    return {"request": _request("POST", tenant), "tenant": {"id": tenant}, "user": _stored_user()}


# -- helpers --------------------------------------------------------------------------------


def merge(base: Any, overrides: Any) -> Any:
    """``overrides`` deep-merged onto ``base``: mappings merge key by key, anything else replaces."""
    if isinstance(base, Mapping) and isinstance(overrides, Mapping):
        merged = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in overrides.items():
            merged[key] = merge(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    return copy.deepcopy(overrides)


def unset(document: dict[str, Any], paths: Iterable[str]) -> None:
    """Remove dotted ``paths`` (``request.userAttributes.phone_number``) from ``document`` in place."""
    for path in paths:
        node: Any = document
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(parts[-1], None)
