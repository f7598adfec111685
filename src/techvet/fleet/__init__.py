"""The fleet register: which drones an organisation may keep flying, under which rule, and why.

Each inventory row (``inventory``) is matched to a catalogue model (``models``), its maker screened
against the restriction lists (exact comparable names, as in scans), its components' makers and
countries read, its companion app looked at (a ban order by package; a scan when an APK or a
folder of APKs is given), and the user's policy (``policy``; fleet_policy.yaml by default: the US
federal rules) applied in ``decide``. The decision is the strictest of the rules that hold, each
given with its reason.
"""

from __future__ import annotations

from techvet.entry import make_callable
from techvet.fleet.decide import Device, Verdict, vet
from techvet.fleet.policy import DECISIONS, PARTS, Policy

__all__ = ["DECISIONS", "PARTS", "Device", "Policy", "Verdict", "vet"]

make_callable(__name__)  # techvet.fleet(...) answers as techvet.api.fleet does (techvet.entry)
