"""Real AWS behaviours, reproduced in front of moto (provisioner/sandbox/awsmodel.py), and hookctl converging.

Every test runs against a ``ModelledMotoServer`` whose clock is a fake one that only hookctl's own
waiting moves: the durations are AWS's realistic ones (a role unusable for 8 s, a function Pending for
2 s), yet no test sleeps. Each proves: the layer refused or delayed as AWS does, hookctl's first apply
converged anyway, the re-plan is empty, and nothing exists twice or went missing.
"""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from provisioner.engine.errors import ApplyError, InputError
from provisioner.engine.load import load_stack
from provisioner.engine.package import BuildError, check_lambda_size
from provisioner.engine.pipeline import apply_plan, validate_stack
from provisioner.providers.cognito.client import MAX_SETTLE_RETRY_DELAY, RolePropagation
from provisioner.sandbox.awsmodel import BEHAVIOURS, AwsBehaviours, ModelledMotoServer

from .world import World, function_arn


class FakeClock:
    """Time that passes only when hookctl sleeps."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Clocked:
    """The layer's clock, swapped for a fresh FakeClock in every test."""

    def __init__(self) -> None:
        self.clock = FakeClock()

    def __call__(self) -> float:
        return self.clock()


_CLOCK = Clocked()


@pytest.fixture(scope="module")
def modelled() -> Iterator[ModelledMotoServer]:
    # Realistic durations (the defaults), every behaviour on.
    with ModelledMotoServer(AwsBehaviours(), clock=_CLOCK) as server:
        yield server


@pytest.fixture
def real(aws: World, modelled: ModelledMotoServer, monkeypatch: pytest.MonkeyPatch) -> World:
    """``aws`` (an empty moto account), reached through the behaviour layer with a fake clock."""
    assert modelled.layer is not None
    modelled.layer.reset()
    modelled.layer.behaviours = AwsBehaviours()
    _CLOCK.clock = FakeClock()
    monkeypatch.setenv("AWS_ENDPOINT_URL", modelled.endpoint)
    world = World(aws.tmp)
    world.sleep = _CLOCK.clock.sleep
    world.clock = _CLOCK.clock
    return world


def refused(server: ModelledMotoServer, operation: str, code: str) -> int:
    assert server.layer is not None
    return server.layer.refused[(operation, code)]


def with_role(stack: str, role: str) -> str:
    return stack.replace("trigger: PreSignUp", f"role: {role}\n          trigger: PreSignUp")


CREATED_ROLE = """
    stack: real
    environments:
      dev:
        cognito:
          region: eu-west-1
          pools: {{main: {pool}}}
    cognito:
      functions:
        gate:
          template: cognito/pre-sign-up/auto-confirm-domain.py.j2
          runtime: python3.13
          vars: {{domains: [example.com]}}
          environment: {{STAGE: one}}
          trigger: PreSignUp
    """


@pytest.mark.managed_policies
def test_apply__role_just_created__create_function_retried_until_lambda_can_assume_it(
    real: World, modelled: ModelledMotoServer
) -> None:
    pool = real.pool()
    real.write_stack(CREATED_ROLE.format(pool=pool))
    real.plan_and_apply()
    # The layer refused CreateFunction while the new role propagated (8 s): hookctl retried.
    assert refused(modelled, "CreateFunction", "InvalidParameterValueException") >= 1
    assert sum(_CLOCK.clock.slept) >= AwsBehaviours().role_propagation_seconds
    assert real.function_names() == {"real-dev-gate"}
    assert [r["RoleName"] for r in real.iam.list_roles(PathPrefix="/hookctl/")["Roles"]] == ["real-dev-gate"]
    assert real.lambda_config(pool) == {"PreSignUp": function_arn("real-dev-gate")}
    assert len(real.statements("real-dev-gate")) == 1
    assert real.plan().plan.changes == ()


