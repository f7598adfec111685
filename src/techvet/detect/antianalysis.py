"""Anti-analysis: packers and protectors, home-made stub loaders, root/emulator/debugger checks."""

from __future__ import annotations

from techvet.app.dex import instructions, java_name
from techvet.app.reader import App
from techvet.detect._code_refs import references, refs_for_rule
from techvet.detect._common import evidence_at, evidence_from, finding
from techvet.findings import Evidence, Finding
from techvet.knowledge import Knowledge, Packer


def _packer_evidence(app: App, packer: Packer, packer_classes: dict[str, str]) -> list[Evidence]:
    ev: list[Evidence] = []
    files = packer.file_pattern
    if files is not None:
        for entry in app.entries:
            inner = entry.rpartition("!")[2]
            if not inner.startswith("res/") and files.search(inner):
                ev.append(Evidence(entry, "packer file"))
    cls = packer_classes.get(packer.id)
    if cls is not None:
        ev.append(Evidence(app.code.classes[cls][0].name, "packer class", class_name=java_name(cls)))
    app_class = app.manifest.application_class if app.manifest else None
    if app_class and packer.application and app_class.startswith(packer.application):
        ev.append(Evidence("AndroidManifest.xml", f"application class {app_class}"))
    combined = packer.renamed_class_pattern
    if combined is not None:
        counts: dict[str, int] = {}
        example: dict[str, str] = {}
        for cls in app.code.classes:
            m = combined.match(cls)
            if m and m.lastgroup:
                counts[m.lastgroup] = counts.get(m.lastgroup, 0) + 1
                example.setdefault(m.lastgroup, cls)
        traits = packer.renamed_class_traits
        hits = [name for name, n in counts.items() if n >= traits[name][0]]
        if hits and sum(traits[name][1] for name in hits) >= packer.min_score:
            for name in hits:
                cls = example[name]
                detail = f"renamed-class trait {name}: {counts[name]} classes"
                ev.append(Evidence(app.code.classes[cls][0].name, detail, class_name=java_name(cls)))
    return ev


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
    out = []
    rule = kb.rules["TV501"]
    found = False
    # one pass over the classes for every packer's class prefixes (thousands of classes, few hits)
    prefixes = tuple(p for packer in kb.packers for p in packer.classes)
    packer_classes: dict[str, str] = {}
    for cls in app.code.classes:
        if cls.startswith(prefixes):
            for packer in kb.packers:
                if packer.classes and cls.startswith(packer.classes):
                    packer_classes.setdefault(packer.id, cls)
    for packer in kb.packers:
        ev = _packer_evidence(app, packer, packer_classes)
        if ev:
            found = True
            out.append(
                finding(
                    rule,
                    tuple(ev[:8]),
                    subject=packer.id,
                    title=f"Packed or protected with {packer.name}",
                    packer=packer.id,
                    country=packer.country,
                    party=packer.vendor,
                )
            )
    if not found:
        ev = _generic_stub(app, kb)
        if ev:
            out.append(
                finding(
                    rule,
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
