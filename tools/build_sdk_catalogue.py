#!/usr/bin/env python3
"""Build techvet's SDK catalogue from maintained sources instead of by hand.

    python tools/build_sdk_catalogue.py [--shared ../shared/knowledge]

Sources, each entry keeping which one named it and under which licence:

- LibChecker-Rules (Apache-2.0): manifest components (activities, services, receivers, providers) by
  exact class name, each with its SDK's label and team. A component names its SDK even when the code
  is obfuscated, because the manifest must name the real class. Package prefixes are derived from
  the components only where that is safe (see :func:`component_prefixes`).
- LibRadar's package tags (Apache-2.0): package prefix -> library name, type and site.
- Third-party SDK disclosure lists that Chinese apps publish under PIPL and MIIT rules
  (``tools/sdk_sources/disclosures.tsv``: SDK name, maker, package names, as published).
- Exodus Privacy's tracker list (ODbL) stays in ``exodus_trackers.json`` (tools/build_exodus.py);
  this tool adds its makers and countries (``exodus_vendors``).

Who makes an SDK and where the maker is comes from ``tools/sdk_sources/vendors_by_website.tsv`` and
``vendors_by_team.tsv``: one row per SDK site or LibChecker team, researched by hand with a reference
each, never guessed from a domain suffix. An SDK whose maker is not known keeps an empty vendor.

Precision rules, tested in tests/test_sdk_catalogue.py: prefixes are whole package segments of at
least two segments; no prefix is a platform or open-source library's package (or inside one); a
prefix that only names a big vendor's whole namespace (``com.tencent``) is not taken from a
component list, where it would claim that vendor's every library.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCES = HERE / "sdk_sources"
DATA = ROOT / "src/techvet/knowledge/data"
OUT = DATA / "sdk_catalogue.json"
COMPONENT_KINDS = ("activities", "services", "receivers", "providers")
PACKAGE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
# Trailing package segments that say where a component sits inside an SDK, not which SDK it is.
_TAIL_WORDS = (
    "ui activity activities service services receiver receivers provider providers util utils impl "
    "internal view views component components app base common core stub stubs proxy delegate "
    "container containers page pages api"
)
GENERIC_TAIL = frozenset(_TAIL_WORDS.split())
LIBRADAR_CATEGORY = {
    "Advertisement": "ads",
    "Mobile Analytics": "analytics",
    "Payment": "payment",
    "Map/LBS": "location",
    "Social Network": "social",
    "App Market": "app-store",
    "Game Engine": "game-engine",
    "Digital Identity": "identity",
    "Development Framework": "framework",
    "Development Aid": "development",
    "Utility": "utility",
    "GUI Component": "ui",
}
# LibChecker labels carry no category; these words in a label name one (descriptions are too loose:
# "interface" is not a face SDK). The first that matches wins, so the code-replacing kinds that
# TV303 reports as high come first, and only by their product names.
CATEGORY_WORDS: tuple[tuple[str, str], ...] = (
    ("hot-patching", r"热修复|热更新|hot.?fix|\btinker\b|sophix|\brobust\b|andfix"),
    ("plugin-framework", r"插件化|replugin|\bshadow\b|virtualapp|virtualapk|\bmira\b|neptune|qigsaw|droidplugin"),
    ("push", r"推送|\bpush\b"),
    ("ads", r"广告|\bads?\b|admob|audience network|pangle|ironsource|applovin|联盟"),
    ("analytics", r"统计|分析|analytics|datafinder|measurement"),
    ("payment", r"支付|\bpay|billing|银联|米大师"),
    ("location", r"地图|定位|\bmaps?\b|location|\blbs\b"),
    ("social", r"分享|登录|\bshare\b|oauth|sign-in|开放平台|帐号|账号|号码认证|本机号码|闪验"),
    ("identifiers", r"\boaid\b|\bmsa\b|\baaid\b"),
    ("face-recognition", r"人脸|实人认证|旷视|face\+\+"),
    ("crash-reporting", r"crash|bugly|崩溃"),
    ("messaging", r"\bim\b|通信|客服|\bchat\b"),
)


def _slug_host(url: str) -> str:
    """The key an SDK's site is researched under: its host without ``www.``, or ``github.com/<owner>``."""
    if not url:
        return ""
    parsed = urlparse(url if "://" in url else "http://" + url)
    host = (parsed.hostname or "").lower().removeprefix("www.")
    if host == "github.com":
        owner = parsed.path.strip("/").split("/")[0].lower()
        return f"github.com/{owner}" if owner else host
    return host


