"""Network security config: cleartext scopes, user CAs, pinning, read from real binary XML."""

from __future__ import annotations

from techvet.app.axml import parse_axml
from techvet.app.netsec import read_network_security
from tests.axml_builder import build_axml


def _config() -> bytes:
    return build_axml(
        (
            "network-security-config",
            {},
            [
                (
                    "base-config",
                    {"cleartextTrafficPermitted": "false"},
                    [
                        ("trust-anchors", {}, [("certificates", {"src": "system"}, [], "")], ""),
                    ],
                    "",
                ),
                (
                    "domain-config",
                    {"cleartextTrafficPermitted": "true"},
                    [
                        ("domain", {"includeSubdomains": "true"}, [], "telemetry.skyfleet-demo.cn"),
                        ("trust-anchors", {}, [("certificates", {"src": "user"}, [], "")], ""),
                        (
                            "domain-config",
                            {},
                            [
                                ("domain", {}, [], "pay.skyfleet-demo.cn"),
                                (
                                    "pin-set",
                                    {"expiration": "2030-01-01"},
                                    [
                                        (
                                            "pin",
                                            {"digest": "SHA-256"},
                                            [],
                                            "7HIpactkIAq2Y49orFOOQKurWxmmSFZhBCoQYcRhJ3Y=",
                                        ),
                                    ],
                                    "",
                                ),
                            ],
                            "",
                        ),
                    ],
                    "",
                ),
                (
                    "debug-overrides",
                    {},
                    [
                        ("trust-anchors", {}, [("certificates", {"src": "user"}, [], "")], ""),
                    ],
                    "",
                ),
            ],
            "",
        )
    )


def test_domains_come_from_character_data() -> None:
    root = parse_axml(_config())
    domain = root.children[1].children[0]
    assert (domain.tag, domain.text, domain.attrs["includeSubdomains"]) == (
        "domain",
        "telemetry.skyfleet-demo.cn",
        "true",
    )


def test_policy_facts() -> None:
    nsc = read_network_security(parse_axml(_config()))
    assert nsc.cleartext_scopes == ["telemetry.skyfleet-demo.cn"]
    assert nsc.user_ca_scopes == ["telemetry.skyfleet-demo.cn"]  # debug-overrides do not count
    assert nsc.pinned_domains == ["pay.skyfleet-demo.cn"]
    assert nsc.base is not None and nsc.base.cleartext_permitted is False
