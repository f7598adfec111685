"""One pass over the code for every detector.

Each code query costs a scan of every DEX image, so the queries of all rules (capabilities,
anti-analysis checks, stub-loader APIs, URL strings) are merged into one :class:`Query`, run once
per app, and the references are filed under what they reference.
"""

from __future__ import annotations

import re

from techvet.app.code import Query, Reference
from techvet.app.reader import App
from techvet.detect._flow import const_argument, method_context
from techvet.knowledge import Knowledge, Rule

_CACHE_KEY = "code_refs"
_CODE_KEYS = (
    "invoke",
    "sget",
    "sget_uri_fields_of",
    "new_instance",
    "strings",
    "string_prefixes",
    "invoke_in_context",
    "invoke_with_const_argument",
)


def _rule_query(rule: Rule) -> Query:
    m = rule.match
    return Query(
        invoke=tuple(m.get("invoke", ())),
        sget=tuple(m.get("sget", ())),
        sget_uri_fields_of=tuple(m.get("sget_uri_fields_of", ())),
        new_instance=tuple(m.get("new_instance", ())),
        strings=tuple(m.get("strings", ())),
        string_prefixes=tuple(m.get("string_prefixes", ())),
    )


def code_rules(kb: Knowledge) -> list[Rule]:
    """Rules whose match names code (capabilities and anti-analysis checks)."""
    return [r for r in kb.rules.values() if any(k in r.match for k in _CODE_KEYS)]


def references(app: App, kb: Knowledge) -> dict[str, list[Reference]]:
    """Every code reference any detector asks about, keyed by the referenced API, field or string."""
    cached = app.cache.get(_CACHE_KEY)
    if isinstance(cached, dict):
        return cached
    parts = [_rule_query(r) for r in code_rules(kb)]
    stub = kb.generic_stub
    urls = tuple(dict.fromkeys(whole for _, whole, _ in app.code.urls))
    urls += tuple(dict.fromkeys(host for host, _ in bare_hosts(app, kb)))
    contextual = [c["api"] for r in code_rules(kb) for c in r.match.get("invoke_in_context", ())]
    named = [c["method"] for r in code_rules(kb) for c in r.match.get("invoke_with_const_argument", ())]
    merged = Query(
        invoke_named=tuple(dict.fromkeys(named)),
        invoke=tuple(dict.fromkeys(x for q in parts for x in q.invoke))
        + tuple(contextual)
        + tuple(stub.get("loader_apis", ()))
        + tuple(kb.string_decryption.get("decoders", ())),
        sget=tuple(dict.fromkeys(x for q in parts for x in q.sget)),
        sget_uri_fields_of=tuple(dict.fromkeys(x for q in parts for x in q.sget_uri_fields_of)),
        new_instance=tuple(dict.fromkeys(x for q in parts for x in q.new_instance)),
        strings=tuple(dict.fromkeys(x for q in parts for x in q.strings))
        + tuple(stub.get("reflective_strings", ()))
        + urls,
        string_prefixes=tuple(dict.fromkeys(x for q in parts for x in q.string_prefixes)),
    )
    out: dict[str, list[Reference]] = {}
    for ref in app.code.find(merged):
        out.setdefault(ref.what, []).append(ref)
    app.cache[_CACHE_KEY] = out
    return out


def bare_hosts(app: App, kb: Knowledge) -> list[tuple[str, str]]:
    """Host-name and IPv4 string constants (cached per app: the endpoints detector needs them too)."""
    cached = app.cache.get("bare_hosts")
    if isinstance(cached, list):
        return cached
    found = app.code.bare_hosts(kb.endpoints.get("bare_host_tlds", ()), kb.endpoints.get("bare_host_not_first", ()))
    own = app.package
    if own:
        found = [(h, d) for h, d in found if h != own]
    app.cache["bare_hosts"] = found
    return found


def refs_for_rule(rule: Rule, refs: dict[str, list[Reference]], app: App) -> list[Reference]:
    """The references that satisfy ``rule``'s match."""
    m = rule.match
    found: list[Reference] = []
    for key in (*m.get("invoke", ()), *m.get("strings", ()), *m.get("new_instance", ()), *m.get("sget", ())):
        found.extend(refs.get(key, ()))
    prefixes = tuple(m.get("string_prefixes", ()))
    uri_owners = tuple(m.get("sget_uri_fields_of", ()))
    pattern = re.compile(m["string_pattern"]) if "string_pattern" in m else None
    if prefixes or uri_owners:
        for what, rs in refs.items():
            if prefixes and what.startswith(prefixes) and (pattern is None or pattern.match(what)):
                found.extend(rs)
            elif uri_owners and "->" in what and what.startswith(uri_owners):
                found.extend(rs)
    dexes = {d.name: d for d in app.code.dexes}
    for ctx in m.get("invoke_in_context", ()):
        lacks_invoke = tuple(ctx.get("method_lacks_invoke", ()))
        lacks_init = tuple(ctx.get("method_lacks_init", ()))
        for ref in refs.get(ctx["api"], ()):
            if ref.site and method_context(
                dexes[ref.dex], ref.site, ctx.get("method_has_string"), lacks_invoke, lacks_init
            ):
                found.append(ref)
    for arg in m.get("invoke_with_const_argument", ()):
        bits = int(arg["bits"])
        for ref in refs.get(f"*->{arg['method']}", ()):
            value = const_argument(dexes[ref.dex], ref.site, int(arg["argument"])) if ref.site else None
            if value is not None and value & bits == bits:
                found.append(ref)
    not_from = tuple(m.get("not_from", ()))
    return [r for r in found if not r.class_name.startswith(not_from)] if not_from else found
