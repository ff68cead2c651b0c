"""Turn a call's answer into a tool result: parse tables and JSON, scrub secrets, keep it bounded."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kro.mcp.outputs import (
    CanIOut,
    ErrorOut,
    Meta,
    ObjectOut,
    SecretInfo,
    SecretListOut,
    SecretOut,
    TableOut,
    TextOut,
)
from kro.shims.api_scrub import redact_objects

# Largest spilled object read back whole; bigger ones stay in the cache file the notes name.
MAX_OBJECT_BYTES = 128 * 1024
_CELL = re.compile(r"\S+(?: \S+)*")


@dataclass(frozen=True)
class Answer:
    """What a successful call gave, read off the pipeline's typed outcome (no rendered text is parsed)."""

    content: str
    kube_context: str
    agent_context: str | None = None  # kro's notes, as the envelope's agent_context
    notice: str | None = None
    spill: Path | None = None  # the whole (redacted) output, when content is only its first part
    other_notes: str | None = None  # the notes without the one naming the spill file


@dataclass(frozen=True)
class Reply:
    """One tool result: text blocks for the model, structured content, and whether it is an error."""

    texts: tuple[str, ...]
    structured: dict[str, Any]
    is_error: bool = False


def column_key(header: str) -> str:
    """A table header as a JSON key: 'PORT(S)' -> ports, 'CPU(%)' -> cpu_percent, 'LAST SEEN' -> last_seen."""
    text = header.lower().replace("(s)", "s").replace("(%)", "_percent")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "column"


