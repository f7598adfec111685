"""Anti-analysis: packers and protectors, home-made stub loaders, root/emulator/debugger checks."""

from __future__ import annotations

import bisect
from dataclasses import replace

from techvet.app.dex import instructions, java_name
from techvet.app.reader import App
from techvet.detect._code_refs import references, refs_for_rule
from techvet.detect._common import classes_by_package, evidence_at, evidence_from, finding
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge, Packer
from techvet.knowledge.packers import STRONG, Signal


def _renamed_class_evidence(app: App, packer: Packer) -> list[Evidence]:
    """DexGuard-style renaming: each trait found in enough classes adds its weight."""
    combined = packer.renamed_class_pattern
    if combined is None:
        return []
    counts: dict[str, int] = {}
    example: dict[str, str] = {}
    for cls in app.code.classes:
        m = combined.match(cls)
        if m and m.lastgroup:
            counts[m.lastgroup] = counts.get(m.lastgroup, 0) + 1
            example.setdefault(m.lastgroup, cls)
    traits = packer.renamed_class_traits
    hits = [name for name, n in counts.items() if n >= traits[name][0]]
    if not hits or sum(traits[name][1] for name in hits) < packer.min_score:
        return []
    ev = []
    for name in hits:
        cls = example[name]
        detail = f"renamed-class trait {name}: {counts[name]} classes"
        ev.append(Evidence(app.code.classes[cls][0].name, detail, class_name=java_name(cls)))
    return ev


def _defined_with_prefix(app: App, prefix: str) -> tuple[str, str] | None:
    """(DEX name, descriptor) of a class the app defines whose name starts with ``prefix``
    (``Lcom/stub/StubApp`` or a package, ``Lcom/tencent/StubShell/``): a binary search in the
    sorted package names, then a look at the classes of the few packages that can hold a match.
    Decided over defined classes only, so no number of look-alike strings can push a real stub
    out of sight."""
    grouped = classes_by_package(app)
    packages = app.cache.get("sorted_packages")
    if not isinstance(packages, list):
        packages = sorted(grouped)
        app.cache["sorted_packages"] = packages
    body = prefix[1:]
    start = body.rpartition("/")[0]  # the package a matching class sits in, or under
    i = bisect.bisect_left(packages, start)
    while i < len(packages) and (packages[i] == start or packages[i].startswith(start + "/")):
        for descriptor in grouped[packages[i]]:
            if descriptor.startswith(prefix):
                return app.code.classes[descriptor][0].name, descriptor
        i += 1
    return None


def _string_with_prefix(app: App, prefix: str) -> tuple[str, str] | None:
    """(DEX name, string) of a string constant or name in any DEX that starts with ``prefix``."""
    for dex in app.code.dexes:
        run = dex.strings_with_prefix(prefix, 1)
        if run:
            return dex.name, dex.string(run[0])
    return None


def packer_findings(app: App, kb: Knowledge) -> list[Finding]:
    """TV501 for every packer or protector whose signatures the app carries (TV507 for a runtime
    protection SDK): any one strong signature (a file, class, string or application class of it),
    or ``min`` facts of one weak group (names too common alone); one pass over the archive entries
    and one lookup per class signature."""
    index = kb.packer_index
    packers = kb.packers
    strong: dict[int, list[Evidence]] = {}
    weak: dict[tuple[int, int], dict[tuple[str, int], Evidence]] = {}

    def add(sig: Signal, ev: Evidence) -> None:
        if sig.group == STRONG:
            strong.setdefault(sig.packer, []).append(ev)
        else:
            weak.setdefault((sig.packer, sig.group), {}).setdefault((sig.kind, sig.fact), ev)

    for sig, entry in index.files_matching(app.entries):
        add(sig, Evidence(entry, "packer file"))
    classes = app.code.classes
    for desc, sigs in index.exact_classes.items():
        place = classes.get(desc)
        if place is not None:
            for sig in sigs:
                add(sig, Evidence(place[0].name, "packer class", class_name=java_name(desc)))
    for prefix, sig in index.class_prefixes:
        found = _defined_with_prefix(app, prefix)
        if found:
            add(sig, Evidence(found[0], "packer class", class_name=java_name(found[1])))
    for text, sig in index.strings:
        hit = _string_with_prefix(app, text)
        if hit:
            add(sig, Evidence(hit[0], f"packer string {hit[1][:80]!r}"))
    app_class = app.manifest.application_class if app.manifest else None
    out = []
    for n, packer in enumerate(packers):
        ev = list(strong.get(n, ()))
        if app_class and packer.application and app_class.startswith(packer.application):
            ev.append(Evidence("AndroidManifest.xml", f"application class {app_class}"))
        ev += _renamed_class_evidence(app, packer)
        confidence = "certain"
        if not ev:
            for g, group in enumerate(packer.weak):
                facts = weak.get((n, g), {})
                if len(facts) >= group.min_count:  # names too common alone: they count together
                    ev = list(facts.values())
                    ev[0] = replace(ev[0], detail=f"{ev[0].detail} (one of {len(ev)} that count only together)")
                    confidence = "firm"
                    break
        if ev:
            sdk = packer.kind == "sdk"
            out.append(
                finding(
                    kb.rules["TV507" if sdk else "TV501"],
                    tuple(ev[:8]),
                    subject=packer.id,
                    confidence=confidence,
                    title=f"Ships {packer.name}" if sdk else f"Packed or protected with {packer.name}",
                    packer=packer.id,
                    country=packer.country,
                    party=packer.vendor,
                )
            )
    return out


