"""Read an app file (APK, split bundle, bare DEX) into an :class:`App`: plain facts, no judgement.

Split bundles (``.xapk``, ``.apks``, ``.apkm``) are read as one app: the base APK gives the manifest
and certificates, and every split adds its code, libraries and assets. Archives nested inside the
app (jars, APKs and zips in assets, Instant Run's ``instant-run.zip``) are opened to
:data:`MAX_NESTING` levels and their DEX files join the code index. A DEX is recognised by its
magic bytes, whatever its entry is called (packers hide ``mix.dex`` under ``lib/``).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from techvet.app.archive import Archive, ReadBudget
from techvet.app.axml import parse_axml
from techvet.app.certs import Certificate, describe_certificates, pkcs7_certificates, signing_block_certificates
from techvet.app.code import CodeIndex
from techvet.app.dex import DEX_MAGIC_PREFIX, Dex
from techvet.app.manifest import Manifest, read_manifest
from techvet.app.netsec import NetworkSecurity, read_network_security
from techvet.app.resources import ResourceTable
from techvet.errors import InputError, LimitExceededError, MalformedAppError, NotAnAppError

if TYPE_CHECKING:
    from techvet.ios.reader import IosApp

MAX_NESTING = 3
# Archives inside the app, and entries inside those, across the whole app. Real apps nest a few
# plugins or splits of a few thousand entries; `make fuzz` built 73 KB apps of 5,000 nested zips
# and 200,000 entries (4.5 s to refuse at the total entry budget). Past either bound the app is
# refused, as a bomb is: code hidden beyond them would otherwise go unexamined.
MAX_NESTED_ARCHIVES = 1000
MAX_NESTED_ENTRIES = 50_000
MAX_DEX_BYTES = 128 * 1024 * 1024
MAX_DEX_FILES = 256
BUNDLE_SUFFIXES = (".xapk", ".apks", ".apkm")
APP_SUFFIXES = (".apk", *BUNDLE_SUFFIXES, ".dex")
_ZIP_MAGIC = b"PK\x03\x04"
_SMALLEST_ARCHIVE = 22  # an empty zip; a DEX header alone is 112 bytes
# Compiled resources are never code (res/raw/ holds arbitrary files, so it is sniffed); every other
# entry is sniffed for DEX or zip magic whatever its name, as packers hide code under any name.
_NOT_CODE = re.compile(r"^(res/(?!raw/)|resources\.arsc$|AndroidManifest\.xml$)")
_NESTED_ARCHIVE = re.compile(r"\.(apk|jar|zip)$", re.IGNORECASE)
_PRIMARY_DEX = re.compile(r"^([^!/]+\.apk!)?classes\d*\.dex$")
_LIB = re.compile(r"^lib/([^/]+)/([^/]+\.so)$")


@dataclass(frozen=True, slots=True)
class NativeLibrary:
    name: str
    abi: str
    path: str


@dataclass
class App:
    """Everything techvet reads from one app. Detectors get this and the knowledge base.

    Both platforms give this shape (``platform`` says which): an iOS app (techvet.ios.reader) has
    no manifest and no DEX code, and its own facts in ``ios``; identity (``package``, ``label``),
    signers, entries and notes are where Android's are.
    """

    path: str
    sha256: str
    size: int
    manifest: Manifest | None
    certificates: list[Certificate]
    code: CodeIndex
    native_libraries: list[NativeLibrary]
    entries: list[str]  # every archive entry, nested ones as outer!inner
    assets: list[str]
    splits: list[str] = field(default_factory=list)
    network_security_config: str | None = None  # decoded XML text of the config file, if any
    network_security: NetworkSecurity | None = None  # the same, as facts
    notes: list[str] = field(default_factory=list)  # what could not be read, said plainly
    digests: dict[str, str] = field(default_factory=dict)  # SHA-256 of each nested archive and payload DEX
    cache: dict[str, object] = field(default_factory=dict, repr=False)  # detectors' shared lookups
    platform: str = "android"
    ios: IosApp | None = None

    @property
    def package(self) -> str | None:
        """The app's id: Android's package name, iOS's bundle identifier."""
        if self.ios is not None:
            return self.ios.bundle_id
        return self.manifest.package if self.manifest else None

    @property
    def label(self) -> str | None:
        """The name a person sees under the icon."""
        if self.ios is not None:
            return self.ios.name
        return self.manifest.label if self.manifest else None

    @property
    def version_name(self) -> str | None:
        if self.ios is not None:
            return self.ios.version
        return self.manifest.version_name if self.manifest else None

    @property
    def dex_names(self) -> list[str]:
        return [d.name for d in self.code.dexes]


