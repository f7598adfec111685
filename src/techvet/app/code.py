"""The code index of an app: every DEX it carries, queried as one.

Questions are asked by name ("who invokes ``TelephonyManager.getDeviceId``?") and answered with
:class:`Reference` evidence (DEX file, class, method). Nothing is decoded until asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from techvet.app.dex import CodeSite, Dex

_SCHEMES = (b"http", b"https", b"ws", b"wss", b"ftp")
_URL_REST = re.compile(rb"[^\x00-\x20\"'<>\\,;|()\[\]{}^`]+")
_SCHEME_BEFORE = re.compile(rb"(?:https?|wss?|ftp)$")
_BARE_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,6}")
_BARE_IPV4 = re.compile(rb"\x00[\x07-\x0f](\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\x00")


@dataclass(frozen=True, slots=True)
class Reference:
    """One place in code that references something: ``dex`` file, defining class and method."""

    dex: str
    class_name: str  # descriptor, e.g. Lcom/example/Foo;
    method: str
    what: str  # the API, field, type or string referenced, as the rule named it
    site: CodeSite | None = None  # the instruction itself, for detectors that look around it


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for in code. Method and field references are ``Lpkg/Class;->name``."""

    invoke: tuple[str, ...] = ()
    invoke_named: tuple[str, ...] = ()  # method names, whatever the class (reported as "*->name")
    sget: tuple[str, ...] = ()  # static fields, Lpkg/Class;->NAME
    sget_uri_fields_of: tuple[str, ...] = ()  # class-descriptor prefixes whose static Uri fields count
    new_instance: tuple[str, ...] = ()
    strings: tuple[str, ...] = ()
    string_prefixes: tuple[str, ...] = ()


_URI = "Landroid/net/Uri;"


