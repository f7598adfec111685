"""A verdict a manager can act on: pass, warn or fail against the user's policy, with a risk score.

The policy is data (app_policy.yaml by default; ``--policy FILE``): block and warn lines that name
finding rules and conditions, acceptances with reasons and expiry dates, and allow-lists. The
verdict names every policy line that decided it and the findings behind each; the score's formula
is in app_policy.yaml and in :data:`SCORE_FORMULA`, and every report shows it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from techvet.errors import TechvetError, UsageError, refuse_if_larger
from techvet.findings import Finding, Severity
from techvet.knowledge import DATA_DIR, _read
from techvet.policy_file import check_schema, mapping, parse_policy_yaml, policy_document, short, text, texts

WEIGHTS = {Severity.CRITICAL: 0.5, Severity.HIGH: 0.25, Severity.MEDIUM: 0.08, Severity.LOW: 0.02, Severity.INFO: 0.0}
SCORE_FORMULA = (
    "100 x (1 - product of (1 - w)) over the findings not accepted; w: critical 0.5, high 0.25, medium 0.08, low 0.02"
)
# a destination's facts a line can ask for: the name's owner, the server's network, the name's registry
_PLACE_CONDITIONS = {
    "owner_countries": "owner_country",
    "network_countries": "network_owner_country",
    "registry_countries": "registry_country",
}
_CONDITIONS = {"rules", "lists", "min_severity", "id", "why", *_PLACE_CONDITIONS}
_COMMON_KEYS = ("source", "as_of", "kind", "id", "title")
_APP_SECTIONS = ("block", "warn", "accept", "allow")
_ALLOW_KINDS = ("packages", "certificates", "sdks", "hosts")
_ACCEPT_KEYS = {"rules", "packages", "subjects", "reason", "expires"}


@dataclass
class Verdict:
    verdict: str  # pass | warn | fail
    score: int
    policy: str
    decided_by: list[dict[str, Any]] = field(default_factory=list)  # policy line, its why, its findings
    accepted: list[dict[str, Any]] = field(default_factory=list)  # findings accepted, with the reason
    expired: list[dict[str, Any]] = field(default_factory=list)  # acceptances no longer applied

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "score": self.score,
            "score_formula": SCORE_FORMULA,
            "policy": self.policy,
            "decided_by": self.decided_by,
            "accepted": self.accepted,
            "expired_exceptions": self.expired,
        }


KINDS = {  # a policy file's `kind` -> what it is and where it is used, for the error a wrong one gets
    "app-policy": "an app policy (techvet scan, traffic and diff --policy; techvet fleet --app-policy)",
    "fleet-policy": "a fleet policy (techvet fleet --policy)",
}


def read_policy(path: str | None, default: str, kind: str) -> dict[str, Any]:
    """A policy document of ``kind``: the user's file, or the bundled ``default`` when no path is given.

    Why a policy must say its kind: an app policy has no fleet rules and a fleet policy no block
    lines, so one read as the other used to decide nothing, and nothing decided read as "allow".
    A file of another kind, or of none, is refused before anything is judged by it."""
    doc = _read(DATA_DIR, default) if path is None else _user_policy(path)
    return of_kind(doc, path or default, kind)


def of_kind(doc: dict[str, Any], name: str, kind: str) -> dict[str, Any]:
    """``doc`` when it says it is a policy of ``kind``; one line saying what it is otherwise."""
    found = doc.get("kind")
    if found == kind:
        return doc
    if isinstance(found, str) and found in KINDS:
        raise TechvetError(f"policy {name} is {KINDS[found]}; here {KINDS[kind]} is needed")
    if found is None:
        raise TechvetError(f"policy {name} does not say what it is: add 'kind: {kind}' ({KINDS[kind]})")
    raise TechvetError(f"policy {name}: unknown kind {found!r} (one of: {', '.join(KINDS)})")


MAX_POLICY_BYTES = 1 << 20  # a policy is a page of lines, not a data set


def _user_policy(path: str) -> dict[str, Any]:
    """A user's policy file as a mapping, or one line saying why it is not one (a folder, binary
    bytes, broken YAML, a list, an empty file), before its kind and sections are checked."""
    p = Path(path)
    if p.is_dir():
        raise TechvetError(f"{path}: a folder, not a policy file")
    if not p.is_file():
        raise TechvetError(f"{path}: no such policy file")
    refuse_if_larger(p, MAX_POLICY_BYTES, shown=f"policy {path}")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TechvetError(f"policy {path}: not UTF-8 text (a policy is a YAML file)") from None
    except OSError as exc:
        raise TechvetError(f"policy {path}: cannot read ({exc.strerror})") from None
    return user_policy_text(text, path)


def user_policy_text(text: str, name: str) -> dict[str, Any]:
    """A user's policy text as a mapping (a file's, or one kept by the service), or one line saying
    why it is not one, before its kind and sections are checked."""
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise TechvetError(f"policy {name}: over {MAX_POLICY_BYTES >> 20} MiB (a policy is a page of lines)")
    doc = parse_policy_yaml(text, f"policy {name}")
    if not isinstance(doc, dict) or not doc:
        raise TechvetError(f"policy {name}: empty, or not a mapping of sections (kind, source, as_of, block ...)")
    if not doc.get("source") or not doc.get("as_of"):
        raise TechvetError(f"policy {name}: say where its lines come from and when (source:, as_of:)")
    return doc


def policy_sections(doc: dict[str, Any], name: str, known: tuple[str, ...]) -> None:
    """Refuse a section the policy's kind does not have: a misspelt or foreign section would be
    ignored, and an ignored rule reads as assurance."""
    unknown = sorted(str(k) for k in doc if k not in (*_COMMON_KEYS, *known))
    if unknown:
        raise TechvetError(f"policy {name}: unknown section {unknown} (this kind has: {', '.join(known)})")


def listing(value: Any, name: str, where: str) -> list[Any]:
    """A section that must be a list (of lines, rules, ids), empty when absent."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TechvetError(f"policy {name}: {where} must be a list, got {type(value).__name__}")
    return value


