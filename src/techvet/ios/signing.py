"""Who signed an iOS app and what Apple let it do: the provisioning profile and the code signature.

``embedded.mobileprovision`` is a CMS message whose content is a property list: the team (its
identifier and name), the profile's dates, the entitlements it grants and the developer
certificates it trusts. The binary's own code signature (``LC_CODE_SIGNATURE``) is a "super blob"
of blobs: the entitlements the binary claims (an XML plist) and a CMS signature whose certificates
name the signer. Both are read, not verified: techvet says who signed, not whether Apple would run
it. CMS is decoded with ``asn1crypto`` as for Android's signatures.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from techvet.errors import InputError
from techvet.ios.macho import MAX_SIGNATURE_BLOBS
from techvet.ios.plist import read_plist

_SUPERBLOB = 0xFADE0CC0
_ENTITLEMENTS = 0xFADE7171
_CMS_WRAPPER = 0xFADE0B01
MAX_PROFILE_BYTES = 1024 * 1024
MAX_BLOB_BYTES = 1024 * 1024  # entitlements and CMS blobs run to a few KB


@dataclass
class Profile:
    """The facts of a provisioning profile that say who is behind an app."""

    name: str | None = None
    team_id: str | None = None
    team_name: str | None = None
    app_id_name: str | None = None
    created: str | None = None
    expires: str | None = None
    provisions_all_devices: bool = False  # an enterprise (in-house) profile: any device, no App Store
    devices: int = 0  # devices an ad-hoc or development profile is limited to
    entitlements: dict[str, Any] = field(default_factory=dict)
    certificates: list[bytes] = field(default_factory=list, repr=False)  # DER


@dataclass
class CodeSignature:
    entitlements: dict[str, Any] = field(default_factory=dict)
    certificates: list[bytes] = field(default_factory=list, repr=False)


def read_profile(data: bytes, label: str) -> Profile:
    """A profile's facts; raises InputError when it is not a CMS message holding a plist."""
    from asn1crypto import cms

    if len(data) > MAX_PROFILE_BYTES:
        raise InputError(f"{label}: provisioning profile of {len(data)} bytes (bound {MAX_PROFILE_BYTES})")
    try:
        content = cms.ContentInfo.load(data)["content"]["encap_content_info"]["content"].native
    except Exception:  # noqa: BLE001 - asn1crypto raises many types on hostile DER
        raise InputError(f"{label}: not a CMS message") from None
    if not isinstance(content, bytes):
        raise InputError(f"{label}: CMS message without content")
    doc = read_plist(content, label)
    teams = doc.get("TeamIdentifier")
    certs = doc.get("DeveloperCertificates")
    devices = doc.get("ProvisionedDevices")
    entitlements = doc.get("Entitlements")
    return Profile(
        name=_text(doc.get("Name")),
        team_id=_text(teams[0]) if isinstance(teams, list) and teams else None,
        team_name=_text(doc.get("TeamName")),
        app_id_name=_text(doc.get("AppIDName")),
        created=_text(doc.get("CreationDate")),
        expires=_text(doc.get("ExpirationDate")),
        provisions_all_devices=doc.get("ProvisionsAllDevices") is True,
        devices=len(devices) if isinstance(devices, list) else 0,
        entitlements=entitlements if isinstance(entitlements, dict) else {},
        certificates=[c for c in certs if isinstance(c, bytes)][:16] if isinstance(certs, list) else [],
    )


def _text(value: object) -> str | None:
    return value[:300] if isinstance(value, str) else None


def read_code_signature(blob: bytes, label: str) -> tuple[CodeSignature, list[str]]:
    """The entitlements and signer certificates of a code signature super blob, with notes on
    what could not be read (never raises: a damaged signature is a note, not an unreadable app)."""
    from techvet.app.certs import pkcs7_certificates

    out, notes = CodeSignature(), []
    if len(blob) < 12 or struct.unpack_from(">I", blob, 0)[0] != _SUPERBLOB:
        return out, [f"{label}: code signature is not a signature super blob"]
    _, length, count = struct.unpack_from(">III", blob, 0)
    if count > MAX_SIGNATURE_BLOBS or 12 + 8 * count > len(blob):
        return out, [f"{label}: code signature lists {count} blobs; not read"]
    offsets = dict.fromkeys(struct.unpack_from(">II", blob, 12 + 8 * i)[1] for i in range(count))
    done: set[int] = set()  # each kind of blob is read once, the first: a signature has one of each
    for offset in offsets:  # an index that repeats an offset names one blob, read once
        if offset + 8 > len(blob):
            notes.append(f"{label}: a code signature blob lies outside the signature")
            continue
        magic, size = struct.unpack_from(">II", blob, offset)
        body = blob[offset + 8 : offset + size] if 8 <= size <= len(blob) - offset else b""
        if not body or magic in done or magic not in (_ENTITLEMENTS, _CMS_WRAPPER):
            continue
        done.add(magic)
        if len(body) > MAX_BLOB_BYTES:
            notes.append(f"{label}: a code signature blob of {len(body)} bytes (bound {MAX_BLOB_BYTES}); not read")
        elif magic == _ENTITLEMENTS:
            try:
                out.entitlements = read_plist(body, f"{label} entitlements")
            except InputError as exc:
                notes.append(str(exc))
        else:
            out.certificates = pkcs7_certificates(body)
    return out, notes