def _generic_stub(app: App, kb: Knowledge) -> list[Evidence]:
    """A stub Application in a root DEX, most activities absent from clear code, and loader use."""
    m = app.manifest
    stub = kb.generic_stub
    if m is None or not m.application_class or not stub:
        return []
    app_desc = "L" + m.application_class.replace(".", "/") + ";"
    entry = app.code.classes.get(app_desc)
    if entry is None or "!" in entry[0].name or "#" in entry[0].name or not entry[0].name.startswith("classes"):
        return []
    clear = {c for c, (dex, _, _) in app.code.classes.items() if "#" not in dex.name}
    activities = [c.name for c in m.components if c.kind == "activity"]
    launchers = m.launcher_activities
    if not activities or not launchers:
        return []
    missing = [a for a in activities if "L" + a.replace(".", "/") + ";" not in clear]
    if any("L" + la.replace(".", "/") + ";" in clear for la in launchers):
        return []
    if len(missing) < stub.get("min_missing_activity_share", 0.5) * len(activities):
        return []
    package = app_desc.rsplit("/", 1)[0] + "/"
    refs = references(app, kb)
    loader = [
        r
        for key in (*stub.get("loader_apis", ()), *stub.get("reflective_strings", ()))
        for r in refs.get(key, ())
        if r.class_name.startswith(package)
    ]
    if not loader:
        return []
    return [
        Evidence("AndroidManifest.xml", f"application class {m.application_class} is in the clear code"),
        Evidence(
            "AndroidManifest.xml",
            f"{len(missing)} of {len(activities)} declared activities, "
            f"launcher included, are not in any clear DEX (e.g. {missing[0]})",
        ),
        Evidence(
            loader[0].dex,
            f"loads code: {loader[0].what}",
            class_name=java_name(loader[0].class_name),
            method=loader[0].method,
        ),
    ]


_XOR_OPS = frozenset({0x97, 0xA2, 0xB7, 0xC2, 0xD7, 0xDF})


def _string_decryption(app: App, kb: Knowledge) -> list[Evidence]:
    """Methods that call a Base64 decoder and XOR bytes: decoded one method at a time."""
    refs = references(app, kb)
    dex_by_name = {d.name: d for d in app.code.dexes}
    out = []
    seen = set()
    for api in kb.string_decryption.get("decoders", ()):
        for ref in refs.get(api, ()):
            key = (ref.dex, ref.class_name, ref.method)
            if key in seen:
                continue
            seen.add(key)
            dex = dex_by_name[ref.dex]
            for body in dex.method_code(ref.class_name, ref.method):
                if any(op in _XOR_OPS for op, _ in instructions(body)):
                    out.append(evidence_at(ref, f"calls {api} and XORs the bytes", kb))
                    break
    return out[:8]


def detect(app: App, kb: Knowledge) -> list[Finding]:
    out = packer_findings(app, kb)
    if not any(f.rule == "TV501" for f in out):
        ev = _generic_stub(app, kb)
        if ev:
            out.append(
                finding(
                    kb.rules["TV501"],
                    tuple(ev),
                    subject="generic-stub",
                    confidence="firm",
                    title="Packed by a stub loader: the real code is not in the package",
                    packer="generic-stub",
                )
            )
    decryption = _string_decryption(app, kb)
    if decryption:
        out.append(finding(kb.rules["TV506"], tuple(decryption), subject="string-decryption", confidence="firm"))
    refs = references(app, kb)
    for check in kb.checks:
        found_refs = refs_for_rule(check, refs, app)
        if found_refs:
            out.append(finding(check, evidence_from(found_refs, kb, "references"), subject=check.name))
    return out
