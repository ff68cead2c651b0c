"""Structured results: pydantic models that publish each tool's outputSchema and build its payload."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Meta(BaseModel):
    """What every successful result carries besides its data."""

    kube_context: str = Field(description="the pinned kubeconfig context the call ran against")
    truncated: bool = Field(
        False, description="true when output was cut; agent_context says where the rest is"
    )
    agent_context: str | None = Field(
        None, description="kro's notes: truncation, redactions, kubectl warnings"
    )
    notice: str | None = Field(None, description="the operator's banner")


class TableOut(Meta):
    """Rows of kubectl's table, keyed by lower-cased column names."""

    columns: list[str] = Field(description="column keys in kubectl's order")
    items: list[dict[str, str]] = Field(description="one object per row, e.g. {name, ready, status, ...}")
    count: int


class ObjectOut(Meta):
    """One API object as JSON, secret-shaped values redacted, managedFields dropped."""

    object: dict[str, Any] | None = Field(None, description="null when the object was too large to return")


class TextOut(Meta):
    """kubectl's human-readable output."""

    text: str


class CanIOut(Meta):
    """The answer to an access question."""

    allowed: bool
    answer: str = Field(description="kubectl's own answer, e.g. yes or no")


class SecretInfo(BaseModel):
    """What the policy lets anyone see of a Secret: never its values, nor its key names."""

    name: str
    namespace: str | None = None
    type: str
    key_count: int | None = Field(None, description="number of data keys (the DATA column)")
    age: str
    labels: str | None = None


_WITHHELD = (
    "Values and key names are withheld: the read-only policy allows only names, types and key counts "
    "of Secrets (rule secret.value-exposure), and kro serve is never looser than the shell."
)


class SecretListOut(Meta):
    """Secrets by name, type and key count."""

    items: list[SecretInfo]
    count: int
    values: Literal["[REDACTED]"] = "[REDACTED]"
    note: str = _WITHHELD


class SecretOut(Meta):
    """One Secret's metadata."""

    secret: SecretInfo | None = None
    values: Literal["[REDACTED]"] = "[REDACTED]"
    note: str = _WITHHELD


class ErrorOut(BaseModel):
    """A failed or blocked call (sent with isError: true)."""

    kind: Literal["policy", "user", "infra"]
    message: str
    rule: str | None = None
    kube_context: str | None = None
    verb: str | None = Field(None, description="the kubectl verb the policy judged (policy errors)")
    resource: str | None = Field(None, description="the resource type the call named (policy errors)")
