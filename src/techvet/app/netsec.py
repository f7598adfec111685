"""Network Security Config facts: where cleartext is allowed, which CAs are trusted, what is pinned.

Read from the parsed ``res/xml`` file the manifest names (android:networkSecurityConfig). Only
``base-config`` and ``domain-config`` count; ``debug-overrides`` apply to debuggable builds only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from techvet.app.axml import Element


@dataclass(frozen=True, slots=True)
class DomainPolicy:
    """One ``base-config`` (domains empty) or ``domain-config``."""

    domains: tuple[str, ...]
    cleartext_permitted: bool | None  # None: not set here (inherited)
    trusts_user_cas: bool
    pins: int


@dataclass(frozen=True, slots=True)
class NetworkSecurity:
    base: DomainPolicy | None
    domains: tuple[DomainPolicy, ...]

    def _scopes(self, holds: Callable[[DomainPolicy], bool | None]) -> list[str]:
        """Where ``holds`` is true: "all hosts" for the base config, else the policy's domains."""
        out = ["all hosts (base-config)"] if self.base and holds(self.base) else []
        for policy in self.domains:
            if holds(policy):
                out.extend(policy.domains)
        return out

    @property
    def cleartext_scopes(self) -> list[str]:
        """Where cleartext is explicitly permitted."""
        return self._scopes(lambda p: p.cleartext_permitted)

    @property
    def user_ca_scopes(self) -> list[str]:
        """Where user-installed CAs are trusted."""
        return self._scopes(lambda p: p.trusts_user_cas)

    @property
    def pinned_domains(self) -> list[str]:
        return [d for policy in self.domains if policy.pins for d in policy.domains]


def _truthy(value: object) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def _policy(el: Element, domains: tuple[str, ...]) -> DomainPolicy:
    users = any(
        c.attrs.get("src") == "user"
        for a in el.children
        if a.tag == "trust-anchors"
        for c in a.children
        if c.tag == "certificates"
    )
    pins = sum(1 for p in el.children if p.tag == "pin-set" for pin in p.children if pin.tag == "pin")
    return DomainPolicy(domains, _truthy(el.attrs.get("cleartextTrafficPermitted")), users, pins)


def read_network_security(root: Element) -> NetworkSecurity:
    """Facts of a parsed network-security-config document (nested domain-configs included)."""
    base = None
    domains: list[DomainPolicy] = []
    todo = [c for c in root.children]
    while todo:
        el = todo.pop(0)
        if el.tag == "base-config":
            base = _policy(el, ())
        elif el.tag == "domain-config":
            names = tuple(d.text.strip().lower() for d in el.children if d.tag == "domain" and d.text.strip())
            domains.append(_policy(el, names))
            todo.extend(c for c in el.children if c.tag == "domain-config")
    return NetworkSecurity(base, tuple(domains))
