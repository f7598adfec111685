"""Echap's stalkerware indicators (``ioc.yaml``) read into an :class:`IndicatorIndex`.

Each entry is one commercial stalkerware product with its package names, signing certificates
(SHA-1), and the hosts it uses: ``websites`` (where it is sold), ``distribution`` (where the app is
downloaded) and ``c2`` domains and addresses (where it reports). The role is kept with each host,
so a finding can say "a C2 server of" rather than only "a host of".

Not read, and counted as not checked: ``certificate_organizations`` and ``certificate_cname_re``
(a certificate's organisation name, or a pattern over its common name: names anyone can put in a
self-signed certificate, so a match would not say which product signed the app) and a "host" that
is a web address rather than a host name.
"""

from __future__ import annotations

from typing import Any

from techvet.iocs.index import Entry, Family, IndicatorIndex
from techvet.iocs.values import MAX_ENTRIES, IndicatorFileError, Unusable, clean_text, normalised, read_yaml, texts

MAX_ECHAP_BYTES = 8 << 20  # ioc.yaml is about 100 KB


def echap_index(
    data: bytes, shown: str, index: IndicatorIndex, source: str, licence: str, date: str, home: str
) -> IndicatorIndex:
    """The products of ``ioc.yaml`` (its bytes; ``shown``: what errors call it), added to ``index``."""
    if len(data) > MAX_ECHAP_BYTES:
        raise IndicatorFileError(f"{shown}: over {MAX_ECHAP_BYTES >> 20} MiB")
    doc = read_yaml(data, shown)
    if not isinstance(doc, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in doc):
        raise IndicatorFileError(f"{shown}: not a list of products with names (Echap's ioc.yaml)")
    added = 0
    for product in doc:
        added += _add_product(product, shown, index, source, licence, date, home)
        if added > MAX_ENTRIES:
            raise IndicatorFileError(f"{shown}: more than {MAX_ENTRIES} indicator values")
    return index


def _add_product(
    product: dict[str, Any], shown: str, index: IndicatorIndex, source: str, licence: str, date: str, home: str
) -> int:
    """Add one product's indicators; how many entries it added."""
    name = clean_text(product["name"])
    others = [clean_text(n, 60) for n in _texts(product.get("names")) if n != product["name"]]
    about = f"Commercial stalkerware, also sold as {', '.join(others[:12])}" if others else "Commercial stalkerware"
    kind = clean_text(product.get("type"), 40) or "stalkerware"
    family = index.family(Family(name, kind, about, source, licence, date, (home,)))
    c2: dict[str, Any] = product["c2"] if isinstance(product.get("c2"), dict) else {}
    groups: list[tuple[str, str, list[str]]] = [
        ("app_id", "", _texts(product.get("packages"))),
        ("cert_sha1", "", _texts(product.get("certificates"))),
        ("domain", "website", _texts(product.get("websites"))),
        ("domain", "distribution", _texts(product.get("distribution"))),
        ("domain", "c2", _texts(c2.get("domains"))),
        ("ip", "c2", _texts(c2.get("ips")) + _texts(c2.get("ip"))),
    ]
    added = 0
    for kind_of, role, values in groups:
        for value in values:
            where = f"{shown}#{name}/{role or kind_of}"
            if kind_of == "domain" and "/" in value:
                index.skip(family, "url")  # a web address (a GitHub project), not a host
                continue
            try:
                index.add(kind_of, normalised(kind_of, value), Entry(family, where, role))
                added += 1
            except Unusable as exc:
                index.skip(family, f"{kind_of} ({exc.reason})")
    for key in ("certificate_organizations", "certificate_cname_re"):
        for _ in _texts(product.get(key)):
            index.skip(family, key.replace("_re", " pattern").replace("_", " "))
    return added


def _texts(value: Any) -> list[str]:
    """The values of a list of text (or numbers, as YAML reads some ids); anything else is none."""
    return [str(v) for v in texts(value) if isinstance(v, str | int) and not isinstance(v, bool)]


__all__ = ["echap_index"]
