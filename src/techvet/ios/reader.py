"""Read an iOS app (``.ipa``, or a bare ``.app`` folder) into the same :class:`App` Android apps give.

The app is ``Payload/<Name>.app/``: its ``Info.plist`` (identity, usage descriptions, App
Transport Security), ``embedded.mobileprovision`` (the team and the entitlements Apple granted),
the main executable that ``CFBundleExecutable`` names, and the code that rides with it: every
``Frameworks/*.framework``, ``Frameworks/*.dylib`` and app extension (``PlugIns/*.appex``, with
its own frameworks). The facts of the iOS part are in :class:`IosApp` on ``App.ios``; what both
platforms share (identity through ``App.package``, signers in ``App.certificates``, notes, entries)
is where Android's is, so detectors that do not care about the platform serve both.

Nothing is extracted: the archive is read as Android apps are (:mod:`techvet.app.archive`, with
the same bounds). A folder is walked without following symbolic links. A FairPlay-encrypted binary
is read for what stays plain (load commands, imports, the Info.plist and resources) and the notes
say what could not be seen.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from techvet.app.archive import MAX_ENTRIES, MAX_ENTRY_BYTES, Archive, ReadBudget
from techvet.app.certs import Certificate, describe_certificates
from techvet.app.code import CodeIndex
from techvet.app.reader import App, file_sha256, naming_the_file
from techvet.errors import InputError, LimitExceededError, MalformedAppError, NotAnAppError
from techvet.ios.macho import (
    MAX_NAME_SECTION,
    MAX_STRING,
    MAX_STRINGS,
    Binary,
    Image,
    is_macho,
    read_binary,
    split_cstrings,
)
from techvet.ios.names import objc_classes, swift_type_name
from techvet.ios.plist import MAX_NODES, MAX_PLIST_BYTES, read_plist
from techvet.ios.signing import MAX_PROFILE_BYTES, Profile, read_code_signature, read_profile

IPA_SUFFIXES = (".ipa",)
MAX_BINARIES = 512  # the main executable, frameworks, dylibs and extensions of one app
MAX_DEPTH = 64  # folders inside a .app folder
MAX_APP_STRINGS = 1_000_000  # strings kept across every binary of one app (each binary: MAX_STRINGS)
MAX_APP_NAMES = 2_000_000  # imported and defined symbols, classes and selectors across the app
_APP_ROOT = re.compile(r"^Payload/([^/]+\.app)/Info\.plist$")
_FRAMEWORK = re.compile(r"^((?:PlugIns/[^/]+\.appex/)?Frameworks/([^/]+)\.framework/)Info\.plist$")
_NESTED_BUNDLE = re.compile(r"\.(?:framework|appex|app)/(?:[^/]+/)*[^/]+\.(?:framework|appex)/Info\.plist$")
_FRAMEWORK_BINARY = re.compile(r"^(?:PlugIns/[^/]+\.appex/)?Frameworks/([^/]+)\.framework/\1$")
_DYLIB = re.compile(r"^(?:PlugIns/[^/]+\.appex/)?Frameworks/[^/]+\.dylib$")
# app extensions, and the apps an app carries (a watch app, an App Clip): code that runs too
_EXTENSION = re.compile(r"^((?:PlugIns/([^/]+)\.appex|Watch/([^/]+)\.app|AppClips/([^/]+)\.app)/)Info\.plist$")
_RESOURCE_BUNDLE = re.compile(r"^(?:[^/]+/)*?([^/]+\.bundle)/")
_IDENTIFIER = re.compile(r"^[A-Za-z_$][\w$.]*$")  # a class name (the section holds ivar layouts too)
# sections whose strings are names, not text (kept apart) or compiler metadata (type encodings)
_NAME_SECTIONS = {"__objc_classname", "__objc_methname", "__objc_methtype", "__swift5_reflstr", "__swift5_typeref"}


@dataclass
class IosBinary:
    """One Mach-O file of the app, as facts."""

    path: str  # entry inside the app
    role: str  # main, framework, dylib or extension
    name: str  # the executable's, framework's or extension's name
    archs: list[str]
    file_type: str
    encrypted: bool
    min_os: str | None
    libraries: list[str]
    classes: list[str]  # Objective-C classes it defines
    selectors: list[str]
    swift_types: list[str]
    imports: list[str]
    strings: list[str]
    notes: list[str] = field(default_factory=list)
    bundle_id: str | None = None  # a framework's or extension's own CFBundleIdentifier

    @cached_property
    def joined_strings(self) -> str:
        """The strings as one text, a NUL before and after each (they hold none): one regular
        expression over it finds what a test per string would, at C speed."""
        return "\0" + "\0".join(self.strings) + "\0"

    @property
    def system_libraries(self) -> list[str]:
        """Linked system frameworks by name (``CoreLocation``), the app's own left out."""
        out = []
        for lib in self.libraries:
            if lib.startswith(("/System/Library/Frameworks/", "/System/Library/PrivateFrameworks/")):
                out.append(lib.rsplit("/", 1)[-1])
            elif lib.startswith("/usr/lib/"):
                out.append(lib.rsplit("/", 1)[-1])
        return out