_SECTION = {"type": ["array", "null"]}  # an empty section (``accept:``) is no lines
_ALLOW_ENTRY = {"anyOf": [text(), mapping({"id": text(), "expires": text(), "reason": text(0)}, ("id",))]}
APP_POLICY_SCHEMA = policy_document(
    "app-policy",
    {
        "block": {**_SECTION, "items": {"$ref": "#/$defs/line"}},
        "warn": {**_SECTION, "items": {"$ref": "#/$defs/line"}},
        "accept": {
            **_SECTION,
            "items": mapping(
                {"rules": texts(1), "packages": texts(), "subjects": texts(), "reason": text(), "expires": text()},
                ("rules", "reason"),
            ),
        },
        "allow": {
            **mapping({kind: {**_SECTION, "items": _ALLOW_ENTRY} for kind in _ALLOW_KINDS}),
            "type": ["object", "null"],
        },
    },
)
APP_POLICY_SCHEMA["$defs"] = {
    "line": mapping(
        {
            "id": text(),
            "why": text(0),
            "rules": texts(1),
            "lists": texts(1),
            "min_severity": text(),
            **{condition: texts(1) for condition in _PLACE_CONDITIONS},
        },
        ("id",),
    )
}
"""The shape of an app policy file: every section, key and value type. Checked before any line is
read, so a value of the wrong type is the file's one-line error, never a crash in a scan."""