@pytest.mark.managed_policies
def test_apply__function_pending_then_updating__permission_and_updates_wait(
    real: World, modelled: ModelledMotoServer
) -> None:
    pool = real.pool()
    real.write_stack(CREATED_ROLE.format(pool=pool))
    real.plan_and_apply()
    # hookctl waited for Pending to end before AddPermission: the layer never had to refuse it.
    assert refused(modelled, "AddPermission", "ResourceConflictException") == 0
    assert real.calls["lambda:GetFunctionConfiguration"] >= 2
    # Code and configuration change together: UpdateFunctionCode leaves LastUpdateStatus InProgress,
    # and UpdateFunctionConfiguration meanwhile would meet ResourceConflictException.
    real.edit_stack("STAGE: one", "STAGE: two")
    real.edit_stack("domains: [example.com]", "domains: [example.org]")
    planned = real.plan()
    assert [op.method for op in planned.plan.operations] == ["update_function_code", "update_function_configuration"]
    real.apply(planned)
    assert refused(modelled, "UpdateFunctionConfiguration", "ResourceConflictException") == 0
    assert real.configuration("real-dev-gate")["Environment"]["Variables"]["STAGE"] == "two"
    assert real.configuration("real-dev-gate")["LastUpdateStatus"] in ("InProgress", "Successful")
    assert real.plan().plan.changes == ()
    assert real.function_names() == {"real-dev-gate"}


def test_apply__given_role_created_moments_ago__update_configuration_retried(
    real: World, modelled: ModelledMotoServer
) -> None:
    pool = real.pool()
    first = real.role("first-role")
    real.write_stack(with_role(CREATED_ROLE.format(pool=pool), first))
    real.plan_and_apply()
    _CLOCK.clock.now += 600  # everything settled
    second = real.role("second-role")
    real.edit_stack(first, second)
    planned = real.plan()
    assert [op.method for op in planned.plan.operations] == ["update_function_configuration"]
    real.apply(planned)
    # Refused while the second role propagated, then accepted: one function, now on the new role.
    assert refused(modelled, "UpdateFunctionConfiguration", "InvalidParameterValueException") >= 1
    assert real.configuration("real-dev-gate")["Role"] == second
    assert real.plan().plan.changes == ()


def test_apply__role_never_assumable__gives_up_after_five_minutes_naming_the_call(
    real: World, modelled: ModelledMotoServer
) -> None:
    assert modelled.layer is not None
    modelled.layer.behaviours = replace(AwsBehaviours(), role_propagation_seconds=3600.0)
    pool = real.pool()
    role = real.role("slow-role")
    real.write_stack(with_role(CREATED_ROLE.format(pool=pool), role))
    with pytest.raises(ApplyError, match=r"CreateFunction.*cannot be assumed by Lambda"):
        real.plan_and_apply()
    assert 300.0 - 5.0 <= sum(_CLOCK.clock.slept) <= 300.0
    assert real.function_names() == set()


@pytest.mark.managed_policies
def test_apply__role_just_created__create_function_accepted_within_a_second_of_the_role_propagating(
    real: World, modelled: ModelledMotoServer
) -> None:
    assert modelled.layer is not None
    pool = real.pool()
    real.write_stack(CREATED_ROLE.format(pool=pool))
    real.plan_and_apply()
    behaviours = AwsBehaviours()
    model = modelled.layer._model
    [role_created] = model.roles.values()
    created = model.functions["real-dev-gate"].pending_until - behaviours.function_create_seconds
    # Retried at most a second apart (MAX_SETTLE_RETRY_DELAY): with 5 s steps the 8 s-old role was
    # found usable only 12.5 s after it was made. Times on the layer's FakeClock, not wall time.
    propagation, gap = behaviours.role_propagation_seconds, created - role_created
    assert propagation <= gap <= propagation + MAX_SETTLE_RETRY_DELAY
    assert real.function_names() == {"real-dev-gate"}


