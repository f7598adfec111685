"""Reading a user's policy file safely: YAML whose aliases cannot multiply it, checked against a schema.

A policy file comes from outside (passed around by mail, edited by hand), so it is hostile input
like any other. Two things make plain ``yaml.safe_load`` unfit for it:

- **Aliases multiply.** Nine lines of ``&a [*b, *b, ...]`` stand for 10^9 values; the loader
  shares them, but the first ``str()`` or loop over the field (an error message, a report) expands
  them: more than a minute and 1.4 GB. :func:`parse_policy_yaml` composes the node graph first and
  refuses a document whose expanded size (values and characters) passes a bound a page of policy
  lines never reaches, or whose aliases refer to themselves.
- **Types are whatever the file says.** A rule id that is a list, a ``packages`` that is a number:
  hand-written checks miss some, and the miss surfaces later as a crash in the middle of a scan.
  :func:`check_schema` validates the whole document against a JSON Schema (the ``jsonschema``
  library, Draft 2020-12) before any field is used, and words the first problem as one line naming
  where it is (``block[0].rules must be a list, got text``).
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from typing import Any

from techvet.errors import TechvetError

MAX_EXPANDED_VALUES = 100_000  # a policy is a page of lines: the bundled one holds about 300 values
MAX_EXPANDED_CHARS = 4 << 20  # four times the largest policy file: aliases may repeat a list, not multiply it

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict = 2, 40, 40, 4, 4

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "null": "empty",
}


def short(value: Any) -> str:
    """A value for a one-line message, cut short: a hostile file's value may be megabytes, or a
    structure whose full repr would expand its aliases."""
    return _SHORT.repr(value)


def parse_policy_yaml(text: str, shown: str) -> Any:
    """The YAML document in ``text`` (a policy), built only after its expanded size is known to be
    small: the node graph is composed (aliases are shared nodes there, so it is as small as the
    text), measured, and only then constructed. Timestamps stay text, as they are written: a date's
    meaning is checked where it is used (``date.fromisoformat``), and a schema sees one type."""
    import yaml

    loader = _loader_class()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _refuse_amplification(node, shown)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise TechvetError(f"{shown}: not valid YAML ({' '.join(str(exc).split())})") from None
    finally:
        loader.dispose()


_LOADER: Any = None


def _loader_class() -> Any:
    """The safe loader (libyaml's when present), with timestamps read as text."""
    global _LOADER
    if _LOADER is None:
        import yaml

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        loader: Any = type("PolicyLoader", (base,), {})
        loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
        _LOADER = loader
    return _LOADER


def _children(node: Any) -> Iterable[Any]:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return ()


def _refuse_amplification(root: Any, shown: str) -> None:
    """Refuse a node graph that expands past the bounds, or that contains itself. The walk is
    iterative (a deep file must not exhaust the stack) and visits each node once (a shared node's
    size is remembered), so measuring costs what the text costs."""
    import yaml

    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, characters) when expanded
    open_nodes: set[int] = set()  # the chain being walked: meeting one of these again is a cycle
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            values, chars = 1, 0
            for child in _children(node):
                child_values, child_chars = sizes[id(child)]
                values, chars = values + child_values, chars + child_chars
            if values > MAX_EXPANDED_VALUES or chars > MAX_EXPANDED_CHARS:
                raise TechvetError(
                    f"{shown}: refused: its aliases expand it to more than {MAX_EXPANDED_VALUES:,} values or "
                    f"{MAX_EXPANDED_CHARS >> 20} MiB (a policy is a page of lines)"
                )
            sizes[key] = (values, chars)
        elif key in sizes:
            continue
        elif key in open_nodes:
            raise TechvetError(f"{shown}: refused: an alias refers to a value that contains it")
        elif isinstance(node, yaml.ScalarNode):
            sizes[key] = (1, len(node.value))
        else:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))


def check_schema(doc: Any, schema: dict[str, Any], shown: str) -> None:
    """Refuse ``doc`` unless it fits ``schema``, naming the most relevant problem in one line.
    jsonschema is imported here, not at start: only a user's own policy file is checked (the
    bundled ones are checked by the test suite), so a scan with the default policy does not pay
    for it."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(schema).iter_errors(doc))
    if error is not None:
        raise TechvetError(f"{shown}: {_problem(error)}")


def _problem(error: Any) -> str:
    """One schema error in words a policy's author acts on, with where it is in the file."""
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    where = where or "the policy"
    value = error.instance
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        wanted = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in expected)
        return f"{where} must be {wanted}, got {_type_name(value)} {short(value)}"
    if error.validator == "required" and isinstance(value, dict):
        missing = [k for k in error.validator_value if k not in value]
        return f"{where} needs {', '.join(missing)}"
    if error.validator == "additionalProperties" and isinstance(value, dict):
        known = [str(k) for k in error.schema.get("properties", {})]
        extra = sorted(short(k) for k in value if k not in known)
        return f"{where}: unknown key {', '.join(extra)} (known: {', '.join(known)})"
    if error.validator == "enum":
        return f"{where}: {short(value)} is not one of {', '.join(map(str, error.validator_value))}"
    if error.validator in ("minItems", "minLength"):
        return f"{where} must be a list of values, not empty"
    return f"{where}: {short(error.message)}"


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    names = {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)


def text(min_length: int = 1) -> dict[str, Any]:
    """Schema: a string (non-empty by default)."""
    return {"type": "string", "minLength": min_length}


def texts(min_items: int = 0) -> dict[str, Any]:
    """Schema: a list of non-empty strings."""
    return {"type": "array", "items": text(), "minItems": min_items}


def mapping(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Schema: a mapping with exactly these keys known (an unknown key is a misspelt one, and a
    misspelt condition would be a rule that silently never holds)."""
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


def policy_document(kind: str, sections: dict[str, Any]) -> dict[str, Any]:
    """Schema of a whole policy file of ``kind``: the common head (kind, source, as_of, id, title)
    and the kind's own sections."""
    head = {"kind": {"const": kind}, "source": text(), "as_of": text(), "id": text(), "title": text(0)}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **mapping({**head, **sections}, ("kind", "source", "as_of")),
    }


__all__ = ["check_schema", "mapping", "parse_policy_yaml", "policy_document", "short", "text", "texts"]