@dataclass(frozen=True)
class AppPolicy:
    id: str
    block: tuple[dict[str, Any], ...]
    warn: tuple[dict[str, Any], ...]
    accept: tuple[dict[str, Any], ...]
    allow: dict[str, list[Any]]

    @classmethod
    def load(cls, path: str | None = None) -> AppPolicy:
        """The default app policy, or the user's file, checked whole: its kind, its sections, every
        line's keys and values, and that it decides something (a policy with no block or warn line
        would pass every app)."""
        doc = read_policy(path, "app_policy.yaml", "app-policy")
        return cls._checked(doc, path or "app_policy.yaml", users=path is not None)

    @classmethod
    def from_text(cls, text: str, name: str) -> AppPolicy:
        """A user's app policy from its YAML text (the service keeps policies as text), checked as
        ``load`` checks a file; ``name`` is what its errors call it."""
        return cls._checked(of_kind(user_policy_text(text, name), name, "app-policy"), name, users=True)

    @classmethod
    def _checked(cls, doc: dict[str, Any], name: str, users: bool) -> AppPolicy:
        policy_sections(doc, name, _APP_SECTIONS)
        if users:  # the bundled default is checked by the test suite, not at every start
            check_schema(doc, APP_POLICY_SCHEMA, f"policy {name}")
        lines: dict[str, list[dict[str, Any]]] = {}
        for section in ("block", "warn"):
            lines[section] = [_line(line, name, section) for line in listing(doc.get(section), name, section)]
        accept = tuple(_acceptance(e, name) for e in listing(doc.get("accept"), name, "accept"))
        allow_doc = doc.get("allow") or {}
        if not isinstance(allow_doc, dict) or set(allow_doc) - set(_ALLOW_KINDS):
            raise TechvetError(f"policy {name}: allow takes {', '.join(_ALLOW_KINDS)}")
        allow = {k: listing(v, name, f"allow {k}") for k, v in allow_doc.items()}
        for entry in [*accept, *(e for entries in allow.values() for e in entries)]:
            expires = entry.get("expires") if isinstance(entry, dict) else None
            if expires is not None:
                try:
                    date.fromisoformat(str(expires))
                except ValueError:
                    raise TechvetError(f"policy {name}: expires {expires!r} is not a date (YYYY-MM-DD)") from None
        if not lines["block"] and not lines["warn"]:
            raise TechvetError(
                f"policy {name} has no block or warn line: it would pass every app (say what fails or warns)"
            )
        return cls(str(doc.get("id", "policy")), tuple(lines["block"]), tuple(lines["warn"]), accept, allow)


def _line(line: Any, name: str, section: str) -> dict[str, Any]:
    """One block or warn line, checked: known keys, an id, lists where lists belong, a severity."""
    if not isinstance(line, dict):
        raise TechvetError(f"policy {name}: {section} line {short(line)} is not a mapping (id, rules, why ...)")
    unknown = set(line) - _CONDITIONS
    if unknown or "id" not in line:
        what = f"unknown key {sorted(map(str, unknown))}" if unknown else "needs an id"
        raise TechvetError(f"policy {name}: {section} line {line.get('id', '?')}: {what}")
    where = f"{section} line {line['id']}"
    for key in ("rules", "lists", *_PLACE_CONDITIONS):
        if key in line:
            kind = "countries" if key in _PLACE_CONDITIONS else key
            line = {**line, key: checked_values(line[key], kind, name, f"{where}: {key}")}
    if "min_severity" in line:  # parsed here, so a bad value is the policy's error, not a scan's
        try:
            line = {**line, "min_severity": Severity.parse(str(line["min_severity"]))}
        except ValueError as exc:
            raise TechvetError(f"policy {name}: {section} line {line['id']}: {exc}") from None
    return line


def _acceptance(entry: Any, name: str) -> dict[str, Any]:
    """An accept entry: the rules it takes (a list), a reason, optionally packages and an expiry."""
    if not isinstance(entry, dict) or set(entry) - _ACCEPT_KEYS or not isinstance(entry.get("rules"), list):
        raise TechvetError(f"policy {name}: accept entry {short(entry)}: needs rules: [...] and a reason")
    if not entry.get("reason"):
        raise TechvetError(f"policy {name}: accept entry for {entry['rules']}: needs a reason")
    return {**entry, "rules": checked_values(entry["rules"], "rules", name, "accept entry")}


