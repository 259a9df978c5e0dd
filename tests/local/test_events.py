"""Sample events: every Cognito triggerSource shaped like Cognito's, the Auth0 triggers like Auth0's."""

from __future__ import annotations

import pytest

from provisioner.engine import catalog, events

# The documented shape of each trigger's event (Cognito developer guide, one page per
# trigger): request fields that are always sent, and the response fields.
REQUEST_KEYS: dict[str, set[str]] = {
    "PreSignUp": {"userAttributes", "validationData", "clientMetadata"},
    "PostConfirmation": {"userAttributes", "clientMetadata"},
    "PreAuthentication": {"userAttributes", "validationData"},
    "PostAuthentication": {"userAttributes", "newDeviceUsed", "clientMetadata"},
    "CustomMessage": {"userAttributes", "codeParameter", "usernameParameter", "clientMetadata"},
    "DefineAuthChallenge": {"userAttributes", "session", "clientMetadata"},
    "CreateAuthChallenge": {"userAttributes", "challengeName", "session", "clientMetadata"},
    "VerifyAuthChallengeResponse": {
        "userAttributes",
        "privateChallengeParameters",
        "challengeAnswer",
        "clientMetadata",
    },
    "PreTokenGeneration": {"userAttributes", "groupConfiguration", "clientMetadata"},
    "UserMigration": {"validationData", "clientMetadata"},
    "CustomEmailSender": {"type", "code", "clientMetadata", "userAttributes"},
    "CustomSMSSender": {"type", "code", "clientMetadata", "userAttributes"},
    "InboundFederation": {"providerName", "providerType", "attributes"},
}
RESPONSE_KEYS: dict[str, set[str]] = {
    "PreSignUp": {"autoConfirmUser", "autoVerifyEmail", "autoVerifyPhone"},
    "PostConfirmation": set(),
    "PreAuthentication": set(),
    "PostAuthentication": set(),
    "CustomMessage": {"smsMessage", "emailMessage", "emailSubject"},
    "DefineAuthChallenge": {"challengeName", "issueTokens", "failAuthentication"},
    "CreateAuthChallenge": {"publicChallengeParameters", "privateChallengeParameters", "challengeMetadata"},
    "VerifyAuthChallengeResponse": {"answerCorrect"},
    "PreTokenGeneration": {"claimsOverrideDetails"},
    "UserMigration": {
        "userAttributes",
        "finalUserStatus",
        "messageAction",
        "desiredDeliveryMediums",
        "forceAliasCreation",
        "enableSMSMFA",
    },
    "CustomEmailSender": set(),
    "CustomSMSSender": set(),
    "InboundFederation": {"userAttributesToMap"},
}
COMMON = {"version", "triggerSource", "region", "userPoolId", "userName", "callerContext", "request", "response"}


def test_trigger_sources__every_cognito_trigger__has_its_sources() -> None:
    assert set(events.COGNITO_TRIGGER_SOURCES) == set(catalog.COGNITO_TRIGGERS)
    assert len(events.TRIGGER_BY_SOURCE) == sum(len(s) for s in events.COGNITO_TRIGGER_SOURCES.values())
    assert events.cognito_trigger_sources("PreSignUp") == (
        "PreSignUp_SignUp",
        "PreSignUp_AdminCreateUser",
        "PreSignUp_ExternalProvider",
    )


@pytest.mark.parametrize("source", sorted(events.TRIGGER_BY_SOURCE))
def test_cognito_event__every_trigger_source__shaped_like_cognitos(source: str) -> None:
    trigger = events.TRIGGER_BY_SOURCE[source]
    event = events.cognito_event(source, region="eu-west-1", user_pool_id="eu-west-1_AbC", client_id="c1")
    assert set(event) == COMMON
    assert event["triggerSource"] == source
    assert event["region"] == "eu-west-1"
    assert event["userPoolId"] == "eu-west-1_AbC"
    assert isinstance(event["userName"], str)
    assert set(event["callerContext"]) == {"awsSdkVersion", "clientId"}
    assert event["callerContext"]["clientId"] == "c1"
    assert REQUEST_KEYS[trigger] <= set(event["request"])
    expected_response = RESPONSE_KEYS[trigger]
    if trigger == "PreTokenGeneration" and event["version"] != "1":
        expected_response = {"claimsAndScopeOverrideDetails"}
    assert set(event["response"]) == expected_response
    # Cognito passes attribute values as strings, booleans included ("true").
    attributes = event["request"].get("userAttributes") or {}
    assert all(isinstance(v, str) for v in attributes.values())


