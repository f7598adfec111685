"""Packer and protector signatures, loaded once and compiled into lookup tables.

Two files hold them: the hand-curated ``packers`` of ``antianalysis.yaml`` (the ids the corpus labels
use; they win) and ``packers_apkid.json``, built from APKiD's rules by ``tools/build_packers.py``.
An APKiD entry whose id is a curated one adds its facts to that entry; any other is a packer of its
own.

Why tables rather than a loop over packers: there are some eighty packers with hundreds of file
signatures, and an app can have twenty thousand archive entries. Most signatures are plain names,
so a name is one dictionary probe for all of them; the rest are one alternation per kind, anchored
to the entry's base name or to the start of its path so that it is tried at one position only.
Classes are dictionary probes (an exact descriptor) or binary searches in each DEX's sorted string
table (a prefix): no pass over every class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

STRONG = -1  # the group of a signature that names its packer alone
KINDS = ("packer", "protector", "sdk")


@dataclass(frozen=True)
class WeakGroup:
    """Facts too common to name a packer alone (``libsecurity.so``), which count when at least
    ``min_count`` of the group are present: APKiD's "2 of them" over the facts techvet can read."""

    rule: str
    min_count: int
    files: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    strings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Packer:
    """A packer's signatures. ``files`` are regexes over archive entry names; ``classes`` are class
    descriptors, or prefixes of them, the app defines; ``strings`` are prefixes of DEX string-table
    entries; ``application`` are manifest application classes (prefixes)."""

    id: str
    name: str
    vendor: str
    country: str | None
    files: tuple[str, ...]
    classes: tuple[str, ...]
    application: tuple[str, ...]
    renamed_class_pattern: re.Pattern[str] | None  # every trait, one named group each
    renamed_class_traits: dict[str, tuple[int, int]]  # trait name -> (min_count, weight)
    min_score: int
    strings: tuple[str, ...] = ()
    weak: tuple[WeakGroup, ...] = ()
    kind: str = "packer"  # packer | protector | sdk (a runtime protection SDK: TV507, not TV501)
    source: str = "antianalysis.yaml"


class Signal(NamedTuple):
    """One signature of one packer: its index in the packer list, its weak group (``STRONG`` for
    none), and its position in that group's list of its kind."""

    packer: int
    group: int
    fact: int
    kind: str  # file | class | string
    text: str


_LITERAL = re.compile(r"(?:[^.^$*+?{}\[\]|()\\]|\\[^A-Za-z0-9])*")


def _literal(core: str) -> str | None:
    """The plain text a regex stands for when it has no wildcard, else None."""
    return re.sub(r"\\(.)", r"\1", core) if _LITERAL.fullmatch(core) else None


def _needle(pattern: str) -> str:
    """Text every match of ``pattern`` contains, to skip the search on most entries: the pattern's
    own text when it is plain between its anchors, else nothing (always search)."""
    core = pattern.removeprefix("(^|/)").removeprefix("^")
    core = core.removesuffix("(/|$)").removesuffix("$")
    return _literal(core) or ""


_Rules = tuple[tuple[re.Pattern[str], Signal], ...]


