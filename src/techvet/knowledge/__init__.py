"""techvet's knowledge: SDK catalogue, behaviour rules, packer signatures, rule texts.

All of it is data under ``data/`` (YAML and JSON, each file with ``source`` and ``as_of``), loaded
once per process by :func:`load` and validated on load: a bad file raises :class:`KnowledgeError`
naming the file and the entry. ``TECHVET_KNOWLEDGE_DIR`` points at another folder with the same
file names (for testing new rules without reinstalling).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from techvet.errors import KnowledgeError
from techvet.findings import Severity
from techvet.knowledge.packers import Packer, PackerIndex, load_packers
from techvet.knowledge.sdks import IosSdkIndex, Sdk, load_sdks

if TYPE_CHECKING:
    from techvet.fleet.models import ModelCatalogue
    from techvet.place.networks import NetworkTable
    from techvet.screen.index import ScreeningIndex
    from techvet.screen.names import NameWords

DATA_DIR = Path(__file__).with_name("data")
_RULE_ID = re.compile(r"^TV[1-7]\d\d$")


@dataclass(frozen=True)
class Rule:
    """A rule's identity and the text ``techvet explain`` prints."""

    id: str
    name: str
    title: str
    severity: Severity
    category: str
    what: str
    why: str
    refs: tuple[str, ...]
    source: str
    as_of: str
    match: dict[str, Any] = field(default_factory=dict)
    capability: str | None = None


def _alternation(patterns: list[str], names: list[str] | None = None) -> re.Pattern[str] | None:
    if not patterns:
        return None
    if names is None:
        return re.compile("|".join(f"(?:{p})" for p in patterns))
    return re.compile("|".join(f"(?P<{n}>{p})" for n, p in zip(names, patterns, strict=True)))


@dataclass(frozen=True)
class PublicSuffixes:
    rules: frozenset[str]
    wildcards: frozenset[str]
    exceptions: frozenset[str]


@dataclass(frozen=True)
class CloudRegion:
    pattern: re.Pattern[str]
    company: str
    server_country: str | None
    why: str


@dataclass(frozen=True)
class PlaceData:
    """Facts for host attribution (techvet.place), loaded on first use."""

    companies: dict[str, dict[str, str]]  # company key -> owner, parent, country
    domain_owners: dict[str, str]  # domain -> company key
    sdk_domains: dict[str, Sdk]  # endpoint domain -> catalogue SDK
    cloud_regions: tuple[CloudRegion, ...]
    cctlds: dict[str, str]
    cloud_pattern: re.Pattern[str] | None  # every region rule in one search; group rN is rule N
    cloud_domains: frozenset[str]  # only hosts under these are tested against the region rules
    asn_companies: dict[int, str]  # AS number -> company key
    asn_name_rules: tuple[tuple[re.Pattern[str], str], ...]  # registered AS name pattern -> company key
    hosted: tuple[tuple[re.Pattern[str], str, str], ...]  # customers' resources on a cloud: pattern, company, what
    hosted_domains: frozenset[str]  # only hosts under these are tested against the hosted patterns
    source_sets: dict[tuple[str, ...], tuple[dict[str, str], ...]] = field(default_factory=dict)  # place's cache


@dataclass(frozen=True)
class RestrictionForms:
    """The restriction lists reduced to exact lookups: what a scan needs, loaded in 2 ms
    (restriction_scan.json: sorted "key<TAB>n,n" lines and party columns)."""

    forms: list[str]  # "hefei bitland information technology\t12" ..., sorted
    han: list[str]  # Han-script names without legal forms, likewise
    by_package: dict[str, list[int]]  # Android package -> ban-order entries
    app_forms: tuple[tuple[str, int], ...]  # banned apps' name forms, for the scored name check
    columns: dict[str, list[Any]]  # id, list, name, type, country, program, listed_on
    lists: dict[str, dict[str, str]]  # list id -> title, as_of

    @cached_property
    def app_form_index(self) -> list[tuple[str, int, frozenset[str], str]]:
        """Each banned app's name form with its words and the head of its sorted words, split once
        per snapshot rather than once per label scored (re-judging screens thousands of labels)."""
        return [(form, i, frozenset(form.split()), "".join(sorted(form.split()))[:4]) for form, i in self.app_forms]

    def by_form(self, form: str) -> list[int]:
        return _sorted_lookup(self.forms, form)

    def by_han(self, key: str) -> list[int]:
        return _sorted_lookup(self.han, key)

    def party(self, n: int) -> dict[str, Any]:
        return {k: v[n] for k, v in self.columns.items() if v[n] is not None}