@pytest.mark.managed_policies
def test_apply__someone_elses_update_in_progress__update_and_permission_retried_on_conflict(
    real: World, modelled: ModelledMotoServer
) -> None:
    main, partners = real.pool("main"), real.pool("partners")
    stack = CREATED_ROLE.format(pool=main).replace(f"main: {main}", f"main: {main}, partners: {partners}")
    real.write_stack(stack.replace("trigger: PreSignUp", "triggers: [{pool: main, trigger: PreSignUp}]"))
    real.plan_and_apply()
    _CLOCK.clock.now += 600

    def someone_else_updates() -> None:
        # An update that changes nothing hookctl compares, made by another tool moments ago.
        timeout = real.configuration("real-dev-gate")["Timeout"]
        real.lambda_.update_function_configuration(FunctionName="real-dev-gate", Timeout=timeout)
        assert real.configuration("real-dev-gate")["LastUpdateStatus"] == "InProgress"

    someone_else_updates()
    real.edit_stack("STAGE: one", "STAGE: two")
    real.plan_and_apply()
    assert refused(modelled, "UpdateFunctionConfiguration", "ResourceConflictException") >= 1
    assert real.configuration("real-dev-gate")["Environment"]["Variables"]["STAGE"] == "two"

    _CLOCK.clock.now += 600
    someone_else_updates()
    real.edit_stack(
        "[{pool: main, trigger: PreSignUp}]", "[{pool: main, trigger: PreSignUp}, {pool: partners, trigger: PreSignUp}]"
    )
    real.plan_and_apply()
    assert refused(modelled, "AddPermission", "ResourceConflictException") >= 1
    assert len(real.statements("real-dev-gate")) == 2
    assert real.lambda_config(partners) == {"PreSignUp": function_arn("real-dev-gate")}
    assert real.plan().plan.changes == ()
    assert real.function_names() == {"real-dev-gate"}


FILE_SECRET = """
    stack: real
    environments:
      dev:
        cognito:
          region: eu-west-1
          pools: {{main: {pool}}}
    cognito:
      functions:
        gate:
          template: cognito/pre-sign-up/auto-confirm-domain.py.j2
          runtime: python3.13
          vars: {{domains: [example.com]}}
          trigger: PreSignUp
          secrets:
            CERTIFICATE: {{file: cert.pem}}
    """


@pytest.mark.managed_policies
def test_plan__environment_over_4kb__refused_at_validate_and_plan_before_any_write(
    real: World, modelled: ModelledMotoServer
) -> None:
    pool = real.pool()
    # The layer refuses it as Lambda does.
    role = real.role("plain-role")
    _CLOCK.clock.now += 600
    with pytest.raises(real.lambda_.exceptions.InvalidParameterValueException, match="exceeded the 4KB limit"):
        real.lambda_.create_function(
            FunctionName="direct",
            Runtime="python3.13",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
            Environment={"Variables": {"BIG": "x" * 4100}},
        )
    secret = "-----BEGIN CERTIFICATE-----\n" + "A" * 4200 + "\n-----END CERTIFICATE-----\n"
    (real.tmp / "cert.pem").write_text(secret)
    real.write_stack(FILE_SECRET.format(pool=pool))
    with pytest.raises(
        InputError, match=r"stack\.yaml:\d+: cognito\.functions\.gate\.environment: .*at most 4096"
    ) as v:
        validate_stack(str(real.stack_path), "dev")
    assert secret[30:60] not in str(v.value)
    with pytest.raises(InputError, match="at most 4096"):
        real.plan()
    assert real.writes == {}
    assert real.function_names() == set()

    (real.tmp / "cert.pem").write_text(secret[:1000])
    real.plan_and_apply()
    assert real.function_names() == {"real-dev-gate"}
    assert real.plan().plan.changes == ()


TOKENS_V2 = """
    stack: real
    environments:
      dev:
        cognito:
          region: eu-west-1
          pools: {{main: {pool}}}
    cognito:
      functions:
        claims:
          template: cognito/post-authentication/log-sign-in.mjs.j2
          runtime: nodejs22.x
          triggers:
            - {{pool: main, trigger: PreTokenGeneration, lambda_version: V2_0}}
    """