def checked_values(values: Any, kind: str, name: str, where: str) -> list[str]:
    """A policy's list of rule ids, list ids or countries, each one checked: a line naming a rule
    techvet does not have, a misspelt list or a country that is no ISO code would never match, and
    a line that never matches is a policy that silently allows. Countries are taken in either case
    ("cn" is CN)."""
    if not isinstance(values, list) or not values:
        raise TechvetError(f"policy {name}: {where} must be a list of {kind}, not empty")
    from techvet.knowledge import load

    kb = load()
    out = []
    for value in values:
        text = str(value).strip()
        if kind == "countries":
            if len(text) != 2 or not text.isalpha() or not text.isascii():
                raise TechvetError(f"policy {name}: {where}: {value!r} is not a country code (ISO 3166, such as CN)")
            text = text.upper()
        elif kind == "rules" and text not in kb.rules:
            raise TechvetError(f"policy {name}: {where}: no rule {value!r} (techvet rules lists them)")
        elif kind == "lists" and text not in kb.restriction_forms.lists:
            known = ", ".join(kb.restriction_forms.lists)
            raise TechvetError(f"policy {name}: {where}: no list {value!r} (one of: {known})")
        out.append(text)
    return out


INCOMPLETE_LINE = "INCOMPLETE"  # the verdict line an incomplete scan or capture gets, whatever the policy


def decide(
    findings: list[Finding],
    package: str | None,
    certificates: list[str],
    policy: AppPolicy,
    today: date | None = None,
    incomplete: list[str] | tuple[str, ...] = (),
) -> Verdict:
    """The verdict on ``findings`` under ``policy``. ``incomplete``: what could not be examined (a
    detector that failed, a damaged part of a capture): the verdict is then at least warn, whatever
    the policy says, because the findings that decide it may be missing."""
    today = today or date.today()
    verdict = Verdict("pass", 0, policy.id)
    # each exception's expiry is looked at once, so an expired one is reported once
    packages = {k.lower() for k in _live_ids(policy.allow.get("packages", []), today, verdict, "package")}
    certs = {k.lower() for k in _live_ids(policy.allow.get("certificates", []), today, verdict, "certificate")}
    app_allowed = (package or "").lower() in packages or any(c.lower() in certs for c in certificates)
    sdks = _live_ids(policy.allow.get("sdks", []), today, verdict, "sdk")
    hosts = _live_ids(policy.allow.get("hosts", []), today, verdict, "host")
    accepts = [
        e
        for e in policy.accept
        if not _expired(e, today, verdict, f"accept {','.join(e.get('rules', []))} ({e.get('reason', '')})")
    ]
    live: list[Finding] = []
    for f in findings:
        reason = _accepted(f, package, accepts)
        if app_allowed:
            reason = reason or f"the app ({package}) is allow-listed"
        if reason is None and _set_aside(f, sdks, hosts):
            reason = "its SDK or host is allow-listed"
        if reason is not None:
            verdict.accepted.append({"rule": f.rule, "subject": f.subject, "reason": reason})
        else:
            live.append(f)
    for level, lines in (("fail", policy.block), ("warn", policy.warn)):
        for line in lines:
            hits = [f for f in live if _matches(line, f)]
            if hits:
                verdict.decided_by.append(
                    {
                        "line": line["id"],
                        "effect": level,
                        "why": line.get("why", ""),
                        "findings": [{"rule": f.rule, "subject": f.subject, "title": f.title} for f in hits[:20]],
                    }
                )
    if incomplete:
        verdict.decided_by.append(
            {
                "line": INCOMPLETE_LINE,
                "effect": "warn",
                "why": "not everything could be examined, so findings may be missing: " + "; ".join(incomplete[:3]),
                "findings": [],
            }
        )
    effects = {d["effect"] for d in verdict.decided_by}
    verdict.verdict = "fail" if "fail" in effects else "warn" if "warn" in effects else "pass"
    keep = 1.0
    for f in live:
        keep *= 1 - WEIGHTS[f.severity]
    verdict.score = round(100 * (1 - keep))
    return verdict


