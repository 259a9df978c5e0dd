"""The pure half of the Cognito provider: names, pool edits, documents. No I/O, no moto."""

from __future__ import annotations

import botocore.session

from provisioner.engine import catalog
from provisioner.providers.cognito.plan import (
    STRUCTURED_TRIGGERS,
    Names,
    live_function_doc,
    merge_lambda_config,
    pool_entries,
    settings_changes,
    split_marker,
    update_request,
    with_marker,
)

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:f"
OTHER = "arn:aws:lambda:eu-west-1:123456789012:function:other"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/k"


def _update_shape() -> object:
    model = botocore.session.get_session().get_service_model("cognito-idp")
    return model.operation_model("UpdateUserPool").input_shape


def test_update_request__describe_output__keeps_only_update_fields_and_drops_deprecated() -> None:
    pool = {
        "Id": "eu-west-1_AbC",
        "Name": "main",
        "Arn": "arn:…",
        "Status": "Enabled",
        "EstimatedNumberOfUsers": 3,
        "UsernameAttributes": ["email"],
        "SchemaAttributes": [{"Name": "sub"}],
        "Domain": "d",
        "Policies": {"PasswordPolicy": {"MinimumLength": 14, "FutureField": 1}},
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True, "UnusedAccountValidityDays": 7},
        "DeletionProtection": "ACTIVE",
        "UserPoolTags": {"team": "x"},
        "MfaConfiguration": "OPTIONAL",
        "LambdaConfig": {"CustomMessage": OTHER},
    }
    request = update_request(pool, _update_shape())
    assert request == {
        "UserPoolId": "eu-west-1_AbC",
        "PoolName": "main",
        "Policies": {"PasswordPolicy": {"MinimumLength": 14}},
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
        "DeletionProtection": "ACTIVE",
        "UserPoolTags": {"team": "x"},
        "MfaConfiguration": "OPTIONAL",
        "LambdaConfig": {"CustomMessage": OTHER},
    }
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True, "UnusedAccountValidityDays": 7}


def test_merge_lambda_config__set_and_remove__other_keys_kept_and_pre_token_consistent() -> None:
    current = {"CustomMessage": OTHER, "PreSignUp": OTHER}
    merged = merge_lambda_config(
        current,
        {
            "PreSignUp": {"LambdaArn": ARN},
            "PreTokenGeneration": {"LambdaArn": ARN, "LambdaVersion": "V2_0"},
            "CustomEmailSender": {"LambdaArn": ARN, "LambdaVersion": "V1_0", "KMSKeyID": KEY},
        },
        [],
    )
    assert merged == {
        "CustomMessage": OTHER,
        "PreSignUp": ARN,
        "PreTokenGeneration": ARN,
        "PreTokenGenerationConfig": {"LambdaArn": ARN, "LambdaVersion": "V2_0"},
        "CustomEmailSender": {"LambdaArn": ARN, "LambdaVersion": "V1_0"},
        "KMSKeyID": KEY,
    }
    assert current == {"CustomMessage": OTHER, "PreSignUp": OTHER}
    removed = merge_lambda_config(merged, {}, ["PreTokenGeneration", "CustomEmailSender"])
    assert removed == {"CustomMessage": OTHER, "PreSignUp": ARN}


def test_merge_lambda_config__one_sender_removed_other_kept__kms_key_kept() -> None:
    both = {
        "CustomEmailSender": {"LambdaArn": ARN, "LambdaVersion": "V1_0"},
        "CustomSMSSender": {"LambdaArn": OTHER, "LambdaVersion": "V1_0"},
        "KMSKeyID": KEY,
    }
    assert merge_lambda_config(both, {}, ["CustomEmailSender"])["KMSKeyID"] == KEY


def test_pool_entries__legacy_pre_token_key__read_as_v1() -> None:
    assert pool_entries({"PreTokenGeneration": ARN}) == {
        "PreTokenGeneration": {"lambda_arn": ARN, "lambda_version": "V1_0"}
    }


def test_settings_changes__names_nested_fields__tolerates_only_username_attributes_vanishing() -> None:
    before = {
        "Policies": {"PasswordPolicy": {"MinimumLength": 14}},
        "UsernameAttributes": ["email"],
        "LambdaConfig": {},
        "LastModifiedDate": 1,
        "AliasAttributes": ["email"],
    }
    same = {
        "Policies": {"PasswordPolicy": {"MinimumLength": 14}},
        "LambdaConfig": {"PreSignUp": ARN},
        "LastModifiedDate": 2,
        "AliasAttributes": ["email"],
    }
    assert settings_changes(before, same) == []
    changed = {**same, "Policies": {"PasswordPolicy": {"MinimumLength": 8}}, "UsernameAttributes": ["phone_number"]}
    assert settings_changes(before, changed) == ["Policies.PasswordPolicy.MinimumLength", "UsernameAttributes"]
    lost = {k: v for k, v in same.items() if k != "AliasAttributes"}
    assert settings_changes(before, lost) == ["AliasAttributes"]


def test_names__long_names__bounded_and_distinct() -> None:
    names = Names("a" * 40, "production.eu")
    first, second = names.function("x" * 40), names.function("x" * 39 + "y")
    assert len(first) == len(second) == 64
    assert first != second
    assert names.function("sign-in") == "a" * 40 + "-production-eu-sign-in"
    assert first.startswith(names.prefix)


def test_description_marker__round_trip() -> None:
    digest = "0123456789abcdef" * 4
    assert split_marker(with_marker("Log sign-ins", digest)) == ("Log sign-ins", "0123456789abcdef")
    assert split_marker(with_marker("", digest)) == ("", "0123456789abcdef")
    assert split_marker("written by hand") == ("written by hand", None)


def test_live_function_doc__undeclared_variable__hashed_never_shown() -> None:
    config = {"Environment": {"Variables": {"STAGE": "dev", "HOOKCTL_SECRET_URL": "ssm:/x", "LEFTOVER": "v4lue"}}}
    doc = live_function_doc(config, {"STAGE"}, salt="s")
    assert doc["environment"] == {"STAGE": "dev"}
    assert doc["secret_refs"] == {"URL": "ssm:/x"}
    assert set(doc["secrets"]) == {"LEFTOVER"}
    assert "v4lue" not in str(doc)


def test_trigger_shapes__match_botocore_model() -> None:
    model = botocore.session.get_session().get_service_model("cognito-idp")
    members = model.shape_for("LambdaConfigType").members  # type: ignore[attr-defined]
    structured = {name for name, shape in members.items() if shape.type_name == "structure"}
    assert structured == STRUCTURED_TRIGGERS | {"PreTokenGenerationConfig"}
    assert set(members) == catalog.COGNITO_TRIGGERS | {"PreTokenGenerationConfig", "KMSKeyID"}


def test_merge_lambda_config__inbound_federation__written_as_structure() -> None:
    merged = merge_lambda_config({}, {"InboundFederation": {"LambdaArn": ARN, "LambdaVersion": "V1_0"}}, [])
    assert merged == {"InboundFederation": {"LambdaArn": ARN, "LambdaVersion": "V1_0"}}
    assert pool_entries(merged) == {"InboundFederation": {"lambda_arn": ARN, "lambda_version": "V1_0"}}