@dataclass
class IosApp:
    """What the iOS part of an app says: identity, Info.plist, profile, entitlements and code."""

    bundle_id: str | None
    name: str | None
    version: str | None
    build: str | None
    min_os: str | None
    sdk: str | None  # the SDK it was built with (DTSDKName): App Transport Security needs iOS 9
    info: dict[str, Any] = field(repr=False)
    profile: Profile | None
    entitlements: dict[str, Any]
    binaries: list[IosBinary]
    bundles: list[str]  # resource bundles (``WeiboSDK.bundle``), nested ones included
    root: str  # where the .app lies in the archive (``Payload/X.app/``; "" for a folder)
    unread: list[str] = field(default_factory=list)  # code the bundle names that could not be read

    @property
    def main(self) -> IosBinary | None:
        return next((b for b in self.binaries if b.role == "main"), None)

    @property
    def encrypted(self) -> list[IosBinary]:
        return [b for b in self.binaries if b.encrypted]


class _Tree(Protocol):
    @property
    def names(self) -> list[str]: ...

    def __contains__(self, name: str) -> bool: ...

    def size_of(self, name: str) -> int: ...

    def read(self, name: str, limit: int = ...) -> bytes: ...


class _Folder:
    """A ``.app`` folder read like an archive: names relative to it, symbolic links never followed
    (a link to ``/etc/passwd`` or ``/dev/zero`` is listed, never read), and the bounds an archive's
    entries have: entries in all, depth, the size of one file and of everything read. The walk is
    iterative (``os.walk`` recurses, and a folder can nest deeper than Python's stack)."""

    def __init__(self, root: str, budget: ReadBudget) -> None:
        self.root = root
        self.budget = budget
        self._sizes: dict[str, int] = {}
        entries = 0
        pending = [("", 0)]
        while pending:
            relative, depth = pending.pop()
            if depth > MAX_DEPTH:
                raise LimitExceededError(f"folders nested deeper than {MAX_DEPTH}")
            try:
                with os.scandir(os.path.join(root, relative)) as found:
                    listed = sorted(found, key=lambda e: e.name)
            except OSError as exc:
                raise MalformedAppError(f"{_short(relative)}: cannot be listed ({exc.strerror})") from None
            entries += len(listed)
            if entries > MAX_ENTRIES:
                raise LimitExceededError(f"more than {MAX_ENTRIES} files and folders")
            for entry in listed:
                name = f"{relative}/{entry.name}" if relative else entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append((name, depth + 1))
                    elif entry.is_file(follow_symlinks=False):
                        self._sizes[name] = entry.stat(follow_symlinks=False).st_size
                except OSError as exc:
                    raise MalformedAppError(f"{_short(name)}: cannot be read ({exc.strerror})") from None

    @property
    def names(self) -> list[str]:
        return list(self._sizes)

    def __contains__(self, name: str) -> bool:
        return name in self._sizes

    def size_of(self, name: str) -> int:
        return self._sizes[name]

    def read(self, name: str, limit: int = MAX_ENTRY_BYTES) -> bytes:
        size = self._sizes[name]
        if size > limit:
            raise LimitExceededError(f"{_short(name)}: file of {size} bytes is over the {limit} byte bound")
        self.budget.check(size, _short(name))
        try:  # O_NOFOLLOW: a file swapped for a link since the walk is refused, not followed
            handle = os.open(os.path.join(self.root, name), os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(handle, "rb") as fh:
                data = fh.read(limit + 1)
        except OSError as exc:
            raise MalformedAppError(f"{_short(name)}: cannot be read ({exc.strerror})") from None
        if len(data) > limit:
            raise LimitExceededError(f"{_short(name)}: grew past the {limit} byte bound while read")
        self.budget.take(len(data), _short(name))
        return data

    def digest(self) -> tuple[str, int]:
        """A digest of the folder: its file names and sizes and the bytes of each, in name order
        (no archive to hash; the same folder always gives the same digest), within the same bounds
        as reading it: every file is read once more, so the budget is the one reading used."""
        h = hashlib.sha256()
        total = 0
        for name in sorted(self._sizes):
            h.update(name.encode("utf-8", "surrogateescape") + f"\0{self._sizes[name]}\0".encode())
            data = self.read(name)
            h.update(data)
            total += len(data)
        return h.hexdigest(), total


def _short(name: str) -> str:
    """A path as an error line may show it: a hostile one can be kilobytes long."""
    return name if len(name) <= 160 else f"{name[:80]}…{name[-60:]}"


def is_ios_app(path: str) -> bool:
    """Whether ``path`` looks like an iOS app: a ``.app`` folder, or a file named ``.ipa``."""
    return (os.path.isdir(path) and path.rstrip("/").endswith(".app")) or path.lower().endswith(IPA_SUFFIXES)


def read_ios_app(path: str | os.PathLike[str]) -> App:
    """Read the iOS app at ``path``; raises an :class:`InputError` subclass naming the file."""
    return naming_the_file(os.fspath(path), _read)


def _read(path: str) -> App:
    budget = ReadBudget()
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "Info.plist")):
            raise NotAnAppError(f"{path}: folder without Info.plist: not an iOS app")
        folder = _Folder(path, budget)
        app = _read_tree(path, folder, "")
        folder.budget = ReadBudget()  # hashing reads every file once more, under bounds of its own
        app.sha256, app.size = folder.digest()
        return app
    if not os.path.isfile(path):
        raise NotAnAppError(f"{path}: no such file")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head != b"PK\x03\x04":
        raise NotAnAppError(f"{path}: not an iOS app (an .ipa is a zip file)")
    with Archive(path, path, budget) as archive:
        for name in archive.names:
            parts = name.replace("\\", "/").split("/")
            if not parts[0] or ".." in parts:  # nothing is extracted, but no real IPA names such a path
                raise MalformedAppError(f"{path}: entry {_short(name)!r} points outside the app")
        roots = sorted(m.group(1) for m in map(_APP_ROOT.match, archive.names) if m)
        if not roots:
            raise NotAnAppError(f"{path}: zip archive without Payload/<name>.app/Info.plist: not an iOS app")
        app = _read_tree(path, archive, f"Payload/{roots[0]}/")
        if len(roots) > 1:
            app.notes.append(f"the archive holds {len(roots)} apps; only {roots[0]} was read")
    app.sha256, app.size = file_sha256(path)
    return app