def _sorted_lookup(lines: list[str], key: str) -> list[int]:
    import bisect

    probe = key + "\t"
    i = bisect.bisect_left(lines, probe)
    if i < len(lines) and lines[i].startswith(probe):
        return [int(n) for n in lines[i][len(probe) :].split(",")]
    return []


@dataclass(frozen=True)
class Knowledge:
    rules: dict[str, Rule]
    sdks: dict[str, Sdk]
    sdk_by_prefix: dict[str, str]  # dotted package -> sdk id
    sdk_by_component: dict[str, str]  # manifest component class name -> sdk id
    library_by_prefix: dict[str, str]  # dotted package -> platform or open-source library's name
    packers: tuple[Packer, ...]
    generic_stub: dict[str, Any]
    string_decryption: dict[str, Any]
    checks: tuple[Rule, ...]
    endpoints: dict[str, Any]
    native_libs: dict[str, dict[str, str]]  # library file name -> label, team, url (LibChecker)
    sources: dict[str, tuple[str, str]]  # file name -> (source, as_of)
    directory: Path = DATA_DIR
    ios: dict[str, Any] = field(default_factory=dict)  # ios.yaml: what shows each rule in an iOS app

    @cached_property
    def ios_sdk_index(self) -> IosSdkIndex:
        """The SDKs' iOS names (sdks.yaml's ios: section) as lookup tables, built on first use."""
        return IosSdkIndex.build(self.sdks)

    @cached_property
    def packer_index(self) -> PackerIndex:
        """Every packer's signatures as lookup tables (built on first use, once per process)."""
        return PackerIndex.build(self.packers)

    @cached_property
    def psl(self) -> PublicSuffixes:
        """The Public Suffix List (loaded on first use: only host attribution needs it)."""
        doc = _read(self.directory, "psl.json")
        self.sources["psl.json"] = (doc["source"], str(doc["as_of"]))
        return PublicSuffixes(frozenset(doc["rules"]), frozenset(doc["wildcards"]), frozenset(doc["exceptions"]))

    @cached_property
    def place(self) -> PlaceData:
        """Owner table, cloud-region and ccTLD rules (loaded on first use)."""
        companies_doc = _read(self.directory, "owner_companies.yaml")
        owners_doc = _read(self.directory, "owners.json")
        rules_doc = _read(self.directory, "place_rules.yaml")
        asn_doc = _read(self.directory, "asn_owners.yaml")
        for name, doc in (
            ("owner_companies.yaml", companies_doc),
            ("owners.json", owners_doc),
            ("place_rules.yaml", rules_doc),
            ("asn_owners.yaml", asn_doc),
        ):
            self.sources[name] = (doc["source"], str(doc["as_of"]))
        companies = dict(companies_doc.get("companies", {}))
        try:
            regions = tuple(
                CloudRegion(re.compile(r["pattern"]), r["company"], r.get("server_country"), r["why"])
                for r in rules_doc.get("cloud_regions", [])
            )
        except (KeyError, TypeError, re.error) as exc:
            raise KnowledgeError(f"place_rules.yaml: bad cloud region rule ({exc})") from None
        owners = dict(owners_doc.get("domains", {}))
        asn_companies = {int(asn): key for key, numbers in asn_doc.get("networks", {}).items() for asn in numbers}
        try:
            name_rules = tuple(
                (re.compile(r["pattern"], re.IGNORECASE), r["company"]) for r in asn_doc.get("name_rules", [])
            )
        except (KeyError, TypeError, re.error) as exc:
            raise KnowledgeError(f"asn_owners.yaml: bad name rule ({exc})") from None
        try:
            hosted = tuple(
                (re.compile(r["pattern"]), str(r["company"]), str(r["what"])) for r in rules_doc.get("hosted", [])
            )
            hosted_domains = frozenset(str(r["domain"]) for r in rules_doc.get("hosted", []))
        except (KeyError, TypeError, re.error) as exc:
            raise KnowledgeError(f"place_rules.yaml: bad hosted rule ({exc})") from None
        named = [
            *owners.values(),
            *(r.company for r in regions),
            *asn_companies.values(),
            *(k for _, k in name_rules),
            *(k for _, k, _ in hosted),
        ]
        unknown = {key for key in named if key not in companies}
        if unknown:
            raise KnowledgeError(
                "owners.json / place_rules.yaml / asn_owners.yaml name companies not in owner_companies.yaml: "
                f"{sorted(unknown)}"
            )
        sdk_domains = {d: sdk for sdk in self.sdks.values() for d in sdk.domains}
        combined = _alternation([r.pattern.pattern for r in regions], [f"r{n}" for n in range(len(regions))])
        domains = frozenset(r["domain"] for r in rules_doc.get("cloud_regions", []) if "domain" in r)
        cctlds = dict(rules_doc.get("cctlds", {}))
        return PlaceData(
            companies,
            owners,
            sdk_domains,
            regions,
            cctlds,
            combined,
            domains,
            asn_companies,
            name_rules,
            hosted,
            hosted_domains,
        )

    @cached_property
    def lists_folder(self) -> Path:
        """Where the restriction lists are read from: the snapshot ``techvet lists update`` last
        installed (``<data dir>/lists/current``), else the bundled one."""
        current = lists_dir() / "current"
        if (current / "restriction_lists.json.gz").is_file() and (current / "restriction_scan.json").is_file():
            return current.resolve()
        return self.directory

    @cached_property
    def restriction_lists(self) -> dict[str, Any]:
        """The bundled restriction and ban lists (restriction_lists.json.gz; loaded on first use)."""
        import gzip

        path = self.lists_folder / "restriction_lists.json.gz"
        try:
            doc: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
        except (OSError, ValueError) as exc:
            raise KnowledgeError(f"restriction_lists.json.gz: {exc}") from None
        self.sources["restriction_lists.json.gz"] = (doc["source"], str(doc["as_of"]))
        return doc

    @cached_property
    def restriction_forms(self) -> RestrictionForms:
        """Exact lookups for scans (restriction_scan.json, derived from the snapshot when it is
        built): comparable name form, Han-script key, package -> parties, with the fields a
        finding shows."""
        doc = _read(self.lists_folder, "restriction_scan.json")
        self.sources["restriction_scan.json"] = (doc["source"], str(doc["as_of"]))
        apps = tuple((str(form), int(n)) for form, n in doc["apps"])
        return RestrictionForms(doc["forms"], doc["han"], doc["packages"], apps, doc["parties"], doc["lists"])

    @cached_property
    def screening_index(self) -> ScreeningIndex:
        """Every listed name as tokens, with weights and blocking tables (built on first use)."""
        from techvet.screen.index import ScreeningIndex

        return ScreeningIndex.build(self.restriction_lists["parties"], self.name_words)

    @cached_property
    def name_words(self) -> NameWords:
        """Company-form words, synonyms and Han words for comparing names (loaded on first use)."""
        from techvet.screen.names import NameWords

        doc = _read(self.directory, "name_words.yaml")
        self.sources["name_words.yaml"] = (doc["source"], str(doc["as_of"]))
        syllables = _read(DATA_DIR, "pinyin_syllables.json")  # read by screen.names; its provenance kept here
        self.sources["pinyin_syllables.json"] = (syllables["source"], str(syllables["as_of"]))
        return NameWords.from_doc(doc)

    @cached_property
    def xinjiang_places(self) -> dict[str, Any]:
        """Places in Xinjiang and the XPCC, for forced-labour region exposure (loaded on first use)."""
        doc = _read(self.directory, "xinjiang_places.json")
        self.sources["xinjiang_places.json"] = (doc["source"], str(doc["as_of"]))
        return doc

    @cached_property
    def drone_catalogue(self) -> ModelCatalogue:
        """Drone models, makers, codes, companion apps, Blue UAS clearances (loaded on first use)."""
        from techvet.fleet.models import ModelCatalogue

        doc = _read(self.directory, "drones.json")
        self.sources["drones.json"] = (doc["source"], str(doc["as_of"]))
        return ModelCatalogue(doc)

    @cached_property
    def networks(self) -> NetworkTable:
        """The IP -> autonomous system table (opened on first use; its parts load on first lookup)."""
        from techvet.place.networks import NetworkTable

        doc = _read(self.directory, "ip_asn.json")
        self.sources["ip_asn.json"] = (doc["source"], str(doc["as_of"]))
        return NetworkTable(self.directory / "ip_asn.npz")

    def package_owner(self, package: str) -> tuple[str, str] | None:
        """Whose code dotted ``package`` is: ``("sdk", id)`` or ``("library", name)`` by the longest
        catalogued prefix on whole segments, or None. A library's package inside an SDK vendor's
        namespace is the library's (Fresco under ``com.facebook``), because the longer name wins.

        A walk up the segments with two dictionary probes per level: a package has a handful of
        segments, so this costs the same for 60 SDKs or 6,000 (no loop over entries)."""
        while package:
            library = self.library_by_prefix.get(package)
            if library is not None:
                return ("library", library)
            sdk = self.sdk_by_prefix.get(package)
            if sdk is not None:
                return ("sdk", sdk)
            package = package.rpartition(".")[0]
        return None

    def sdk_for_class(self, descriptor: str) -> str | None:
        """The SDK whose prefix covers class ``descriptor`` (longest prefix wins), or None."""
        package = descriptor[1:].rsplit("/", 1)[0].replace("/", ".") if descriptor.startswith("L") else descriptor
        owner = self.package_owner(package)
        return owner[1] if owner and owner[0] == "sdk" else None