def _read_tsv(path: Path) -> list[dict[str, str]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def _under(package: str, prefix: str) -> bool:
    return package == prefix or package.startswith(prefix + ".")


class Catalogue:
    """The entries being built, with the prefix and component indexes the precision rules need."""

    def __init__(self, curated: list[dict], libraries: dict[str, str], named: dict[str, set[str]]) -> None:
        # a catch-all entry (a vendor's whole namespace) owns only what no specific entry claims
        self.curated_prefix = {p: s["id"] for s in curated if not s.get("catch_all") for p in s["prefixes"]}
        self.catch_all = {p: s["id"] for s in curated if s.get("catch_all") for p in s["prefixes"]}
        self.curated_ids = {s["id"] for s in curated}
        self.named = named  # every prefix any source gives -> the SDK names it is given under
        self.libraries = libraries
        self.entries: dict[str, dict] = {}
        self.prefix_owner: dict[str, str] = dict(self.curated_prefix)
        self.components: dict[str, str] = {}
        self.extensions: dict[str, dict] = {}  # hand-curated SDK id -> prefixes other sources add
        self.skipped: list[dict[str, str]] = []

    def blocked(self, prefix: str, name: str) -> str | None:
        """Why ``prefix`` cannot be anyone's SDK, or None."""
        if not PACKAGE.match(prefix):
            return "not a package name of at least two segments"
        for lib, lib_name in self.libraries.items():
            if _under(prefix, lib):
                return f"inside {lib_name} ({lib}), a platform or open-source package"
        return None

    def too_broad(self, prefix: str, name: str) -> str | None:
        """Why ``prefix`` is too broad for a new SDK ``name``: a source names a package under it as
        another SDK (LibRadar's "Baidu APP SDK" at ``com.baidu.android`` would claim Baidu's push)."""
        for other, names in self.named.items():
            if other != prefix and _under(other, prefix) and names - {name}:
                return f"too broad: it would also claim {other} ({sorted(names - {name})[0]})"
        return None

    def covering(self, prefix: str, catch_all: bool = False) -> str | None:
        """The SDK id already owning ``prefix`` or a package above it (the longer name wins); with
        ``catch_all``, a vendor-namespace entry (Google Play services) counts too."""
        probe = prefix
        while probe:
            if probe in self.prefix_owner:
                return self.prefix_owner[probe]
            if catch_all and probe in self.catch_all:
                return self.catch_all[probe]
            probe = probe.rpartition(".")[0]
        return None

    def add(self, entry: dict, source_item: str, may_extend: bool = True) -> str | None:
        """Add ``entry`` (its prefixes filtered by the precision rules); returns the id that holds it.

        When some of its prefixes already belong to an SDK, the entry is that SDK named again: its
        components join it, and with ``may_extend`` (a source that lists one SDK's packages together,
        as disclosure lists and LibChecker's labels do) so do its remaining prefixes, for a
        hand-curated SDK as an extension the loader applies: Amap's legacy ``com.loc`` is Amap. A
        source that only groups rows by name (LibRadar) makes a new entry of the rest instead.
        """
        fresh = []
        merged_into = None
        for prefix in entry["prefixes"]:
            reason = self.blocked(prefix, entry["name"])
            owner = None if reason else self.covering(prefix)
            if owner is None and not reason:
                reason = self.too_broad(prefix, entry["name"])
                if not reason:
                    fresh.append(prefix)
                    continue
            if reason:
                self.skipped.append({"source": entry["source"], "item": f"{source_item}: {prefix}", "reason": reason})
                continue
            merged_into = merged_into or owner
            if owner in self.entries and entry["source"] not in self.entries[owner].setdefault("also_named_by", []):
                self.entries[owner]["also_named_by"].append(entry["source"])
        if merged_into is not None and (may_extend or not fresh):
            target = self.entries.get(merged_into) or self.extensions.setdefault(
                merged_into, {"prefixes": [], "sources": []}
            )
            target["prefixes"] = sorted({*target["prefixes"], *fresh})
            if merged_into not in self.entries and entry["source"] not in target["sources"]:
                target["sources"].append(entry["source"])
            self._index(merged_into, fresh, entry.get("components", []))
            return merged_into
        if not fresh and not entry.get("components"):
            return merged_into
        if not fresh:  # components only: those inside a known SDK's package are that SDK's
            components = entry["components"]
            uncovered = [c for c in components if self.covering(c.rpartition(".")[0], catch_all=True) is None]
            self._index("", [], [c for c in components if c not in uncovered])
            if not uncovered:
                return None
            entry = {**entry, "components": uncovered}
        entry = {**entry, "prefixes": sorted(set(fresh))}
        sdk_id = entry["id"]
        while sdk_id in self.entries or sdk_id in self.curated_ids:
            sdk_id += "-2"
        entry["id"] = sdk_id
        self.entries[sdk_id] = entry
        self._index(sdk_id, entry["prefixes"], entry.get("components", []))
        return sdk_id

    def _index(self, sdk_id: str, prefixes: list[str], components: list[str]) -> None:
        """File ``prefixes`` under ``sdk_id``, and each component under the SDK whose package holds it
        (``sdk_id`` when none does): a component inside QQ Connect's package is QQ Connect's, whichever
        LibChecker label lists it, so one SDK is never reported twice under two ids."""
        for prefix in prefixes:
            self.prefix_owner[prefix] = sdk_id
        for component in components:
            owner = self.covering(component.rpartition(".")[0], catch_all=True) or sdk_id
            if owner:
                self.components.setdefault(component, owner)


CODE_REPLACING = ("hot-patching", "plugin-framework")  # TV303's categories
# LibRadar types that name a business's service, whoever hosts the code: never an open-source library
SERVICE_TYPES = ("Advertisement", "Mobile Analytics", "Payment", "App Market", "Social Network", "Map/LBS")


def _never_a_library(row: dict[str, str]) -> bool:
    """A LibRadar row that stays an SDK even when its site is an open-source host: an ad network or an
    analytics, payment or map service (AdWhirl on GitHub still serves ads), or code that replaces
    code at run time (VirtualApp), which TV303 must see."""
    return row["Type"] in SERVICE_TYPES or _category(row["Library Name"]) in CODE_REPLACING


def _category(label: str) -> str:
    joined = label.casefold()
    for category, pattern in CATEGORY_WORDS:
        if re.search(pattern, joined):
            return category
    return "other"


def component_prefixes(names: Iterable[str], others: Iterable[str]) -> list[str]:
    """Package prefixes that a label's manifest components imply, or none where that is unsafe.

    Components are grouped by their first two package segments; each group gives the longest package
    all its components share, less generic trailing segments (``ui``, ``service``...). A prefix that
    would also cover another label's component is too broad and is dropped: ``com.mob`` is MobTech's
    alone, ``com.tencent`` or ``com.google.android`` is not any one SDK's. A label spanning more than
    three roots is a bundle of other vendors' SDKs (a push aggregator) and gives no prefix.
    ``others`` are the component class names of every other label.
    """
    groups: dict[tuple[str, ...], list[list[str]]] = defaultdict(list)
    for name in names:
        segments = name.rpartition(".")[0].split(".")
        if len(segments) >= 2:
            groups[tuple(segments[:2])].append(segments)
    if len(groups) > 3:
        return []
    other_list = list(others)
    out = []
    for members in groups.values():
        common: list[str] = []
        for column in zip(*members, strict=False):
            if len(set(column)) != 1:
                break
            common.append(column[0])
        while len(common) > 3 and common[-1].casefold() in GENERIC_TAIL:
            common.pop()
        prefix = ".".join(common)
        if len(common) >= 2 and not any(_under(other, prefix) for other in other_list):
            out.append(prefix)
    return out


def libchecker_rules(folder: Path) -> Iterator[tuple[str, dict]]:
    """(component class name, rule) for every readable component rule; regex rules are skipped (their
    patterns live in LibChecker's code, not in these files)."""
    for kind in COMPONENT_KINDS:
        for path in sorted((folder / f"{kind}-libs").glob("*.json")):
            try:
                rule = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                print(f"skipped unreadable rule {path.name}", file=sys.stderr)
                continue
            yield path.stem, rule


def _vendor_rows(path: Path, key: str) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    return {row[key]: row for row in _read_tsv(path)}


def _vendor(row: dict[str, str] | None) -> tuple[str | None, str | None, str]:
    """(vendor, country, kind) from a researched row; unknown stays None."""
    if not row:
        return None, None, "unknown"
    return row.get("vendor") or None, row.get("country") or None, row.get("kind") or "unknown"


def _exodus_entries(curated: list[dict], trackers: list[dict]) -> list[dict]:
    """Exodus's trackers as the loader keeps them: the prefixes no curated SDK already covers."""
    taken = {p for s in curated if not s.get("catch_all") for p in s["prefixes"]}
    out = []
    for t in trackers:
        fresh = [p for p in t.get("prefixes", []) if not any(_under(p, c) for c in taken)]
        if fresh:
            out.append({"id": t["id"], "name": t["name"], "prefixes": fresh})
    return out


def build(shared: Path) -> dict:
    curated_doc = yaml.safe_load((DATA / "sdks.yaml").read_text(encoding="utf-8"))
    curated = curated_doc["sdks"]
    exodus = json.loads((DATA / "exodus_trackers.json").read_text(encoding="utf-8"))
    known = curated + _exodus_entries(curated, exodus["trackers"])
    lib_doc = yaml.safe_load((SOURCES / "open_source.yaml").read_text(encoding="utf-8"))
    libraries: dict[str, str] = {**lib_doc["platform"], **lib_doc["open_source"]}
    by_site = _vendor_rows(SOURCES / "vendors_by_website.tsv", "key")
    by_team = _vendor_rows(SOURCES / "vendors_by_team.tsv", "team")

    # Open-source and platform rows of LibRadar and LibChecker join the library list first, so no
    # SDK below can claim them.
    radar_rows = [
        r
        for r in csv.DictReader((shared / "libradar/tag_rules.csv").open(encoding="utf-8"))
        if r["Library Name"] != "no"
    ]

    def site_row(site: str, name: str) -> dict[str, str] | None:
        return by_site.get(_slug_host(site)) or by_site.get(f"(none):{name}")

    for row in radar_rows:
        _, _, kind = _vendor(site_row(row["Official Website"], row["Library Name"]))
        prefix = row["Package Name"].lstrip("L").replace("/", ".")
        if kind in ("open-source", "platform") and PACKAGE.match(prefix) and not _never_a_library(row):
            libraries.setdefault(prefix, row["Library Name"])
    labels: dict[tuple[str, str], dict] = {}
    for component, rule in libchecker_rules(shared / "libchecker-rules"):
        key = (rule.get("label") or "", rule.get("team") or "")
        item = labels.setdefault(key, {"components": [], "rule": rule})
        item["components"].append(component)
    for key, item in labels.items():
        item["prefixes"] = component_prefixes(
            item["components"], (c for other, o in labels.items() if other != key for c in o["components"])
        )
        if _vendor(by_team.get(key[1]))[2] in ("open-source", "platform") and _category(key[0]) not in CODE_REPLACING:
            for prefix in item["prefixes"]:
                libraries.setdefault(prefix, key[0])

    # A package a curated SDK or an Exodus tracker has is that SDK's, even when another source calls
    # it an open-source library (ACRA is both; Exodus lists it because it sends crash reports).
    for sdk in known:
        for prefix in sdk["prefixes"]:
            for lib in [lib for lib in libraries if _under(prefix, lib)]:
                print(f"{lib} ({libraries.pop(lib)}) is not a library: {sdk['name']} has {prefix}", file=sys.stderr)
    named: dict[str, set[str]] = defaultdict(set)
    for sdk in known:
        for prefix in sdk["prefixes"]:
            named[prefix].add(sdk["name"])
    for (label, _team), item in labels.items():
        for prefix in item["prefixes"]:
            named[prefix].add(label)
    for row in radar_rows:
        named[row["Package Name"].lstrip("L").replace("/", ".").rstrip(".")].add(row["Library Name"])
    disclosed = _read_tsv(SOURCES / "disclosures.tsv")
    for row in disclosed:
        for prefix in row["prefixes"].split(","):
            named[prefix.strip()].add(row["name"])
    cat = Catalogue(known, libraries, named)
    for (label, team), item in sorted(labels.items()):
        vendor, country, kind = _vendor(by_team.get(team))
        if kind in ("open-source", "platform") and _category(label) not in CODE_REPLACING:
            continue
        rule = item["rule"]
        prefixes = item["prefixes"]
        if all(any(_under(c, lib) for lib in libraries) for c in item["components"]):
            continue  # a platform or open-source library's components (Jetpack, LeakCanary): not an SDK
        entry = {
            "id": "lc:" + (prefixes[0] if prefixes else item["components"][0].rpartition(".")[0]),
            "name": label,
            "vendor": vendor or (team or None),
            "country": country,
            "category": _category(label),
            "prefixes": prefixes,
            "components": sorted(item["components"]),
            "website": rule.get("relativeUrl") or "",
            "source": "LibChecker-Rules (Apache-2.0)",
        }
        cat.add(entry, label)
    for row in disclosed:
        prefixes = [p.strip() for p in row["prefixes"].split(",") if p.strip()]
        entry = {
            "id": "disclosed:" + prefixes[0],
            "name": row["name"],
            "vendor": row["vendor"] or None,
            "country": row["country"] or None,
            "category": row["category"] or "other",
            "prefixes": prefixes,
            "components": [],
            "website": "",
            "purpose": row["purpose"],
            "source": "third-party SDK disclosure list (" + row["source"] + ")",
        }
        cat.add(entry, row["name"])
    grouped: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in radar_rows:
        grouped[(row["Library Name"], row["Official Website"])].append(row)
    for (name, site), rows in sorted(grouped.items()):
        vendor, country, kind = _vendor(site_row(site, name))
        if kind in ("open-source", "platform") and not _never_a_library(rows[0]):
            continue
        prefixes = sorted({r["Package Name"].lstrip("L").replace("/", ".").rstrip(".") for r in rows})
        entry = {
            "id": "lr:" + prefixes[0],
            "name": name,
            "vendor": vendor,
            "country": country,
            "category": LIBRADAR_CATEGORY.get(rows[0]["Type"], "other"),
            "prefixes": prefixes,
            "components": [],
            "website": site,
            "source": "LibRadar (Apache-2.0)",
        }
        cat.add(entry, name, may_extend=False)

    exodus_vendors = {}
    for tracker in exodus["trackers"]:
        vendor, country, kind = _vendor(site_row(tracker.get("website") or "", tracker["name"]))
        if vendor and kind == "commercial":
            exodus_vendors[tracker["id"]] = {"vendor": vendor, "country": country}
    entries = sorted(cat.entries.values(), key=lambda e: e["id"])
    return {
        "source": "built by tools/build_sdk_catalogue.py from LibChecker-Rules (component rules), LibRadar "
        "(package tags), third-party SDK disclosure lists (tools/sdk_sources/disclosures.tsv) and Exodus "
        "Privacy (makers of its trackers); makers and countries researched per site and team "
        "(tools/sdk_sources/vendors_by_*.tsv)",
        "as_of": date.today().isoformat(),
        "licences": {
            "LibChecker-Rules (Apache-2.0)": "github.com/LibChecker/LibChecker-Rules, Apache License 2.0 "
            "(LIBCHECKER-LICENSE.txt)",
            "LibRadar (Apache-2.0)": "github.com/pkumza/LibRadar tag_rules.csv at 2fa3891, Apache License 2.0 "
            "(LIBRADAR-LICENSE.txt)",
            "third-party SDK disclosure list": "facts (SDK names, package names, makers) from published "
            "disclosure lists",
            "Exodus Privacy (ODbL)": "EXODUS-LICENSE.md",
        },
        "counts": {
            "catalogue_sdks": len(entries),
            "with_vendor": sum(1 for e in entries if e["vendor"]),
            "exodus_trackers_with_vendor": len(exodus_vendors),
            "components": len(cat.components),
            "libraries": len(libraries),
        },
        "sdks": entries,
        "extensions": dict(sorted(cat.extensions.items())),
        "components": dict(sorted(cat.components.items())),
        "exodus_vendors": dict(sorted(exodus_vendors.items())),
        "libraries": dict(sorted(libraries.items())),
        "skipped": cat.skipped,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared/knowledge")
    args = ap.parse_args()
    doc = build(args.shared)
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=0, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{json.dumps(doc['counts'])} -> {OUT.relative_to(ROOT)} ({len(doc['skipped'])} prefixes skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