@dataclass(frozen=True)
class PackerIndex:
    """Every packer's signatures in the shape a scan asks for them."""

    by_name: dict[str, tuple[tuple[re.Pattern[str] | None, Signal], ...]]  # base name -> (path check, signal)
    by_path: dict[str, tuple[Signal, ...]]  # literal whole path -> signals
    path_prefixes: tuple[tuple[str, Signal], ...]  # literal path prefix (a directory)
    prefix_keys: tuple[str, ...]
    name_pattern: re.Pattern[str] | None  # any non-literal base-name pattern (a prefilter)
    name_rules: _Rules
    path_rules: dict[str, tuple[re.Pattern[str], _Rules]]  # top directory -> (any of its rules, rules)
    anywhere: tuple[tuple[str, re.Pattern[str], Signal], ...]  # (text it contains, pattern) searched anywhere
    exact_classes: dict[str, tuple[Signal, ...]]  # full descriptor -> signals
    class_prefixes: tuple[tuple[str, Signal], ...]
    strings: tuple[tuple[str, Signal], ...]

    @classmethod
    def build(cls, packers: tuple[Packer, ...]) -> PackerIndex:
        files = _FileTables()
        exact: dict[str, list[Signal]] = {}
        class_prefixes: list[tuple[str, Signal]] = []
        strings: list[tuple[str, Signal]] = []
        for n, packer in enumerate(packers):
            groups = [(STRONG, packer.files, packer.classes, packer.strings)]
            groups += [(g, w.files, w.classes, w.strings) for g, w in enumerate(packer.weak)]
            for group, patterns, classes, texts in groups:
                for k, pattern in enumerate(patterns):
                    files.add(pattern, Signal(n, group, k, "file", pattern))
                for k, desc in enumerate(classes):
                    sig = Signal(n, group, k, "class", desc)
                    if desc.endswith(";"):
                        exact.setdefault(desc, []).append(sig)
                    else:
                        class_prefixes.append((desc, sig))
                strings.extend((text, Signal(n, group, k, "string", text)) for k, text in enumerate(texts))
        by_top: dict[str, list[tuple[re.Pattern[str], Signal]]] = {}
        for rest, top, sig in files.path_rules:
            by_top.setdefault(top, []).append((re.compile(rest), sig))
        return cls(
            by_name={k: tuple(v) for k, v in files.by_name.items()},
            by_path={k: tuple(v) for k, v in files.by_path.items()},
            path_prefixes=tuple(files.prefixes),
            prefix_keys=tuple(dict.fromkeys(p for p, _ in files.prefixes)),
            name_pattern=_any(r.pattern for r, _ in files.name_rules),
            name_rules=tuple(files.name_rules),
            path_rules={
                top: (re.compile("|".join(f"(?:{r.pattern})" for r, _ in rules)), tuple(rules))
                for top, rules in by_top.items()
            },
            anywhere=tuple(files.anywhere),
            exact_classes={k: tuple(v) for k, v in exact.items()},
            class_prefixes=tuple(class_prefixes),
            strings=tuple(strings),
        )

    def files_matching(self, entries: list[str]) -> list[tuple[Signal, str]]:
        """Every (signal, entry) pair. An entry is tested as its innermost path (``x.apk!assets/a``
        is ``assets/a``); compiled resources under ``res/`` only against signatures that name a
        ``res/`` path, as their base names are the build's, not a packer's."""
        out: list[tuple[Signal, str]] = []
        by_name, by_path, path_rules = self.by_name, self.by_path, self.path_rules
        prefix_keys, name_pattern, anywhere = self.prefix_keys, self.name_pattern, self.anywhere
        for entry in entries:
            inner = entry.rpartition("!")[2]
            slash = inner.find("/") + 1
            top = inner[:slash]
            rules = path_rules.get(top)
            if rules is not None and rules[0].match(inner, slash):
                out.extend((s, entry) for rx, s in rules[1] if rx.match(inner, slash))
            if top == "res/":
                continue
            exact = by_path.get(inner)
            if exact:
                out.extend((s, entry) for s in exact)
            if prefix_keys and inner.startswith(prefix_keys):
                out.extend((s, entry) for p, s in self.path_prefixes if inner.startswith(p))
            base = inner.rpartition("/")[2]
            named = by_name.get(base)
            if named:
                out.extend((s, entry) for rx, s in named if rx is None or rx.search(inner))
            if name_pattern is not None and name_pattern.match(base):
                out.extend((s, entry) for rx, s in self.name_rules if rx.match(base))
            for text, rx, s in anywhere:
                if text in inner and rx.search(inner):
                    out.append((s, entry))
        return out


class _FileTables:
    """File signatures sorted into the cheapest lookup that answers each exactly."""

    def __init__(self) -> None:
        self.by_name: dict[str, list[tuple[re.Pattern[str] | None, Signal]]] = {}
        self.by_path: dict[str, list[Signal]] = {}
        self.prefixes: list[tuple[str, Signal]] = []
        self.name_rules: list[tuple[re.Pattern[str], Signal]] = []
        self.path_rules: list[tuple[str, str, Signal]] = []  # (pattern after its top directory, top, signal)
        self.anywhere: list[tuple[str, re.Pattern[str], Signal]] = []

    def add(self, pattern: str, sig: Signal) -> None:
        compiled = re.compile(pattern)
        if pattern.startswith("(^|/)") and pattern.endswith("$") and not pattern.endswith("(/|$)"):
            core = pattern[len("(^|/)") : -1]
            dirs, _, name = core.replace("[^/]", "\0").rpartition("/")
            name = name.replace("\0", "[^/]")
            literal = _literal(name)
            if not dirs and literal is None:
                self.name_rules.append((re.compile(core + "$"), sig))
                return
            if literal is not None:  # a base name, maybe under given directories: checked on a hit
                self.by_name.setdefault(literal, []).append((compiled if dirs else None, sig))
                return
        if pattern.startswith("^"):
            core = pattern[1:]
            for tail, exact, directory in (("(/|$)", True, True), ("$", True, False), ("", False, False)):
                if tail and not core.endswith(tail):
                    continue
                literal = _literal(core[: len(core) - len(tail)] if tail else core)
                if literal is None:
                    break
                if exact:
                    self.by_path.setdefault(literal, []).append(sig)
                if directory or not exact:
                    self.prefixes.append((literal + "/" if directory else literal, sig))
                return
            slash = core.find("/") + 1
            top = _literal(core[:slash]) if slash else None
            if top:
                self.path_rules.append((core[slash:], top, sig))
            else:
                self.anywhere.append(("", compiled, sig))
            return
        self.anywhere.append((_needle(pattern), compiled, sig))