class _Collector:
    """Gathers code, libraries and entries while walking an archive tree."""

    def __init__(self, budget: ReadBudget) -> None:
        self.budget = budget
        self.dexes: list[Dex] = []
        self.libs: list[NativeLibrary] = []
        self.entries: list[str] = []
        self.notes: list[str] = []
        self.nested_archives = 0
        self.nested_entries = 0
        # SHA-256 of each archive and payload DEX inside the app (not the app's own classesN.dex),
        # by entry: a known tool's APK or DEX dropped into another app keeps its file digest (taken
        # while the bytes are in memory). The app's own code is not hashed: published indicators
        # name samples (the APK, matched by the app's digest) and payloads, and hashing every
        # classes.dex cost about 4% of a scan on the corpus, against 0.2% for the rest of matching
        self.digests: dict[str, str] = {}

    def add_dex(self, data: bytes, name: str) -> None:
        if len(self.dexes) >= MAX_DEX_FILES:
            raise LimitExceededError(f"more than {MAX_DEX_FILES} DEX files")
        if not _PRIMARY_DEX.match(name):  # a payload: a known tool's file could sit here whole
            self.digests[name] = hashlib.sha256(data).hexdigest()
        try:
            dex = Dex(data, name)
            dex.validate()
        except MalformedAppError as exc:
            if _PRIMARY_DEX.match(name):
                raise  # the app's own code is unreadable: no verdict can rest on it
            self.notes.append(str(exc))
            return
        self.dexes.append(dex)
        appended = dex.appended_image()
        if appended is not None:
            try:
                carved = Dex(appended, f"{name}#appended@{dex.size + data[dex.size :].find(DEX_MAGIC_PREFIX)}")
                carved.validate()
                self.dexes.append(carved)
            except MalformedAppError as exc:
                self.notes.append(str(exc))

    def walk(self, archive: Archive, prefix: str, depth: int, app_root: bool = False) -> None:
        for name in archive.names:
            full = f"{prefix}{name}"
            self.entries.append(full)
            lib = _LIB.match(name)
            if lib and app_root:
                self.libs.append(NativeLibrary(lib.group(2), lib.group(1), full))
            if (_NOT_CODE.search(name) and not name.endswith(".dex")) or archive.size_of(name) < _SMALLEST_ARCHIVE:
                continue
            head = archive.peek(name, 4)
            if head.startswith(DEX_MAGIC_PREFIX):
                self.add_dex(archive.read(name, MAX_DEX_BYTES), full)
            elif head == _ZIP_MAGIC and (_NESTED_ARCHIVE.search(name) or "/" not in name or depth == 0):
                if depth >= MAX_NESTING:
                    self.notes.append(f"{full}: nested deeper than {MAX_NESTING} archives, not opened")
                    continue
                self.nested_archives += 1
                if self.nested_archives > MAX_NESTED_ARCHIVES:
                    raise LimitExceededError(f"{full}: more than {MAX_NESTED_ARCHIVES} archives nested in the app")
                try:
                    data = archive.read(name)
                    inner = Archive(data, full, self.budget)
                    self.digests[full] = hashlib.sha256(data).hexdigest()
                except (NotAnAppError, MalformedAppError) as exc:
                    self.notes.append(str(exc))
                    continue
                self.nested_entries += len(inner.names)
                if self.nested_entries > MAX_NESTED_ENTRIES:
                    inner.close()
                    raise LimitExceededError(f"{full}: more than {MAX_NESTED_ENTRIES} entries in nested archives")
                with inner:
                    self.walk(inner, f"{full}!", depth + 1)