@pytest.mark.parametrize(
    ("source", "version"),
    [
        ("TokenGeneration_Authentication", None),
        ("TokenGeneration_HostedAuth", "V2_0"),
        ("TokenGeneration_RefreshTokens", "V3_0"),
    ],
)
def test_pre_token_generation__lambda_version__selects_the_event_version(source: str, version: str | None) -> None:
    event = events.cognito_event(source, lambda_version=version)
    expected = {None: "1", "V2_0": "2", "V3_0": "3"}[version]
    assert event["version"] == expected
    if expected == "1":
        assert "scopes" not in event["request"]
        assert event["response"] == {"claimsOverrideDetails": None}
    else:
        assert "openid" in event["request"]["scopes"]
        assert event["response"] == {"claimsAndScopeOverrideDetails": None}


def test_client_credentials__only_in_version_3_events() -> None:
    event = events.cognito_event("TokenGeneration_ClientCredentials")
    assert event["version"] == "3"
    assert event["request"]["userAttributes"] == {}


def test_admin_create_user__caller_has_no_app_client() -> None:
    assert events.cognito_event("PreSignUp_AdminCreateUser")["callerContext"]["clientId"] == "CLIENT_ID_NOT_APPLICABLE"
    assert events.cognito_event("CustomMessage_AdminCreateUser")["request"]["usernameParameter"] == "{username}"


def test_user_migration__forgot_password__carries_no_password() -> None:
    assert "password" in events.cognito_event("UserMigration_Authentication")["request"]
    assert "password" not in events.cognito_event("UserMigration_ForgotPassword")["request"]


def test_custom_senders__request_types_and_account_takeover_attributes() -> None:
    assert events.cognito_event("CustomSMSSender_Authentication")["request"]["type"] == "customSMSSenderRequestV1"
    takeover = events.cognito_event("CustomEmailSender_AccountTakeOverNotification")["request"]
    assert takeover["type"] == "customEmailSenderRequestV1"
    assert takeover["code"] is None
    assert {"EVENT_ID", "USER_NAME", "IP_ADDRESS", "ACCOUNT_TAKE_OVER_ACTION"} <= set(takeover["userAttributes"])


def test_seed_test_event__is_the_test_trigger_sample_verbatim() -> None:
    assert events.cognito_event("testTrigger") == {
        "triggerSource": "testTrigger",
        "userPoolId": "testPool",
        "userName": "testName",
        "callerContext": {"clientId": "12345"},
        "response": {},
    }


def test_samples__fresh_copies__mutation_does_not_leak() -> None:
    first = events.cognito_event("PreSignUp_SignUp")
    first["request"]["userAttributes"]["email"] = "changed"
    assert events.cognito_event("PreSignUp_SignUp")["request"]["userAttributes"]["email"] == "jane.doe@example.com"
    seed = events.cognito_event("testTrigger")
    seed["callerContext"]["clientId"] = "x"
    assert events.SEED_POST_AUTHENTICATION_EVENT["callerContext"]["clientId"] == "12345"


AUTH0_KEYS = {
    "pre-user-registration": {"client", "connection", "request", "security_context", "tenant", "transaction", "user"},
    "post-user-registration": {"connection", "request", "tenant", "transaction", "user"},
    "post-login": {
        "authentication",
        "authorization",
        "client",
        "connection",
        "request",
        "resource_server",
        "stats",
        "tenant",
        "transaction",
        "user",
    },
    "credentials-exchange": {"accessToken", "client", "request", "resource_server", "tenant", "transaction"},
}


@pytest.mark.parametrize("trigger", sorted(AUTH0_KEYS))
def test_auth0_event__documented_properties_present(trigger: str) -> None:
    event = events.auth0_event(trigger, tenant="acme")
    assert AUTH0_KEYS[trigger] <= set(event)
    assert event["tenant"] == {"id": "acme"}
    assert {"ip", "method", "geoip"} <= set(event["request"])


def test_auth0_event__pre_user_registration__user_not_created_yet() -> None:
    assert "user_id" not in events.auth0_event("pre-user-registration")["user"]
    assert events.auth0_event("post-user-registration")["user"]["user_id"].startswith("auth0|")
    assert events.auth0_event("credentials-exchange")["request"]["body"]["grant_type"] == "client_credentials"


def test_auth0_handlers__every_trigger_has_its_export() -> None:
    assert set(events.AUTH0_HANDLERS) == set(catalog.AUTH0_TRIGGERS)


def test_merge__nested_overrides__lists_replaced_mappings_merged() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    merged = events.merge(base, {"a": {"c": [3]}, "e": {"f": None}})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 1, "e": {"f": None}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}


def test_unset__dotted_paths__removed_missing_ignored() -> None:
    event = events.cognito_event("PreSignUp_SignUp")
    events.unset(event, ["request.userAttributes.phone_number", "request.nothing.here", "nope"])
    assert "phone_number" not in event["request"]["userAttributes"]
    assert "email" in event["request"]["userAttributes"]