def _read_tree(path: str, tree: _Tree, root: str) -> App:
    notes: list[str] = []
    budget = _Budget()
    info = _plist(tree, f"{root}Info.plist", notes, budget, required=True)
    profile = None
    if f"{root}embedded.mobileprovision" in tree:
        try:
            profile = read_profile(
                tree.read(f"{root}embedded.mobileprovision", MAX_PROFILE_BYTES), "embedded.mobileprovision"
            )
        except LimitExceededError:
            raise
        except InputError as exc:
            notes.append(str(exc))
    binaries, signers, entitlements, unread = _binaries(tree, root, info, notes, budget)
    names = tree.names
    inside = [n[len(root) :] for n in names if n.startswith(root)]
    bundles = sorted({m.group(1) for m in map(_RESOURCE_BUNDLE.match, inside) if m})
    certificates = _signers(signers, profile)
    ios = IosApp(
        bundle_id=_text(info.get("CFBundleIdentifier")),
        name=_text(info.get("CFBundleDisplayName")) or _text(info.get("CFBundleName")),
        version=_text(info.get("CFBundleShortVersionString")),
        build=_text(info.get("CFBundleVersion")),
        min_os=_text(info.get("MinimumOSVersion")),
        sdk=_text(info.get("DTSDKName")),
        info=info,
        profile=profile,
        entitlements=entitlements or (profile.entitlements if profile else {}),
        binaries=binaries,
        bundles=bundles,
        root=root,
        unread=unread,
    )
    return App(
        path,
        "",
        0,
        None,
        certificates,
        CodeIndex([]),
        [],
        names,
        [],
        notes=notes,
        platform="ios",
        ios=ios,
    )