@pytest.mark.managed_policies
def test_plan__token_v2_on_lite_pool__refused_before_any_role_or_function(
    real: World, modelled: ModelledMotoServer
) -> None:
    pool = real.pool("main", UserPoolTier="LITE")
    assert real.describe(pool)["UserPoolTier"] == "LITE"
    # The layer refuses it as Cognito does.
    arn = function_arn("anything")
    with pytest.raises(real.cognito.exceptions.FeatureUnavailableInTierException):
        real.cognito.update_user_pool(
            UserPoolId=pool, LambdaConfig={"PreTokenGenerationConfig": {"LambdaArn": arn, "LambdaVersion": "V2_0"}}
        )
    real.write_stack(TOKENS_V2.format(pool=pool))
    with pytest.raises(InputError, match=r"lambda_version: PreTokenGeneration V2_0 needs the Essentials or Plus") as e:
        real.plan()
    assert "is on LITE" in str(e.value)
    assert real.writes == {}
    assert real.function_names() == set()
    assert real.iam.list_roles(PathPrefix="/hookctl/")["Roles"] == []

    # On Essentials the same stack applies and converges.
    real.cognito.update_user_pool(UserPoolId=pool, UserPoolTier="ESSENTIALS", MfaConfiguration="OFF")
    real.plan_and_apply()
    config = real.lambda_config(pool)
    assert config["PreTokenGenerationConfig"] == {"LambdaArn": function_arn("real-dev-claims"), "LambdaVersion": "V2_0"}
    assert real.describe(pool)["UserPoolTier"] == "ESSENTIALS"
    assert real.plan().plan.changes == ()
    assert real.function_names() == {"real-dev-claims"}


SIGN_UP = """
    stack: real
    environments:
      dev:
        cognito:
          region: eu-west-1
          pools: {{main: {pool}}}
    cognito:
      functions:
        gate:
          template: cognito/pre-sign-up/auto-confirm-domain.py.j2
          runtime: python3.13
          role: {role}
          vars: {{domains: [example.com]}}
          trigger: PreSignUp
    """

COGNITO_SMS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "cognito-idp.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "pool-sms"}},
        }
    ],
}


def _settled_role(real: World) -> str:
    role = real.role("function-role")
    _CLOCK.clock.now += 600
    return role


@pytest.mark.parametrize("resets", [False, True], ids=["update-keeps-mfa", "update-resets-mfa"])
def test_apply__pool_mfa_totp_only__trigger_added_without_resending_mfa_and_mfa_kept(
    real: World, modelled: ModelledMotoServer, resets: bool
) -> None:
    assert modelled.layer is not None
    modelled.layer.behaviours = replace(AwsBehaviours(), update_resets_mfa=resets)
    pool = real.pool("main", AutoVerifiedAttributes=["email"])
    real.cognito.set_user_pool_mfa_config(
        UserPoolId=pool, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="OPTIONAL"
    )
    mfa_before = real.cognito.get_user_pool_mfa_config(UserPoolId=pool)
    mfa_before.pop("ResponseMetadata")
    # The layer refuses re-sending that MFA as Cognito does, unchanged as it is.
    with pytest.raises(real.cognito.exceptions.InvalidParameterException, match="SMS configuration and Auto"):
        real.cognito.update_user_pool(UserPoolId=pool, MfaConfiguration="OPTIONAL", AutoVerifiedAttributes=["email"])
    real.write_stack(SIGN_UP.format(pool=pool, role=_settled_role(real)))
    real.plan_and_apply()
    assert real.lambda_config(pool) == {"PreSignUp": function_arn("real-dev-gate")}
    mfa_after = real.cognito.get_user_pool_mfa_config(UserPoolId=pool)
    mfa_after.pop("ResponseMetadata")
    assert mfa_after == mfa_before
    assert real.describe(pool)["MfaConfiguration"] == "OPTIONAL"
    assert real.calls.get("cognito-idp:SetUserPoolMfaConfig", 0) == (1 if resets else 0)
    assert refused(modelled, "UpdateUserPool", "InvalidParameterException") == 1  # only the direct one above
    assert real.plan().plan.changes == ()
    assert real.function_names() == {"real-dev-gate"}