class CodeIndex:
    """Every DEX image of an app, with cross-DEX class lookup."""

    def __init__(self, dexes: list[Dex]) -> None:
        self.dexes = dexes

    @cached_property
    def classes(self) -> dict[str, tuple[Dex, str | None, int]]:
        """Defined class descriptor -> (its DEX, superclass descriptor, interfaces offset)."""
        out: dict[str, tuple[Dex, str | None, int]] = {}
        for dex in self.dexes:
            for name, sup, ifaces, _ in dex.class_defs:
                out.setdefault(name, (dex, sup, ifaces))
        return out

    @property
    def class_names(self) -> list[str]:
        """Descriptors of every defined class, across all DEX files."""
        return list(self.classes)

    def superclass_chain(self, descriptor: str, limit: int = 64) -> list[str]:
        """``descriptor``'s ancestors, nearest first, as far as the app defines them plus one."""
        chain: list[str] = []
        current: str | None = descriptor
        while current in self.classes and len(chain) < limit:
            current = self.classes[current][1]
            if current is None:
                break
            chain.append(current)
        return chain

    def interfaces(self, descriptor: str) -> set[str]:
        """Every interface ``descriptor`` implements, through its own and its ancestors' lists."""
        seen: set[str] = set()
        todo = [descriptor, *self.superclass_chain(descriptor)]
        while todo:
            cls = todo.pop()
            entry = self.classes.get(cls)
            if entry is None:
                continue
            for iface in entry[0].interfaces(entry[2]):
                if iface not in seen:
                    seen.add(iface)
                    todo.append(iface)
        return seen

    @cached_property
    def _children(self) -> dict[str, list[str]]:
        """Superclass descriptor -> app-defined classes that extend it directly."""
        out: dict[str, list[str]] = {}
        for cls, (_, sup, _) in self.classes.items():
            if sup is not None:
                out.setdefault(sup, []).append(cls)
        return out

    def implementers(self, interfaces: Iterable[str], superclasses: Iterable[str] = ()) -> list[str]:
        """App-defined classes that implement any of ``interfaces`` or extend any of ``superclasses``.

        Inheritance counts: through app interfaces that extend a wanted interface, and through
        subclasses. Interface lists are compared as type indices, so only matching classes' names
        are decoded.
        """
        wanted = set(interfaces)
        roots: set[str] = set(superclasses)
        while True:
            new: set[str] = set()
            for dex in self.dexes:
                idxs = {t for t in (dex.find_type(name) for name in wanted) if t is not None}
                if idxs:
                    new.update(dex.classes_listing_interfaces(idxs))
            new -= roots
            if not new:
                break
            roots |= new
            wanted |= new  # an app interface that extends a wanted one is wanted too
        found: list[str] = []
        todo = list(roots)
        seen = set(todo)
        while todo:
            cls = todo.pop()
            if cls in self.classes:
                found.append(cls)
            for child in self._children.get(cls, ()):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return sorted(found)

    def _subclasses_reaching(self, framework_class: str, name: str) -> list[str]:
        """App-defined classes through which a call to ``framework_class``'s method ``name`` reaches it.

        Those are the classes whose ancestry reaches ``framework_class`` through app classes only
        (it is their first ancestor outside the app) and where no class on the way, themselves
        included, defines ``name``. The walk goes down from ``framework_class``, once per class,
        and stops below a class that defines ``name``: a walk up from each subclass would be
        quadratic in the depth of the chain, and a bound on that depth is a switch a hostile app
        could flip (a chain deeper than the bound used to make the detectors asking fail).
        """
        found: list[str] = []
        todo = list(self._children.get(framework_class, ()))
        seen = set(todo)
        while todo:
            cls = todo.pop()
            dex = self.classes[cls][0]
            if name in dex.defined_method_names(cls):
                continue
            found.append(cls)
            for child in self._children.get(cls, ()):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return found

    def _method_targets(self, invoke: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """Each rule API -> descriptor/name pairs that call it, resolving app subclasses.

        A call through an app subclass (``LMyWebView;->addJavascriptInterface``) reaches the
        framework method unless a class on the way defines the method itself.
        """
        out: dict[str, list[tuple[str, str]]] = {}
        for api in invoke:
            cls, _, name = api.partition("->")
            targets = [(cls, name)]
            if cls not in self.classes:
                targets.extend((sub, name) for sub in self._subclasses_reaching(cls, name))
            out[api] = targets
        return out

    def find(self, query: Query) -> list[Reference]:
        """Every code site matching ``query``, over all DEX files."""
        method_targets = self._method_targets(query.invoke)
        refs: list[Reference] = []
        for dex in self.dexes:
            want_invoke: dict[int, str] = {}
            for api, targets in method_targets.items():
                by_class: dict[str, list[str]] = {}
                for cls, name in targets:
                    by_class.setdefault(cls, []).append(name)
                for cls, names in by_class.items():
                    for midx in dex.find_methods(cls, names):
                        want_invoke[midx] = api
            for name in query.invoke_named:
                for midx in dex.methods_named(name):
                    want_invoke.setdefault(midx, f"*->{name}")
            want_sget: dict[int, str] = {}
            for prefix in query.sget_uri_fields_of:
                for sidx in dex.strings_with_prefix(prefix):
                    tidx = dex.find_type(dex.string(sidx))
                    if tidx is None:
                        continue
                    for fidx in dex.fields_of_type(tidx):
                        cls, ftype, fname = dex.field_ref(fidx)
                        if ftype == _URI:
                            want_sget[fidx] = f"{cls}->{fname}"
            for field_ref in query.sget:
                cls, _, fname = field_ref.partition("->")
                tidx = dex.find_type(cls)
                if tidx is not None:
                    for fidx in dex.fields_of_type(tidx):
                        if dex.field_ref(fidx)[2] == fname:
                            want_sget[fidx] = field_ref
            want_new: dict[int, str] = {}
            for cls in query.new_instance:
                tidx = dex.find_type(cls)
                if tidx is not None:
                    want_new[tidx] = cls
            want_str: dict[int, str] = {}
            for text in query.strings:
                found_idx = dex.find_string(text)
                if found_idx is not None:
                    want_str[found_idx] = text
            for prefix in query.string_prefixes:
                for sidx in dex.strings_with_prefix(prefix):
                    want_str[sidx] = dex.string(sidx)
            if not (want_invoke or want_sget or want_new or want_str):
                continue
            sites = dex.find_sites(invoke=want_invoke, sget=want_sget, new_instance=want_new, const_string=want_str)
            wanted: dict[str, dict[int, str]] = {
                "invoke": want_invoke,
                "sget": want_sget,
                "new_instance": want_new,
                "const_string": want_str,
            }
            for (kind, idx), found in sites.items():
                for site in found:
                    refs.append(Reference(dex.name, site.class_name, site.method_name, wanted[kind][idx], site))
        return refs

    # ----------------------------------------------------------------- strings and URLs
    @cached_property
    def urls(self) -> list[tuple[str, str, str]]:
        """Every URL-looking substring of every DEX string table: (url, whole string, DEX name).

        Computed once per app: the reference query and the endpoint detector both need it.

        A literal search for ``://`` over the string data section finds the candidates (a
        scheme-first regular expression would test every byte); strings are NUL-terminated MUTF-8,
        so a URL never spans two strings, and only the strings that hold one are decoded.
        """
        out = []
        for dex in self.dexes:
            data = dex.data
            lo, hi = dex.string_data_span
            pos = data.find(b"://", lo, hi)
            while pos >= 0:
                scheme = _SCHEME_BEFORE.search(data, max(lo, pos - 5), pos)
                rest = _URL_REST.match(data, pos + 3, hi)
                if scheme and rest:
                    url = data[scheme.start() : rest.end()].decode("utf-8", "replace")
                    out.append((url, dex.string_containing(scheme.start()), dex.name))
                pos = data.find(b"://", pos + 3, hi)
        return out

    def bare_hosts(self, tlds: Iterable[str], not_first: Iterable[str] = ()) -> list[tuple[str, str]]:
        """String constants that are exactly a host name or an IPv4 address: (host, DEX name).

        Candidates are found by a literal search for ``.<tld>`` at the end of a string (strings
        end in NUL) and for NUL-delimited dotted quads, so only matching strings are decoded.
        """
        names = [t.encode() for t in tlds]
        if not names:
            return []
        suffix = re.compile(rb"\.(?:" + b"|".join(re.escape(n) for n in names) + rb")\x00")
        first_labels = set(not_first)
        packages = {c[1:].rpartition("/")[0].replace("/", ".") for c in self.classes}
        out = []
        for dex in self.dexes:
            data = dex.data
            lo, hi = dex.string_data_span
            for m in suffix.finditer(data, lo, hi):
                whole = dex.string_containing(m.start())
                if _BARE_HOST.fullmatch(whole) and whole.split(".", 1)[0] not in first_labels and whole not in packages:
                    out.append((whole, dex.name))
            for m in _BARE_IPV4.finditer(data, lo, hi):
                text = m.group(1).decode()
                octets = [int(part) for part in text.split(".")]
                # dotted quads that start below 10 are nearly always version numbers (1.2.13.6)
                if all(o < 256 for o in octets) and 10 <= octets[0] != 127:
                    out.append((text, dex.name))
        return out

    def holders_of(self, strings: Iterable[str]) -> dict[str, list[Reference]]:
        """Which classes load each exact string constant."""
        wanted = tuple(dict.fromkeys(strings))
        out: dict[str, list[Reference]] = {s: [] for s in wanted}
        for ref in self.find(Query(strings=wanted)):
            out[ref.what].append(ref)
        return out

    def framework_calls(self) -> dict[str, set[str]]:
        """Defined class -> the methods outside the app it invokes (``Lpkg/Class;->name``).

        Decodes every method body, so it takes seconds on a large app: for notebooks and reports
        that want the whole picture. Detectors ask targeted questions through :meth:`find`.
        """
        from techvet.app.dex import instructions

        out: dict[str, set[str]] = {}
        for dex in self.dexes:
            for cls in dex.defined_classes:
                called: set[str] = set()
                for _, code_off in dex.methods_of(cls):
                    for op, pc in instructions(dex.code_at(code_off)):
                        if 0x6E <= op <= 0x78 and op != 0x73:
                            midx = dex.data[code_off + 16 + pc + 2] | (dex.data[code_off + 16 + pc + 3] << 8)
                            owner, name = dex.method_ref(midx)
                            if owner not in self.classes:
                                called.add(f"{owner}->{name}")
                out.setdefault(cls, set()).update(called)
        return out

    def strings(self) -> list[str]:
        """Every string constant of every DEX (decodes all tables: for notebooks, not detectors)."""
        out: list[str] = []
        for dex in self.dexes:
            out.extend(dex.string(i) for i in range(dex.string_ids_size))
        return out