def parse_table(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """kubectl's aligned table as column keys and row objects (cells start where their header starts)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return [], []
    cells = list(_CELL.finditer(lines[0]))
    keys = [column_key(m.group()) for m in cells]
    starts = [m.start() for m in cells]
    rows = []
    for line in lines[1:]:
        aligned = all(s == 0 or s > len(line) or line[s - 1] == " " for s in starts)
        if aligned:
            values = [line[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
        else:  # not tabwriter-aligned: fall back to runs of two or more spaces
            values = re.split(r"\s{2,}", line.strip(), maxsplit=len(keys) - 1)
        rows.append(dict(zip(keys, values + [""] * (len(keys) - len(values)), strict=False)))
    return keys, rows


def scrub(value: Any) -> tuple[Any, int]:
    """Redact secret-shaped values in parsed JSON (in place) and drop managedFields; the value and how many
    were replaced. The structured redactor is the session API proxy's own (shims/api_scrub.py)."""
    stack = [value]
    while stack:  # iterative: parsed JSON may nest deeply
        node = stack.pop()
        if isinstance(node, dict):
            node.pop("managedFields", None)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return redact_objects(value)


def _meta(answer: Answer) -> dict[str, Any]:
    return {
        "kube_context": answer.kube_context,
        "truncated": answer.spill is not None,
        "agent_context": answer.agent_context,
        "notice": answer.notice,
    }


def _payload(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def _texts(main: str, meta: Meta) -> tuple[str, ...]:
    extra = " ".join(part for part in (meta.agent_context, meta.notice) if part)
    return (main, f"[kro] {extra}") if extra else (main,)


def _add_note(meta: dict[str, Any], note: str) -> None:
    meta["agent_context"] = " ".join(p for p in (meta.get("agent_context"), note) if p)


def error(kind: str, message: str, rule: str | None, kube_context: str | None, verb: str | None = None,
          resource: str | None = None) -> Reply:  # fmt: skip
    """A blocked or failed call as an isError result naming kind, rule and message (and, when the policy
    refused it, the verb and resource it judged: read off the decision, never out of the message)."""
    out = ErrorOut(kind=kind, message=message, rule=rule, kube_context=kube_context,  # type: ignore[arg-type]
                   verb=verb, resource=resource)  # fmt: skip
    rule = f" (rule {out.rule})" if out.rule else ""
    return Reply((f"{out.kind} error{rule}: {out.message}",), _payload(out), is_error=True)


def table(answer: Answer) -> Reply:
    """List tools: kubectl's wide table as rows."""
    columns, items = parse_table(answer.content)
    out = TableOut(columns=columns, items=items, count=len(items), **_meta(answer))
    return Reply(_texts(answer.content, out), _payload(out))


def text(answer: Answer) -> Reply:
    """Describe, logs, rollout and other human-readable output."""
    out = TextOut(text=answer.content, **_meta(answer))
    return Reply(_texts(out.text, out), _payload(out))


def _whole_output(answer: Answer) -> tuple[str, str] | None:
    """The full (already redacted) output: the content, or the spill file when it is small enough."""
    if answer.spill is None:
        return answer.content, answer.agent_context or ""
    try:
        if answer.spill.stat().st_size > MAX_OBJECT_BYTES:
            return None
        data = answer.spill.read_text("utf-8", "replace")
    except OSError:
        return None
    return data, answer.other_notes or ""


def json_object(answer: Answer) -> Reply:
    """Get tools: the object as scrubbed JSON, read back whole when it did not fit the preview."""
    meta = _meta(answer)
    whole = _whole_output(answer)
    obj: Any = None
    if whole is not None:
        try:
            obj = json.loads(whole[0])
        except ValueError:
            obj = None
    if not isinstance(obj, dict):
        out = ObjectOut(object=None, **meta)
        return Reply(_texts(answer.content, out), _payload(out))
    assert whole is not None
    clean, count = scrub(obj)
    meta.update(truncated=False, agent_context=whole[1] or None)
    if count:
        _add_note(meta, f"kro serve replaced {count} more secret-shaped value(s) with [REDACTED].")
    out = ObjectOut(object=clean, **meta)
    return Reply(_texts(json.dumps(clean, indent=2, ensure_ascii=False), out), _payload(out))


def raw(answer: Answer) -> Reply:
    """kubectl_read: the content as kubectl printed it; whole JSON documents are scrubbed once more."""
    content = answer.content
    meta = _meta(answer)
    if content.lstrip().startswith("{") and not meta["truncated"]:
        try:
            clean, count = scrub(json.loads(content))
        except ValueError:
            count = 0
        if count:
            content = json.dumps(clean, indent=4, ensure_ascii=False) + "\n"
            _add_note(meta, f"kro serve replaced {count} more secret-shaped value(s) with [REDACTED].")
    out = TextOut(text=content, **meta)
    return Reply(_texts(out.text, out), _payload(out))


def can_i(answer: Answer) -> Reply:
    """auth can-i: kubectl prints yes/no (and exits 1 for no)."""
    said = answer.content.strip() or "no"
    out = CanIOut(allowed=said.split()[0] == "yes", answer=said, **_meta(answer))
    return Reply(_texts(said, out), _payload(out))


def _secret_info(row: dict[str, str]) -> SecretInfo:
    data = row.get("data", "")
    return SecretInfo(
        name=row.get("name", ""),
        namespace=row.get("namespace") or None,
        type=row.get("type", ""),
        key_count=int(data) if data.isdigit() else None,
        age=row.get("age", ""),
        labels=row.get("labels"),
    )


def secrets(answer: Answer) -> Reply:
    """list_secrets: names, types and key counts from the table the policy allows."""
    _, rows = parse_table(answer.content)
    out = SecretListOut(items=[_secret_info(r) for r in rows], count=len(rows), **_meta(answer))
    return Reply(_texts(answer.content + out.note, out), _payload(out))


def secret(answer: Answer) -> Reply:
    """get_secret: one Secret's metadata, values never."""
    _, rows = parse_table(answer.content)
    out = SecretOut(secret=_secret_info(rows[0]) if rows else None, **_meta(answer))
    return Reply(_texts(answer.content + out.note, out), _payload(out))