@dataclass
class _Budget:
    """What one app may keep across all its binaries and property lists: a bomb spread over 500
    frameworks costs what one would."""

    plist_nodes: list[int] = field(default_factory=lambda: [MAX_NODES])
    strings: int = MAX_APP_STRINGS
    names: int = MAX_APP_NAMES


def _plist(tree: _Tree, name: str, notes: list[str], budget: _Budget, required: bool = False) -> dict[str, Any]:
    if name not in tree:
        if required:
            raise NotAnAppError(f"no {name}: not an iOS app")
        return {}
    try:
        return read_plist(tree.read(name, MAX_PLIST_BYTES), name, budget.plist_nodes)
    except LimitExceededError:
        raise
    except InputError as exc:
        if required:
            raise
        notes.append(str(exc))
        return {}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _text(value: object) -> str | None:
    """A name from a property list as reports may show it: control and bidirectional-override
    characters replaced (a label could otherwise move a terminal's cursor or reverse a line)."""
    return _CONTROL.sub("\ufffd", value[:300]) if isinstance(value, str) and value else None


def _executable(info: dict[str, Any], default: str) -> str:
    name = info.get("CFBundleExecutable")
    return name if isinstance(name, str) and name and "/" not in name and name not in (".", "..") else default


def _bundles_with_code(tree: _Tree, root: str, notes: list[str]) -> list[tuple[str, str, str]]:
    """(Info.plist entry or binary entry, role, name) of every bundle that carries code, found by
    name alone (nothing is read yet, so their number is checked before any is). Bundles nested
    deeper (a framework's own frameworks, a watch app's extensions) are named in the notes."""
    found: list[tuple[str, str, str]] = []
    for name in tree.names:
        if not name.startswith(root):
            continue
        inner = name[len(root) :]
        if _NESTED_BUNDLE.search(inner) and not _EXTENSION.match(inner) and not _FRAMEWORK.match(inner):
            notes.append(f"{_short(name)}: a bundle nested in another; its code was not read")
        elif framework := _FRAMEWORK.match(inner):
            found.append((name, "framework", framework.group(2)))
        elif extension := _EXTENSION.match(inner):
            found.append((name, "extension", next(g for g in extension.groups()[1:] if g)))
        elif (bare := _FRAMEWORK_BINARY.match(inner)) and f"{name.rpartition('/')[0]}/Info.plist" not in tree:
            found.append((name, "framework-binary", bare.group(1)))  # a framework without its Info.plist
        elif _DYLIB.match(inner):
            found.append((name, "dylib", inner.rsplit("/", 1)[-1]))
    if len(found) + 1 > MAX_BINARIES:
        raise LimitExceededError(f"more than {MAX_BINARIES} binaries in the app")
    return found