def file_sha256(path: str) -> tuple[str, int]:
    """The SHA-256 and size of a file, read in MiB chunks (an app is never held whole for it)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _certificates(archive: Archive, apk: BinaryIO) -> list[Certificate]:
    v1 = []
    for name in archive.names:
        upper = name.upper()
        if upper.startswith("META-INF/") and upper.endswith((".RSA", ".DSA", ".EC")):
            v1.extend(pkcs7_certificates(archive.read(name, 4 * 1024 * 1024)))
    block = signing_block_certificates(apk)
    return describe_certificates(v1, block)


def _manifest(archive: Archive) -> tuple[Manifest | None, str | None, NetworkSecurity | None]:
    if "AndroidManifest.xml" not in archive:
        return None, None, None
    root = parse_axml(archive.read("AndroidManifest.xml", 16 * 1024 * 1024))
    table = None
    if "resources.arsc" in archive:
        try:
            table = ResourceTable(archive.read("resources.arsc", 64 * 1024 * 1024))
        except (MalformedAppError, struct.error):
            table = None

    def resolve(ref: str) -> str | None:
        if table is None:
            return None
        try:
            return table.resolve(int(ref[1:], 16))
        except (ValueError, struct.error, IndexError):
            return None

    manifest = read_manifest(root, resolve)
    nsc: NetworkSecurity | None = None
    nsc_text = None
    path = manifest.network_security_config
    if path and path in archive:
        try:
            nsc_root = parse_axml(archive.read(path, 1024 * 1024))
            nsc_text = _xml_text(nsc_root)
            nsc = read_network_security(nsc_root)
        except InputError:
            nsc_text = None
    return manifest, nsc_text, nsc


def _xml_text(root: object) -> str:
    """Render a parsed network-security-config tree back to compact XML text for the report."""
    from xml.sax.saxutils import quoteattr

    from techvet.app.axml import Element

    def render(el: Element, depth: int) -> str:
        attrs = "".join(f" {k}={quoteattr(str(v))}" for k, v in el.attrs.items())
        inner = "".join(render(c, depth + 1) for c in el.children)
        return f"<{el.tag}{attrs}>{inner}</{el.tag}>" if inner else f"<{el.tag}{attrs}/>"

    assert isinstance(root, Element)
    return render(root, 0)


def read_app(path: str | os.PathLike[str]) -> App:
    """Read the app at ``path``. Raises an :class:`InputError` subclass for anything unreadable.

    Every message names the file: errors from deep inside (a DEX table, the manifest) get the
    app's path in front, so a line in a batch log says which app it is about.
    """
    return naming_the_file(os.fspath(path), _read_app)


def naming_the_file(path: str, read: Callable[[str], App]) -> App:
    """``read(path)``, every InputError it raises put in front of the path (once), whichever
    reader raised it: both platforms' errors read the same in a batch log."""
    try:
        return read(path)
    except InputError as exc:
        if str(exc).startswith(path):
            raise
        raise type(exc)(f"{path}: {exc}") from None


def _read_app(path: str) -> App:
    if not os.path.isfile(path):
        raise NotAnAppError(f"{path}: no such file")
    size = os.path.getsize(path)
    if size == 0:
        raise NotAnAppError(f"{path}: empty file")
    with open(path, "rb") as fh:
        head = fh.read(4)
    budget = ReadBudget()
    collector = _Collector(budget)
    if head == DEX_MAGIC_PREFIX:
        if size > MAX_DEX_BYTES:
            raise LimitExceededError(f"{path}: DEX of {size} bytes is over the bound")
        data = Path(path).read_bytes()
        collector.add_dex(data, os.path.basename(path))
        if not collector.dexes:
            raise MalformedAppError(collector.notes[0] if collector.notes else f"{path}: bad DEX")
        digest, size = hashlib.sha256(data).hexdigest(), len(data)
        return App(path, digest, size, None, [], CodeIndex(collector.dexes), [], [], [], notes=collector.notes)
    if head != _ZIP_MAGIC:
        raise NotAnAppError(f"{path}: not an Android app (no zip or DEX signature)")
    with Archive(path, path, budget) as outer:
        splits = [n for n in outer.names if n.lower().endswith(".apk") and "/" not in n]
        is_bundle = "AndroidManifest.xml" not in outer and bool(splits)
        if is_bundle:
            base_name = next((n for n in splits if n.lower() in ("base.apk", "base-master.apk")), None)
            base_name = base_name or next(
                (n for n in splits if not n.startswith("split_") and "config." not in n), splits[0]
            )
            manifest = nsc = netsec = None
            certs: list[Certificate] = []
            for split in [base_name, *[s for s in splits if s != base_name]]:
                data = outer.read(split)
                collector.digests[split] = hashlib.sha256(data).hexdigest()
                with Archive(data, f"{path}!{split}", budget) as inner:
                    if split == base_name:
                        manifest, nsc, netsec = _manifest(inner)
                        certs = _certificates(inner, io.BytesIO(data))
                    collector.walk(inner, f"{split}!", 1, app_root=True)
            for name in outer.names:
                if name not in splits:
                    collector.entries.append(name)
        else:
            manifest, nsc, netsec = _manifest(outer)
            with open(path, "rb") as fh:
                certs = _certificates(outer, fh)
            collector.walk(outer, "", 0, app_root=True)
            splits = []
        if manifest is None and not collector.dexes:
            raise NotAnAppError(f"{path}: zip archive without AndroidManifest.xml or DEX code: not an app")
    assets = [e for e in collector.entries if e.split("!")[-1].startswith("assets/")]
    # hashed last: a file refused by its structure (a sparse 2 GiB archive whose directory claims
    # 2 GB) costs no pass over its bytes
    digest, size = file_sha256(path)
    return App(
        path,
        digest,
        size,
        manifest,
        certs,
        CodeIndex(collector.dexes),
        collector.libs,
        collector.entries,
        assets,
        splits,
        nsc,
        netsec,
        collector.notes,
        collector.digests,
    )