def _any(patterns: Any) -> re.Pattern[str] | None:
    joined = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(joined) if joined else None


def load_packers(curated: dict[str, Any], built: dict[str, Any]) -> tuple[Packer, ...]:
    """The curated packers (their order and ids first), APKiD's facts for them merged in, then the
    packers only APKiD names. Raises ValueError, KeyError or re.error on a malformed entry, naming it."""
    packers: dict[str, Packer] = {}
    for p in curated.get("packers", []):
        try:
            packer = _packer(p, "antianalysis.yaml")
        except (KeyError, TypeError, ValueError, AttributeError, re.error) as exc:
            raise ValueError(f"antianalysis.yaml: packer {p.get('id', '?')}: {exc}") from None
        if packer.id in packers:
            raise ValueError(f"antianalysis.yaml: packer id {packer.id} is defined twice")
        packers[packer.id] = packer
    source = f"APKiD rules at {str(built.get('apkid_commit', '?'))[:12]}"
    seen: set[str] = set()
    for p in built.get("packers", []):
        try:
            pid = p["id"]
            if pid in seen:
                raise ValueError("defined twice")
            seen.add(pid)
            base = packers.get(pid)
            if base is None:
                if p.get("curated"):
                    raise ValueError("marked curated, but antianalysis.yaml has no such packer")
                packers[pid] = _packer(p, source)
                continue
            extra = _packer({"name": base.name, **p}, source)
            packers[pid] = replace(
                base,
                files=tuple(dict.fromkeys(base.files + extra.files)),
                classes=tuple(dict.fromkeys(base.classes + extra.classes)),
                application=tuple(dict.fromkeys(base.application + extra.application)),
                strings=tuple(dict.fromkeys(base.strings + extra.strings)),
                weak=base.weak + extra.weak,
            )
        except (KeyError, TypeError, ValueError, AttributeError, re.error) as exc:
            raise ValueError(f"packers_apkid.json: packer {p.get('id', '?')}: {exc}") from None
    return tuple(packers.values())


def _packer(p: dict[str, Any], source: str) -> Packer:
    traits = p.get("renamed_class_traits", {})
    files = tuple(str(f) for f in p.get("files", []))
    weak = tuple(
        WeakGroup(
            rule=str(w.get("rule", "")),
            min_count=int(w["min"]),
            files=tuple(w.get("files", [])),
            classes=tuple(w.get("classes", [])),
            strings=tuple(w.get("strings", [])),
        )
        for w in p.get("weak", [])
    )
    kind = str(p.get("kind", "packer"))
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    for w in weak:
        if w.min_count < 2 or w.min_count > len(w.files) + len(w.classes) + len(w.strings):
            raise ValueError(f"weak group {w.rule}: min {w.min_count} cannot be met by its facts")
    for pattern in files + tuple(f for w in weak for f in w.files):
        _check_file_pattern(pattern)
    for desc in (*p.get("classes", []), *(c for w in weak for c in w.classes)):
        if not re.fullmatch(r"L[^.;\s]+/[^.;\s]*;?", str(desc)):
            raise ValueError(f"class signature {desc!r} is not a descriptor (or a prefix of one) in a package")
    if any(not str(t) for t in (*p.get("strings", []), *(t for w in weak for t in w.strings))):
        raise ValueError("an empty string signature would match every app")
    names = list(traits)
    renamed = "|".join(f"(?P<{n}>{traits[n]['pattern']})" for n in names)
    return Packer(
        id=str(p["id"]),
        name=str(p["name"]),
        vendor=str(p.get("vendor") or ""),
        country=p.get("country"),
        files=files,
        classes=tuple(p.get("classes", [])),
        application=tuple(p.get("application", [])),
        renamed_class_pattern=re.compile(renamed) if renamed else None,
        renamed_class_traits={k: (int(t.get("min_count", 1)), int(t.get("weight", 1))) for k, t in traits.items()},
        min_score=int(p.get("min_score", 0)),
        strings=tuple(p.get("strings", [])),
        weak=weak,
        kind=kind,
        source=source,
    )


_UNBOUNDED = re.compile(r"(?<!\\)[*+]|\{\d+,\}")


def _check_file_pattern(pattern: str) -> None:
    """A file signature is anchored (``^`` or ``(^|/)``) and bounded: the only open repetition
    allowed is ``[^/]*`` / ``[^/]+`` (one path segment), so no name an archive can hold makes
    matching slow."""
    if not pattern.startswith(("^", "(^|/)")):
        raise ValueError(f"file pattern {pattern!r} is not anchored at a path start")
    if _UNBOUNDED.search(re.sub(r"\[\^/\][*+]", "", pattern)):
        raise ValueError(f"file pattern {pattern!r} has an unbounded repetition")
    re.compile(pattern)