def tally(verdicts: Iterable[str | None]) -> str:
    """How many of a batch (apps, captures) got each verdict, worst first: "2 fail, 1 pass", or
    "none judged" when none was (every input unreadable)."""
    counts = Counter(verdicts)
    return ", ".join(f"{counts[v]} {v}" for v in ("fail", "warn", "pass") if counts[v]) or "none judged"


@dataclass(frozen=True)
class FailOn:
    """``--fail-on LEVEL``: a finding severity (exit 1 when a finding is at least that severe), a
    verdict (``warn``: exit 1 on warn or fail; ``fail``: on fail only), or ``never``."""

    severity: Severity | None = None
    verdict: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> FailOn:
        if text is None or text.strip().lower() == "never":
            return cls()
        level = text.strip().lower()
        if level in ("warn", "fail"):
            return cls(verdict=level)
        try:
            return cls(severity=Severity.parse(level))
        except ValueError as exc:
            raise UsageError(f"--fail-on: {exc} (or warn, fail: the policy's verdict; or never)") from None

    def reached(self, worst: Severity | None, verdict: str | None) -> bool:
        if self.severity is not None and worst is not None and worst >= self.severity:
            return True
        return self.verdict is not None and verdict in (("warn", "fail") if self.verdict == "warn" else ("fail",))


def _matches(line: dict[str, Any], f: Finding) -> bool:
    if line.get("rules") and f.rule not in line["rules"]:
        return False
    if line.get("lists") and f.extra.get("list") not in line["lists"]:
        return False
    wanted = [(fact, line[c]) for c, fact in _PLACE_CONDITIONS.items() if line.get(c)]
    if wanted:
        # a finding about a host seen at several addresses holds when any one of them meets them all
        places = f.extra.get("destinations") or [f.extra.get("destination")]
        if not any(isinstance(p, dict) and all(p.get(fact) in allowed for fact, allowed in wanted) for p in places):
            return False
    return not (line.get("min_severity") and f.severity < line["min_severity"])


def _expired(entry: Any, today: date, verdict: Verdict, what: str) -> bool:
    expires = entry.get("expires") if isinstance(entry, dict) else None
    if expires and date.fromisoformat(str(expires)) < today:
        verdict.expired.append({"exception": what, "expired": str(expires)})
        return True
    return False


def _accepted(f: Finding, package: str | None, accepts: list[dict[str, Any]]) -> str | None:
    """The reason of the first acceptance (not expired) that takes this finding, if any."""
    for entry in accepts:
        if f.rule not in entry.get("rules", []):
            continue
        if entry.get("packages") and package not in entry["packages"]:
            continue
        if entry.get("subjects") and f.subject not in entry["subjects"]:  # one finding, not the whole rule
            continue
        return str(entry.get("reason", "accepted by the policy"))
    return None


def _live_ids(entries: list[Any], today: date, verdict: Verdict, what: str) -> set[str]:
    """Allow-list ids whose entry has not expired (each expired one is reported once)."""
    out = set()
    for entry in entries:
        key = str(entry.get("id") if isinstance(entry, dict) else entry)
        if not _expired(entry, today, verdict, f"allow {what} {key}"):
            out.add(key)
    return out


def _set_aside(f: Finding, sdks: set[str], hosts: set[str]) -> bool:
    """A finding about an allow-listed SDK or host, or whose evidence all lies in allowed SDKs."""
    if f.subject in sdks or f.subject in hosts:
        return True
    in_sdks = [e.sdk for e in f.evidence if e.sdk]
    return bool(in_sdks) and len(in_sdks) == len(f.evidence) and all(s in sdks for s in in_sdks)


__all__ = [
    "INCOMPLETE_LINE",
    "KINDS",
    "SCORE_FORMULA",
    "AppPolicy",
    "FailOn",
    "Verdict",
    "decide",
    "listing",
    "policy_sections",
    "read_policy",
    "tally",
]