def _binaries(
    tree: _Tree, root: str, info: dict[str, Any], notes: list[str], budget: _Budget
) -> tuple[list[IosBinary], list[bytes], dict[str, Any], list[str]]:
    """Every Mach-O of the app: (binaries, signer certificates, entitlements of the main one, and
    what the bundle names but could not be read: code not examined)."""
    app_name = root.rstrip("/").rsplit("/", 1)[-1].removesuffix(".app") or "app"
    wanted: list[tuple[str, str, str, str | None]] = [
        (
            f"{root}{_executable(info, app_name)}",
            "main",
            _executable(info, app_name),
            _text(info.get("CFBundleIdentifier")),
        )
    ]
    for entry, role, name in _bundles_with_code(tree, root, notes):
        if role in ("framework", "extension"):
            sub = _plist(tree, entry, notes, budget)
            folder = entry.rpartition("/")[0]
            wanted.append((f"{folder}/{_executable(sub, name)}", role, name, _text(sub.get("CFBundleIdentifier"))))
        else:
            wanted.append((entry, "framework" if role == "framework-binary" else role, name, None))
    binaries: list[IosBinary] = []
    signers: list[bytes] = []
    entitlements: dict[str, Any] = {}
    unread: list[str] = []
    seen: set[str] = set()
    for entry, role, name, bundle_id in wanted:
        if entry in seen:
            continue
        seen.add(entry)
        if entry not in tree:
            unread.append(f"{_short(entry)}: the {role} binary the bundle names is missing")
            continue
        if budget.names <= 0 or budget.strings <= 0:  # the app's names are spent: a bomb, said so
            unread.append(f"{_short(entry)}: not read, the app's earlier binaries hold the most names techvet reads")
            continue
        data = tree.read(entry)
        if not is_macho(data[:8]):
            unread.append(f"{_short(entry)}: the {role} binary is not a Mach-O file")
            continue
        binary = read_binary(data, entry)  # a damaged binary makes the app unreadable, as a bad DEX does
        described, signature = _describe(entry, role, name, binary, budget)
        described.bundle_id = bundle_id
        binaries.append(described)
        notes.extend(described.notes)
        if role == "main" and signature is not None:
            found, sig_notes = read_code_signature(signature, entry)
            signers, entitlements = found.certificates, found.entitlements
            notes.extend(sig_notes)
    return binaries, signers, entitlements, unread


