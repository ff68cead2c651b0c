"""docs/policy.md lists exactly the rule ids of shims/rules.py, each with a one-line meaning."""

from __future__ import annotations

from pathlib import Path

from kro.shims import rules

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def _code_rules() -> set[str]:
    """Every rule id the policy can return: the string constants of rules.py that name a rule."""
    values = {v for k, v in vars(rules).items() if k.isupper() and isinstance(v, str)}
    return {v for v in values if v == rules.ALLOWED or ("." in v and " " not in v)}


def _doc_rows() -> dict[str, str]:
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 2:
            rows[cells[0].strip("`")] = "|".join(cells[1:]).strip()
    return rows


def test_doc_lists_every_rule_of_the_code() -> None:
    assert set(_doc_rows()) == _code_rules()


def test_every_rule_has_a_meaning() -> None:
    assert all(len(meaning) > 10 for meaning in _doc_rows().values())


def test_code_rules_found() -> None:
    # Guard the extraction itself: the rule families of the policy are all there.
    families = {r.split(".")[0] for r in _code_rules()}
    assert {"allowed", "input", "parse", "global", "verb", "read", "secret", "kubetail"} <= families


def test_the_proxy_names_rules_only_through_rules_py() -> None:
    """No rule id written as a literal in sandbox/proxy/ (where the docs-sync test would not see it)."""
    proxy = Path(__file__).resolve().parents[2] / "sandbox" / "proxy"
    ids = _code_rules() - {rules.ALLOWED}
    for path in sorted(proxy.glob("*.py")):
        text = path.read_text()
        assert [r for r in ids if f'"{r}"' in text or f"'{r}'" in text] == [], path.name