def user_data_dir() -> Path:
    """What the user's updates install: ``$TECHVET_DATA_DIR``, else ``$XDG_DATA_HOME/techvet``
    (``~/.local/share/techvet``)."""
    base = os.environ.get("TECHVET_DATA_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "techvet"


def lists_dir() -> Path:
    """The user's list snapshots (``techvet lists update``): ``<user data dir>/lists``."""
    return user_data_dir() / "lists"


def indicators_dir() -> Path:
    """The user's indicator indexes (``techvet iocs update``, techvet.iocs): ``<user data dir>/iocs``."""
    return user_data_dir() / "iocs"


def _read(directory: Path, name: str) -> dict[str, Any]:
    path = directory / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KnowledgeError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise KnowledgeError(f"{path}: not UTF-8 text") from None
    try:
        if name.endswith(".json"):
            doc = json.loads(text)
        else:
            import yaml

            doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception as exc:  # noqa: BLE001 - both parsers raise their own error trees
        kind = "JSON" if name.endswith(".json") else "YAML"
        raise KnowledgeError(f"{path}: not valid {kind} ({' '.join(str(exc).split())})") from None
    if not isinstance(doc, dict) or not doc.get("source") or not doc.get("as_of"):
        raise KnowledgeError(f"{path}: every knowledge file needs 'source' and 'as_of'")
    return doc


def _rule(entry: dict[str, Any], category: str, doc: dict[str, Any], fname: str) -> Rule:
    try:
        rid = entry["id"]
        if not _RULE_ID.match(rid):
            raise KnowledgeError(f"{fname}: rule id {rid!r} is not of the form TV<area><nn>")
        return Rule(
            id=rid,
            name=entry["name"],
            title=entry["title"],
            severity=Severity.parse(entry["severity"]),
            category=entry.get("category", category),
            what=entry["what"],
            why=entry["why"],
            refs=tuple(entry.get("refs", ())),
            source=doc["source"],
            as_of=str(doc["as_of"]),
            match=entry.get("match", {}),
            capability=entry.get("capability"),
        )
    except KeyError as exc:
        raise KnowledgeError(f"{fname}: rule {entry.get('id', '?')} lacks {exc}") from None
    except ValueError as exc:
        raise KnowledgeError(f"{fname}: rule {entry.get('id', '?')}: {exc}") from None


def _load(directory: Path) -> Knowledge:
    rules: dict[str, Rule] = {}
    sources: dict[str, tuple[str, str]] = {}

    def add(rule: Rule, fname: str) -> None:
        if rule.id in rules:
            raise KnowledgeError(f"{fname}: rule id {rule.id} is defined twice")
        rules[rule.id] = rule

    docs = {}
    for fname, category in (
        ("capabilities.yaml", "capability"),
        ("manifest.yaml", "manifest"),
        ("endpoints.yaml", "destination"),
        ("sdk_rules.yaml", "sdk"),
        ("antianalysis.yaml", "anti-analysis"),
        ("crypto.yaml", "transport"),
        ("screening.yaml", "who is behind it"),
        ("traffic.yaml", "observed"),
        ("personal_data.yaml", "observed"),
        ("ios.yaml", "capability"),
    ):
        doc = _read(directory, fname)
        docs[fname] = doc
        sources[fname] = (doc["source"], str(doc["as_of"]))
        for entry in doc.get("rules", []):
            add(_rule(entry, category, doc, fname), fname)
    anti = docs["antianalysis.yaml"]
    checks = []
    for entry in anti.get("checks", []):
        rule = _rule(
            {**entry, "match": {k: entry[k] for k in ("strings", "invoke") if k in entry}},
            "anti-analysis",
            anti,
            "antianalysis.yaml",
        )
        add(rule, "antianalysis.yaml")
        checks.append(rule)
    built_packers = _read(directory, "packers_apkid.json")  # tools/build_packers.py, from APKiD's rules
    sources["packers_apkid.json"] = (built_packers["source"], str(built_packers["as_of"]))
    try:
        packers = load_packers(anti, built_packers)
    except ValueError as exc:
        raise KnowledgeError(str(exc)) from None

    curated = _read(directory, "sdks.yaml")
    exodus = _read(directory, "exodus_trackers.json")
    catalogue = _read(directory, "sdk_catalogue.json")
    for name, doc in (("sdks.yaml", curated), ("exodus_trackers.json", exodus), ("sdk_catalogue.json", catalogue)):
        sources[name] = (doc["source"], str(doc["as_of"]))
    tables = load_sdks(curated, exodus, catalogue)
    endpoints = docs["endpoints.yaml"]
    natives = _read(directory, "native_libs.json")
    sources["native_libs.json"] = (natives["source"], str(natives["as_of"]))
    return Knowledge(
        rules=dict(sorted(rules.items())),
        sdks=tables.sdks,
        sdk_by_prefix=tables.by_prefix,
        sdk_by_component=tables.by_component,
        library_by_prefix=tables.libraries,
        packers=tuple(packers),
        generic_stub=anti.get("generic_stub", {}),
        string_decryption=anti.get("string_decryption", {}),
        checks=tuple(checks),
        endpoints=endpoints,
        native_libs=dict(natives.get("libraries", {})),
        directory=directory,
        sources=sources,
        ios=docs["ios.yaml"],
    )


def _chosen(directory: str | None) -> str:
    return directory or os.environ.get("TECHVET_KNOWLEDGE_DIR") or str(DATA_DIR)


@lru_cache(maxsize=4)
def load(directory: str | None = None) -> Knowledge:
    """The knowledge base, loaded once per process (``TECHVET_KNOWLEDGE_DIR`` overrides the folder)."""
    return _load(Path(_chosen(directory)))


# what a scan is not made with: the lists (a change of them is judged again from a scan's stored
# facts), the bundled policies (a verdict is made again from the findings) and the licence texts
NOT_ANALYSIS = frozenset({"restriction_lists.json.gz", "restriction_scan.json", "app_policy.yaml", "fleet_policy.yaml"})


def identity(directory: str | None = None) -> str:
    """A digest of the knowledge files an app scan is made with, read from disk now. A kept scan
    made under another identity may name other SDKs, owners or packers than a scan made today;
    the team service compares it to know which stored apps must be scanned again.

    The files' contents are hashed (20 ms for the bundled 5 MB) only when their names, sizes or
    modification times changed since the last call in this process."""
    folder = Path(_chosen(directory))
    files = sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.name not in NOT_ANALYSIS and p.suffix in (".json", ".yaml", ".gz", ".npz")
    )  # fmt: skip
    # the indicator index `techvet iocs update` installed is what scans match known tools with:
    # a new one makes every kept scan stale (the service scans its apps again)
    installed = indicators_dir() / "current" / "iocs.json"
    if installed.is_file():
        files.append(installed.resolve())
    return _identity(tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))


@lru_cache(maxsize=8)
def _identity(files: tuple[tuple[str, int, int], ...]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path, _, _ in files:
        digest.update(Path(path).name.encode() + b"\0" + hashlib.sha256(Path(path).read_bytes()).digest())
    return digest.hexdigest()[:16]


__all__ = ["DATA_DIR", "Knowledge", "Packer", "Rule", "Sdk", "identity", "load"]