def _describe(entry: str, role: str, name: str, binary: Binary, budget: _Budget) -> tuple[IosBinary, bytes | None]:
    """One binary's facts, every image's merged. A thin file (nearly every app now) has one image,
    whose selectors and strings need no merging (the linker wrote each once): kept as read."""
    classes: dict[str, None] = {}
    selector_parts: list[list[str]] = []
    swift: dict[str, None] = {}
    imports: dict[str, None] = {}
    string_parts: list[list[str]] = []
    libraries: dict[str, None] = {}
    notes = list(binary.notes)
    signature = None
    kept = 0  # strings kept from this binary
    for image in binary.images:
        if budget.names <= 0:
            notes.append(f"{entry}: names past {MAX_APP_NAMES} in the app not read")
            break
        classes.update(dict.fromkeys(objc_classes(image)))
        # the section holds protocol and category names too, and ivar layouts (bytes): names only
        classes.update(dict.fromkeys(n for n in image.cstrings("__TEXT", "__objc_classname") if _IDENTIFIER.match(n)))
        selector_parts.append(image.cstrings("__TEXT", "__objc_methname"))
        for symbol in image.defined:
            if symbol.startswith("_OBJC_CLASS_$_"):
                classes[symbol.removeprefix("_OBJC_CLASS_$_")] = None
            elif symbol.startswith(_SWIFT_SYMBOL) and (swift_name := swift_type_name(symbol)) is not None:
                swift[swift_name] = None
        imports.update(dict.fromkeys(image.imports))
        libraries.update(dict.fromkeys(image.libraries))
        budget.names -= len(image.imports) + len(image.defined) + len(selector_parts[-1])
        if kept < MAX_STRINGS and budget.strings > 0:
            string_parts.append(_text_strings(image, min(MAX_STRINGS - kept, budget.strings)))
            kept += len(string_parts[-1])
            budget.strings -= len(string_parts[-1])
        if image.signature is not None and signature is None:
            offset, size = image.signature
            signature = image.data[offset : offset + size] if offset + size <= len(image.data) else None
        notes.extend(image.notes)
    budget.names -= len(classes)
    if budget.strings <= 0:
        notes.append(f"{entry}: strings past {MAX_APP_STRINGS} in the app not read")
    for cls_name in classes:
        if cls_name.startswith("_Tt") and (swift_name := swift_type_name(cls_name)) is not None:
            swift[swift_name] = None
    selectors = _merged(selector_parts)
    strings = _merged(string_parts)
    encrypted = binary.encrypted
    if encrypted:
        notes.append(
            f"{entry}: FairPlay-encrypted (cryptid 1): its classes, selectors and strings could not be read; "
            "its linked libraries and imported symbols could"
        )
    first = binary.images[0]
    return (
        IosBinary(
            path=entry,
            role=role,
            name=name,
            archs=binary.archs,
            file_type=first.file_type,
            encrypted=encrypted,
            min_os=first.min_os,
            libraries=list(libraries),
            classes=list(classes),
            selectors=selectors,
            swift_types=list(swift),
            imports=list(imports),
            strings=strings[:MAX_STRINGS],
            notes=notes,
        ),
        signature,
    )


def _merged(parts: list[list[str]]) -> list[str]:
    """One list of the images' names: as read for one image, without repeats for several."""
    if len(parts) == 1:
        return parts[0]
    return list(dict.fromkeys(name for part in parts for name in part))


_SWIFT_SYMBOL = ("_$s", "$s")


def _text_strings(image: Image, limit: int) -> list[str]:
    """The image's C strings (every C-string-literal section but the name sections) and its UTF-16
    CFString literals (``__ustring``), where text in other scripts lives; at most ``limit``. A byte
    is decoded once however many sections claim it: sections that overlap are read as one."""
    out: list[str] = []
    covered: list[tuple[int, int]] = []
    for section in image.sections:
        if len(out) >= limit:
            break
        wanted = (section.is_cstrings and section.name not in _NAME_SECTIONS) or section.name == "__ustring"
        start, end = section.offset, section.offset + section.size
        if not wanted or any(start < e and s < end for s, e in covered):
            continue
        covered.append((start, end))
        blob = image.section_bytes(section)
        if section.name == "__ustring":
            text = bytes(blob[: min(len(blob), MAX_NAME_SECTION) & ~1]).decode("utf-16-le", "replace")
            texts = text.split("\0", limit)[:limit]
            out.extend(t if len(t) <= MAX_STRING else t[:MAX_STRING] for t in texts if t)
        else:
            out.extend(split_cstrings(blob, limit - len(out)))
    return out[:limit]


def _signers(code_signature: list[bytes], profile: Profile | None) -> list[Certificate]:
    """The signing certificate(s): the code signature's leaf (not Apple's authorities that issued
    it), and the profile's developer certificates."""
    block: dict[str, list[bytes]] = {}
    if code_signature:
        block["code-signature"] = code_signature
    if profile is not None and profile.certificates:
        block["profile"] = profile.certificates
    described = describe_certificates([], block)
    issuers = {c.issuer for c in described}
    leaves = [c for c in described if c.subject not in issuers or c.subject == c.issuer and len(described) == 1]
    return leaves or described
