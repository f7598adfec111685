"""``techvet traffic CAPTURE...``: flows, destinations and findings of captures, text or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from techvet.errors import InputError, TechvetError
from techvet.traffic import TrafficResult, analyze


def run_traffic(args: argparse.Namespace) -> int:
    """Exit 0 when every capture was read whole, 2 when one could not be read or had damaged parts
    (what was read is still reported)."""
    try:
        out: TextIO = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise TechvetError(f"{args.output}: cannot write ({exc.strerror})") from None
    device = _device(args.device) if args.device else None
    code = 0
    try:
        for path in args.captures:
            try:
                result = analyze(path, device=device)
            except InputError as exc:
                print(f"techvet: {exc}", file=sys.stderr)
                code = 2
                continue
            for warning in result.stats.warnings:
                print(f"techvet: {path}: warning: {warning}", file=sys.stderr)
                code = 2
            if args.format == "json":
                out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
            else:
                _text(result, out)
    finally:
        if args.output:
            out.close()
    return code


def _device(path: str) -> dict[str, str]:
    """The test device's identifiers: a YAML or JSON mapping of kind -> value."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise TechvetError(f"--device {path}: unreadable ({exc})") from None
    if not isinstance(doc, dict) or not all(isinstance(v, (str, int)) for v in doc.values()):
        raise TechvetError(f"--device {path}: expected a mapping such as 'imei: 35...' and 'android_id: ...'")
    return {str(k): str(v) for k, v in doc.items()}


def _text(result: TrafficResult, out: TextIO) -> None:
    s = result.stats
    out.write(f"{result.path}: {s.packets} packets, {len(result.flows)} flows (offline attribution)\n")
    if result.destinations:
        out.write("\nWhere it talks to\n")
        out.write(f"  {'host':34} {'ip':39} {'owner':30} {'owner c.':8} {'server c.':9} {'AS':>7} {'up B':>9} clear\n")
        for d in result.destinations:
            out.write(
                f"  {str(d['host'] or '-')[:34]:34} {d['ip'][:39]:39} {str(d['owner'] or 'unknown')[:30]:30} "
                f"{d['owner_country'] or '-':8} {d['server_country'] or '-':9} {d['asn'] or '-':>7} "
                f"{d['bytes_up']:>9} {'yes' if d['cleartext'] else 'no'}\n"
            )
    if result.findings:
        out.write("\nFindings\n")
        for f in result.findings:
            out.write(f"  {f.severity!s:8} {f.rule} {f.title}\n")
            for e in f.evidence[:3]:
                out.write(f"      {e.detail}\n")
    out.write("\n")


__all__ = ["run_traffic"]