def _sms_pool(real: World, trust: dict[str, object]) -> tuple[str, str]:
    sms_role = str(real.iam.create_role(RoleName="pool-sms", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
    pool = real.pool(
        "main",
        AutoVerifiedAttributes=["phone_number"],
        SmsConfiguration={"SnsCallerArn": sms_role, "ExternalId": "pool-sms", "SnsRegion": "eu-west-1"},
    )
    return pool, sms_role


def test_apply__sms_role_still_propagating__update_retried_and_failure_field_never_a_change(
    real: World, modelled: ModelledMotoServer
) -> None:
    role = _settled_role(real)
    pool, sms_role = _sms_pool(real, COGNITO_SMS_TRUST)  # made just now: Cognito cannot assume it yet
    real.write_stack(SIGN_UP.format(pool=pool, role=role))
    planned = real.plan()
    # Computed by the service: present now, gone once the role propagates — never a pool setting.
    assert real.describe(pool)["SmsConfigurationFailure"] == "InvalidSmsRoleTrustRelationshipException"
    real.apply(planned)
    assert refused(modelled, "UpdateUserPool", "InvalidSmsRoleTrustRelationshipException") >= 1
    assert "SmsConfigurationFailure" not in real.describe(pool)
    assert real.describe(pool)["SmsConfiguration"]["SnsCallerArn"] == sms_role
    assert real.lambda_config(pool) == {"PreSignUp": function_arn("real-dev-gate")}
    assert real.plan().plan.changes == ()


def test_apply__sms_role_cognito_cannot_assume__clear_error_pool_untouched(
    real: World, modelled: ModelledMotoServer
) -> None:
    role = _settled_role(real)
    lambda_only = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    pool, _ = _sms_pool(real, lambda_only)
    before = real.describe(pool)
    real.write_stack(SIGN_UP.format(pool=pool, role=role))
    with pytest.raises(ApplyError, match=r"re-validates the pool's SmsConfiguration, which hookctl does not change"):
        real.plan_and_apply()
    after = real.describe(pool)
    assert after.get("LambdaConfig") in (None, {}) and after["SmsConfiguration"] == before["SmsConfiguration"]
    # The permission was granted before the pool write; the next apply, once the role is fixed, finishes.
    real.iam.update_assume_role_policy(RoleName="pool-sms", PolicyDocument=json.dumps(COGNITO_SMS_TRUST))
    real.plan_and_apply()
    assert real.lambda_config(pool) == {"PreSignUp": function_arn("real-dev-gate")}
    assert len(real.statements("real-dev-gate")) == 1
    assert real.plan().plan.changes == ()


SENDER = """
    stack: real
    environments:
      dev:
        cognito:
          region: eu-west-1
          pools: {{main: {pool}}}
    cognito:
      functions:
        mailer:
          template: cognito/post-confirmation/notify-webhook.py.j2
          runtime: python3.13
          triggers:
            - {{pool: main, trigger: CustomEmailSender, kms_key_id: "{key}"}}
          secrets:
            WEBHOOK_URL: {{secretsmanager: hookctl/dev/crm, key: url}}
            API_TOKEN: {{ssm: /hookctl/dev/token}}
    """


@pytest.mark.managed_policies
def test_apply__sender_and_secrets_under_customer_keys__role_may_decrypt_with_exactly_those_keys(
    real: World, modelled: ModelledMotoServer
) -> None:
    kms, ssm = real.session.client("kms"), real.session.client("ssm")
    sender_key = kms.create_key(Description="codes")["KeyMetadata"]["Arn"]
    secret_key = kms.create_key(Description="secrets")["KeyMetadata"]
    kms.create_alias(AliasName="alias/crm-secrets", TargetKeyId=secret_key["KeyId"])
    parameter_key = kms.create_key(Description="parameters")["KeyMetadata"]
    real.secretsmanager.create_secret(
        Name="hookctl/dev/crm", SecretString=json.dumps({"url": "https://crm.invalid"}), KmsKeyId="alias/crm-secrets"
    )
    ssm.put_parameter(Name="/hookctl/dev/token", Value="t0ken", Type="SecureString", KeyId=parameter_key["KeyId"])
    pool = real.pool()

    # An alias is refused where the stack says it (IAM grants kms:Decrypt on key ARNs), and by Cognito.
    real.write_stack(SENDER.format(pool=pool, key="alias/codes-of-the-sender-trigger"))
    with pytest.raises(InputError, match=r"kms_key_id: must be a KMS key ARN"):
        validate_stack(str(real.stack_path), "dev")
    with pytest.raises(real.cognito.exceptions.InvalidParameterException, match="kMSKeyID"):
        real.cognito.update_user_pool(UserPoolId=pool, LambdaConfig={"KMSKeyID": "alias/codes-of-the-sender-trigger"})

    real.write_stack(SENDER.format(pool=pool, key=sender_key))
    real.plan_and_apply()
    policy = real.iam.get_role_policy(RoleName="real-dev-mailer", PolicyName="hookctl-secrets")["PolicyDocument"]
    grants = {s["Action"]: sorted(s["Resource"]) for s in policy["Statement"]}
    assert grants["kms:Decrypt"] == sorted([sender_key, secret_key["Arn"], parameter_key["Arn"]])
    assert real.lambda_config(pool)["KMSKeyID"] == sender_key
    assert real.plan().plan.changes == ()
    assert real.function_names() == {"real-dev-mailer"}


def test_plan__code_over_250mb_unzipped__refused_when_packaged_as_lambda_would(
    real: World, modelled: ModelledMotoServer, tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.mjs", "export const handler = async (event) => event;\n")
        with archive.open("node_modules/blob.bin", "w", force_zip64=True) as blob:
            chunk = b"\0" * (1 << 20)
            for _ in range(251):  # 251 MB of zeros: a few hundred KB zipped
                blob.write(chunk)
    role = real.role("plain-role")
    _CLOCK.clock.now += 600
    # The layer refuses it as Lambda does, after the upload.
    with pytest.raises(real.lambda_.exceptions.InvalidParameterValueException, match="Unzipped size must be smaller"):
        real.lambda_.create_function(
            FunctionName="bomb",
            Runtime="nodejs22.x",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": bomb.read_bytes()},
        )
    # hookctl refuses the same build when it packages it, at plan time, with Lambda's real limits.
    pool = real.pool()
    real.write_stack(CREATED_ROLE.format(pool=pool))
    [fn] = load_stack(str(real.stack_path), "dev").functions
    with pytest.raises(BuildError, match=r"251\.0 MB unzipped; Lambda accepts at most 250\.0 MB"):
        check_lambda_size(fn, str(bomb))
    assert real.function_names() == set()


@pytest.mark.managed_policies
def test_behaviours__switched_off_by_flag_or_environment__moto_answers_as_before(
    real: World, modelled: ModelledMotoServer
) -> None:
    off = AwsBehaviours.from_environment(
        {"HOOKCTL_SANDBOX_AWS_OFF": "iam_propagation, lambda_states", "HOOKCTL_SANDBOX_TIME_SCALE": "0.5"}
    )
    assert (off.iam_propagation, off.lambda_states, off.lambda_limits) == (False, False, True)
    assert off.role_propagation_seconds == AwsBehaviours().role_propagation_seconds * 0.5
    assert AwsBehaviours.from_environment({"HOOKCTL_SANDBOX_AWS_OFF": "all"}).without() == AwsBehaviours().without(
        *BEHAVIOURS
    )
    with pytest.raises(ValueError, match="unknown behaviour lambda_state"):
        AwsBehaviours.from_environment({"HOOKCTL_SANDBOX_AWS_OFF": "lambda_state"})

    assert modelled.layer is not None
    modelled.layer.behaviours = off
    real.write_stack(CREATED_ROLE.format(pool=real.pool()))
    real.plan_and_apply()
    assert real.calls["lambda:CreateFunction"] == 1 and _CLOCK.clock.slept == []
    assert sum(modelled.layer.refused.values()) == 0
    assert real.plan().plan.changes == ()


def test_role_propagation__one_function_probes__the_others_try_once_their_role_is_as_old() -> None:
    clock = FakeClock()
    learned = RolePropagation(clock)
    for n in range(3):
        learned.created(f"arn:role/{n}")
        clock.now += 0.1  # roles made 0.1 s apart
    # The first function to ask probes; the others look again a second later.
    assert learned.wait_before_trying("arn:role/0", "fn-0") == 0.0
    assert learned.wait_before_trying("arn:role/1", "fn-1") == MAX_SETTLE_RETRY_DELAY
    assert learned.wait_before_trying("arn:role/0", "fn-0") == 0.0  # still the prober
    # fn-0's write is accepted 8.5 s after its role was made: the others wait until theirs is as old.
    clock.now = 1_000.0 + 8.5
    learned.accepted("arn:role/0")
    learned.done("fn-0")
    assert learned.wait_before_trying("arn:role/1", "fn-1") == pytest.approx(0.1)
    assert learned.wait_before_trying("arn:role/2", "fn-2") == pytest.approx(0.2)
    clock.now += 1.0
    assert learned.wait_before_trying("arn:role/2", "fn-2") == 0.0
    # A role this apply did not make: nothing to wait for.
    assert learned.wait_before_trying("arn:role/old", "fn-9") == 0.0
    assert learned.wait_before_trying(None, "fn-9") == 0.0


def test_role_propagation__a_prober_that_fails_hands_over_to_the_next() -> None:
    clock = FakeClock()
    learned = RolePropagation(clock)
    learned.created("arn:role/a")
    learned.created("arn:role/b")
    assert learned.wait_before_trying("arn:role/a", "fn-a") == 0.0
    assert learned.wait_before_trying("arn:role/b", "fn-b") > 0
    learned.done("fn-a")  # gave up (its deadline, or another error)
    assert learned.wait_before_trying("arn:role/b", "fn-b") == 0.0


class RealClock:
    """Real time (the fake one cannot serve threads that sleep without calling AWS in between)."""

    def __call__(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@pytest.mark.managed_policies
def test_apply__five_new_roles_in_parallel__one_function_probes_iam_the_others_do_not_hammer_lambda(
    real: World, modelled: ModelledMotoServer
) -> None:
    assert modelled.layer is not None
    modelled.layer.behaviours = AwsBehaviours().scaled(0.1)  # a role usable after 0.8 s
    _CLOCK.clock = RealClock()  # type: ignore[assignment]
    real.sleep, real.clock = time.sleep, time.monotonic
    pool = real.pool()
    functions = "\n".join(
        f"""        gate{n}:
          template: cognito/post-authentication/log-sign-in.mjs.j2
          runtime: nodejs22.x
          trigger: {trigger}"""
        for n, trigger in enumerate(
            ["PreSignUp", "PostAuthentication", "PostConfirmation", "PreAuthentication", "CustomMessage"]
        )
    )
    real.write_stack(
        CREATED_ROLE.format(pool=pool).split("    cognito:\n      functions:")[0]
        + "    cognito:\n      functions:\n"
        + functions
        + "\n"
    )
    planned = real.plan()
    apply_plan(planned, None, real.options(parallelism=10))
    assert modelled.layer is not None
    refusals = {name: n for (op, name), n in modelled.layer.refused_functions.items() if op == "CreateFunction"}
    # One function (the prober) is refused until its role is usable; the others wait for what it
    # learns and are accepted at their first try.
    assert len(refusals) == 1, refusals
    assert real.function_names() == {f"real-dev-gate{n}" for n in range(5)}
    assert real.plan().plan.changes == ()
