"""iOS only: what the Info.plist, the provisioning profile and the entitlements declare.

App Transport Security is iOS's cleartext switch, and its exceptions read as Android's: turned off
for every host is TV103, cleartext allowed for named domains (or for web content) is TV106. An app
built with an SDK older than iOS 9 has no ATS at all, so cleartext is allowed everywhere. A
provisioning profile means the app is not an App Store build (TV109), and ``get-task-allow`` means
a debugger may attach, as Android's ``debuggable`` (TV101).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from techvet.app.reader import App
from techvet.detect._common import finding
from techvet.findings import Evidence, Finding
from techvet.ios.reader import IosApp
from techvet.knowledge import Knowledge

_SDK_VERSION = re.compile(r"^[a-z]+?(\d+)(?:\.\d+)*$")
_INSECURE = ("NSExceptionAllowsInsecureHTTPLoads", "NSTemporaryExceptionAllowsInsecureHTTPLoads")
_OVERRIDING = ("NSAllowsArbitraryLoadsInWebContent", "NSAllowsArbitraryLoadsForMedia", "NSAllowsLocalNetworking")


@dataclass
class AtsSettings:
    everywhere: bool = False  # cleartext to every host through the URL loading system
    why: str = ""
    cleartext_domains: list[tuple[str, bool]] = field(default_factory=list)  # (domain, subdomains too)
    secure_domains: list[tuple[str, bool]] = field(default_factory=list)  # exceptions that keep ATS on
    web_content: bool = False
    evidence: list[str] = field(default_factory=list)

    def permits(self, host: str) -> bool:
        """Whether the URL loading system may reach ``host`` in cleartext."""

        def covers(domain: str, subdomains: bool) -> bool:
            return host == domain or (subdomains and host.endswith("." + domain))

        if self.everywhere:  # unless an exception turns ATS back on for this host
            return not any(covers(d, sub) for d, sub in self.secure_domains)
        return any(covers(d, sub) for d, sub in self.cleartext_domains)


def sdk_major(sdk: str | None) -> int | None:
    """The major version of a ``DTSDKName`` such as ``iphoneos7.0``."""
    m = _SDK_VERSION.match(sdk or "")
    return int(m.group(1)) if m else None


def ats_settings(ios: IosApp) -> AtsSettings:
    """App Transport Security as the system applies it to this app."""
    out = AtsSettings()
    major = sdk_major(ios.sdk)
    ats = ios.info.get("NSAppTransportSecurity")
    ats = ats if isinstance(ats, dict) else {}
    if major is not None and major < 9:
        out.everywhere = True
        out.why = f"built with the {ios.sdk} SDK, before App Transport Security (iOS 9): no cleartext is blocked"
        out.evidence.append(f"DTSDKName {ios.sdk}")
    elif ats.get("NSAllowsArbitraryLoads") is True:
        out.everywhere = True
        ignored = [k for k in _OVERRIDING if ats.get(k) is True]
        out.why = "NSAllowsArbitraryLoads is true" + (
            f" (iOS 10 and later ignore it beside {', '.join(ignored)}; earlier systems honour it)" if ignored else ""
        )
        out.evidence.append("NSAppTransportSecurity NSAllowsArbitraryLoads = true")
    out.web_content = ats.get("NSAllowsArbitraryLoadsInWebContent") is True
    domains = ats.get("NSExceptionDomains")
    if isinstance(domains, dict):
        for domain, settings in sorted(domains.items()):
            if not isinstance(settings, dict):
                continue
            scope = (domain.casefold().lstrip("."), settings.get("NSIncludesSubdomains") is True)
            if any(settings.get(k) is True for k in _INSECURE):
                out.cleartext_domains.append(scope)
            else:  # a domain's exception overrides the top level, and its insecure loads default to off
                out.secure_domains.append(scope)
    return out


def detect(app: App, kb: Knowledge) -> list[Finding]:
    ios = app.ios
    if ios is None:
        return []
    out = []
    plist = f"{ios.root}Info.plist"
    ats = ats_settings(ios)
    if ats.everywhere:
        out.append(
            finding(
                kb.rules["TV103"],
                tuple(Evidence(plist, e) for e in ats.evidence),
                title=f"App allows cleartext HTTP to every host: {ats.why}",
            )
        )
    scopes = [d + (" (and subdomains)" if sub else "") for d, sub in ats.cleartext_domains]
    if scopes:
        out.append(
            finding(
                kb.rules["TV106"],
                (Evidence(plist, f"NSExceptionDomains allow insecure HTTP loads for {', '.join(scopes[:10])}"),),
                subject="cleartext",
                title=f"App Transport Security exceptions permit cleartext HTTP to {len(scopes)} domain(s)",
                scopes=scopes,
            )
        )
    if ats.web_content:
        out.append(
            finding(
                kb.rules["TV106"],
                (Evidence(plist, "NSAppTransportSecurity NSAllowsArbitraryLoadsInWebContent = true"),),
                subject="cleartext-web-content",
                title="App Transport Security permits cleartext HTTP for web content",
                scopes=["web content"],
            )
        )
    profile = ios.profile
    if profile is not None:
        how = (
            "provisions all devices (enterprise in-house distribution)"
            if profile.provisions_all_devices
            else f"limited to {profile.devices} listed devices (ad hoc or development)"
        )
        who = f" of {profile.team_name} ({profile.team_id})" if profile.team_name else ""
        out.append(
            finding(
                kb.rules["TV109"],
                (Evidence(f"{ios.root}embedded.mobileprovision", f"profile {profile.name or '?'}{who} {how}"),),
                title="Distributed outside the App Store: "
                + (
                    "an enterprise (in-house) profile"
                    if profile.provisions_all_devices
                    else "an ad hoc or development profile"
                ),
                team_id=profile.team_id,
                team_name=profile.team_name,
                expires=profile.expires,
            )
        )
    if ios.entitlements.get("get-task-allow") is True:
        out.append(
            finding(
                kb.rules["TV101"],
                (Evidence(ios.main.path if ios.main else plist, "entitlement get-task-allow = true"),),
                title="App is debuggable (get-task-allow entitlement)",
            )
        )
    return out
