"""Redaction cases (DESIGN.md "Redaction"): what is replaced, what is left alone, what stays valid."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kro.shims.envelope import classify
from kro.shims.redact import MARK, Redactor, redact_text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("Authorization: Bearer abcdef0123456789", "abcdef0123456789", id="redact.bearer-header"),
        pytest.param(
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln here", "eyJhbGciOiJIUzI1NiJ9", id="redact.jwt"
        ),
        pytest.param("key AKIAABCDEFGHIJKLMNOP used", "AKIAABCDEFGHIJKLMNOP", id="redact.aws-key-id"),
        pytest.param("DB_PASSWORD=hunter2", "hunter2", id="redact.env-assignment"),
        pytest.param('{"api_key": "k-123"}', "k-123", id="redact.json-pair"),
        pytest.param("      DB_PASSWORD:  hunter2", "hunter2", id="redact.describe-env"),
        pytest.param("client_secret: abc", "abc", id="redact.yaml-pair"),
        pytest.param("    - name: API_TOKEN\n      value: tok-9", "tok-9", id="redact.yaml-env-entry"),
        pytest.param('{\n  "name": "DB_PASSWORD",\n  "value": "pw1"\n}', "pw1", id="redact.json-env-entry"),
        pytest.param("map[name:DB_PASSWORD value:pw2]", "pw2", id="redact.go-map-env"),
        pytest.param('[{"name":"AWS_SECRET_ACCESS_KEY","value":"s3"}]', "s3", id="redact.compact-json-env"),
        pytest.param(
            '"a": "{\\"env\\":[{\\"name\\":\\"DB_PASSWORD\\",\\"value\\":\\"pw3\\"}]}"',
            "pw3",
            id="redact.escaped-json-in-annotation",
        ),
        pytest.param(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
            "MIIEpAIBAAKCAQEA",
            id="redact.pem-block",
        ),
        pytest.param(
            '"key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----"',
            "MIIEvQ",
            id="redact.pem-inline",
        ),
        pytest.param(
            "apiVersion: v1\ndata:\n  password: czNj\n  user: d2Vi\nkind: Secret",
            "d2Vi",
            id="redact.secret-data-yaml",
        ),
        pytest.param(
            '{\n    "apiVersion": "v1",\n    "data": {\n        "user": "d2Vi"\n    },\n'
            '    "kind": "Secret"\n}',
            "d2Vi",
            id="redact.secret-data-json",
        ),
    ],
)
def test_secret_shapes_are_replaced(text: str, secret: str) -> None:
    """The value is gone, a [REDACTED] mark stands in its place, and the count says so."""
    out, count = redact_text(text)
    assert secret not in out
    assert MARK in out
    assert count >= 1


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("secretName: db-creds", id="keep.secret-name"),
        pytest.param("automountServiceAccountToken: false", id="keep.boolean"),
        pytest.param('"tokenExpirationSeconds": 3607', id="keep.seconds"),
        pytest.param(
            "        secretKeyRef:\n          key: password\n          name: db-creds", id="keep.key-ref"
        ),
        pytest.param('"serviceAccountToken": {', id="keep.structure"),
        pytest.param("apiVersion: v1\ndata:\n  app.yaml: x\nkind: ConfigMap", id="keep.configmap-data"),
        pytest.param("NAME   READY   STATUS\nweb-1  1/1     Running", id="keep.table"),
        pytest.param("level=info msg=asia-east1 region", id="keep.keyword-without-value"),
    ],
)
def test_harmless_text_is_left_alone(text: str) -> None:
    """Names of secrets, booleans, references and ordinary data are not redacted."""
    assert redact_text(text) == (text, 0)


def test_redacted_json_stays_json() -> None:
    """Redacting kubectl's pretty JSON keeps it parseable for jq."""
    env = [{"name": "DB_PASSWORD", "value": "x"}, {"name": "PORT", "value": "80"}]
    doc = {"spec": {"containers": [{"env": env}]}, "password": 1234, "token": None}
    out, count = redact_text(json.dumps(doc, indent=4))
    parsed = json.loads(out)
    assert parsed["spec"]["containers"][0]["env"][0]["value"] == MARK
    assert parsed["spec"]["containers"][0]["env"][1]["value"] == "80"
    assert parsed["password"] == MARK
    assert count == 2


def test_redacted_yaml_stays_yaml() -> None:
    """Redacting kubectl's YAML keeps it loadable."""
    text = "env:\n- name: DB_PASSWORD\n  value: hunter2\n- name: PORT\n  value: '80'\npassword: x\n"
    parsed = yaml.safe_load(redact_text(text)[0])
    assert parsed["env"][0]["value"] != "hunter2"
    assert parsed["env"][1]["value"] == "80"


def test_streaming_matches_whole_text() -> None:
    """Feeding lines one by one gives the same result as redacting the whole text."""
    text = "a: 1\ndata:\n  k: v\nkind: Secret\n- name: X_TOKEN\n  value: t\nplain\n"
    redactor = Redactor()
    lines: list[str] = []
    for line in text.split("\n"):
        lines.extend(redactor.feed(line))
    lines.extend(redactor.flush())
    assert ("\n".join(lines), redactor.count) == redact_text(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_redaction_never_raises_and_keeps_line_count(text: str) -> None:
    """Any text redacts without error, line for line."""
    out, count = redact_text(text)
    assert count >= 0
    assert out.count("\n") == text.count("\n")


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        pytest.param('Error from server (NotFound): pods "x" not found', "user", id="classify.notfound"),
        pytest.param(
            'Error from server (Forbidden): secrets is forbidden: User "v"', "user", id="classify.forbidden"
        ),
        pytest.param("error: unknown flag: --foo", "user", id="classify.bad-flag"),
        pytest.param(
            'error: the server doesn\'t have a resource type "x"', "user", id="classify.unknown-kind"
        ),
        pytest.param("The connection to the server 127.0.0.1:1 was refused", "infra", id="classify.refused"),
        pytest.param(
            "Unable to connect to the server: dial tcp: i/o timeout", "infra", id="classify.timeout"
        ),
        pytest.param(
            "error: You must be logged in to the server (Unauthorized)", "infra", id="classify.unauthorized"
        ),
        pytest.param(
            "Unable to connect to the server: x509: certificate signed by unknown authority",
            "infra",
            id="classify.tls",
        ),
    ],
)
def test_error_classification(stderr: str, kind: str) -> None:
    """kubectl's stderr maps to user (the request was wrong) or infra (could not reach or authenticate)."""
    assert classify(stderr) == kind
