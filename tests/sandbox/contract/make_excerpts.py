"""Rebuild the excerpts under tests/sandbox/contract/recordings/ from the public recordings they quote.

Not a test. Run it with local clones (or bare mirrors) of the source repositories::

    python tests/sandbox/contract/make_excerpts.py TERRAFORM_PROVIDER_AUTH0 GO_AUTH0 AUTH0_DEPLOY_CLI

Each excerpt names its source repository, path and commit. Scrubbing: the tenant host is dropped
(paths only), headers are dropped (no tokens), secret values sent in request bodies are replaced,
and runs of identical polling GETs are collapsed to their last answer (the build state they poll
for is the emulator's own business: build times are issue 13's).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

OUT = Path(__file__).parent / "recordings"

TERRAFORM = "auth0/terraform-provider-auth0"
GO_AUTH0 = "auth0/go-auth0"
DEPLOY_CLI = "auth0/auth0-deploy-cli"

# (name, repository, commit, path, what the excerpt shows); LIMITS keeps the first N interactions
LIMITS = {"tf-trigger-actions": 31}
VCR_SOURCES = [
    (
        "tf-action-lifecycle",
        TERRAFORM,
        "a00b69214a6c1daef76cf89d25ece690c7f9db22",
        "test/data/recordings/TestAccAction.yaml",
        'create, PATCH with secrets, deploy, PATCH code ending in `};"` that still builds and deploys, delete',
    ),
    (
        "tf-action-failed-build",
        TERRAFORM,
        "0b89b3c6ae72d33119ce5df17ea8876b034d65e5",
        "test/data/recordings/TestAccAction_FailedBuild.yaml",
        "a draft whose dependency crypto@17.7.1 does not exist: pending, building, failed, no errors on the action",
    ),
    (
        "tf-action-delete-with-unbind",
        TERRAFORM,
        "ff38aa88918ff8a66df8bd31bcd8c47258fa10a5",
        "test/data/recordings/TestAccActionDeleteWithUnbind.yaml",
        "two actions bound, re-bound, one unbound and deleted, then the other",
    ),
    (
        "tf-trigger-actions",
        TERRAFORM,
        "a00b69214a6c1daef76cf89d25ece690c7f9db22",
        "test/data/recordings/TestAccTriggerActions.yaml",
        "a trigger's whole binding list replaced by PATCH, in order (the first 31 interactions: three PATCHes)",
    ),
    (
        "go-action-versions",
        GO_AUTH0,
        "df1084db909530241b4d1165438324b7601a6386",
        "test/data/recordings/TestActionManager_Versions.yaml",
        "deploy, then the version list",
    ),
    (
        "go-action-deploy-version",
        GO_AUTH0,
        "df1084db909530241b4d1165438324b7601a6386",
        "test/data/recordings/TestActionManager_DeployVersion.yaml",
        "deploy, then redeploy that version (rollback)",
    ),
    (
        "go-action-list-by-name",
        GO_AUTH0,
        "df1084db909530241b4d1165438324b7601a6386",
        "test/data/recordings/TestActionManager_List.yaml",
        "list actions filtered by actionName",
    ),
]

# (name, commit, path, interaction indexes, what the excerpt shows)
NOCK_SOURCES = [
    (
        "deploy-cli-create-deploy-triggers",
        "a00a05540b63d56a08fbda276cb05d8ec162c834",
        "test/e2e/recordings/should-deploy-without-deleting-resources-if-AUTH0_ALLOW_DELETE-is-false.json",
        [36, 37, 38, 39, 40, 254, 255, 264],
        "list (empty), create on post-login v2 with node18, list, deploy, list; the trigger catalogue; the "
        "bindings of post-login and of the entity-bound custom-token-exchange",
    ),
]


def git_show(repo_dir: str, commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", repo_dir, "show", f"{commit}:{path}"], check=True, capture_output=True, text=True
    ).stdout


def _json(text: Any) -> Any:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def scrub(body: Any) -> Any:
    if isinstance(body, dict):
        out = {}
        for key, value in body.items():
            if key == "secrets" and isinstance(value, list):
                value = [{**s, "value": "<scrubbed>"} if isinstance(s, dict) and "value" in s else s for s in value]
            out[key] = scrub(value)
        return out
    if isinstance(body, list):
        return [scrub(v) for v in body]
    return body


def collapse(interactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    for item in interactions:
        if kept and item["method"] == "GET" and kept[-1]["method"] == "GET" and kept[-1]["path"] == item["path"]:
            kept[-1] = item
        else:
            kept.append(item)
    return kept


def from_vcr(text: str) -> list[dict[str, Any]]:
    out = []
    for item in yaml.safe_load(text)["interactions"]:
        url = urlsplit(item["request"]["url"])
        path = url.path + (f"?{url.query}" if url.query else "")
        body = _json(item["request"].get("body"))
        out.append(
            {
                "recorded": item["id"],
                "method": item["request"]["method"],
                "path": path,
                "body": scrub(body),
                "status": item["response"]["code"],
                "response": _json(item["response"].get("body")),
            }
        )
    return collapse(out)


def from_nock(text: str, indexes: list[int]) -> list[dict[str, Any]]:
    records = json.loads(text)
    return [
        {
            "recorded": i,
            "method": records[i]["method"],
            "path": records[i]["path"],
            "body": scrub(_json(records[i].get("body"))),
            "status": records[i]["status"],
            "response": _json(records[i].get("response")),
        }
        for i in indexes
    ]


def write(name: str, repo: str, commit: str, path: str, shows: str, interactions: list[dict[str, Any]]) -> None:
    document = {
        "source": {"repo": repo, "path": path, "commit": commit},
        "shows": shows,
        "scrubbed": "host and headers dropped; secret values replaced; identical polling GETs collapsed to the last",
        "interactions": interactions,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def main(terraform_dir: str, go_dir: str, deploy_cli_dir: str) -> None:
    dirs = {TERRAFORM: terraform_dir, GO_AUTH0: go_dir}
    for name, repo, commit, path, shows in VCR_SOURCES:
        interactions = from_vcr(git_show(dirs[repo], commit, path))
        write(name, repo, commit, path, shows, interactions[: LIMITS.get(name)])
    for name, commit, path, indexes, shows in NOCK_SOURCES:
        write(name, DEPLOY_CLI, commit, path, shows, from_nock(git_show(deploy_cli_dir, commit, path), indexes))


if __name__ == "__main__":
    main(*sys.argv[1:4])
