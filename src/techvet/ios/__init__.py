"""The iOS reader: an ``.ipa`` or ``.app`` folder read into the :class:`techvet.app.reader.App`
shape Android apps take (facts only; detectors judge). Modules: ``macho`` (Mach-O files),
``names`` (Objective-C and Swift names), ``plist`` (bounded property lists), ``signing``
(provisioning profile and code signature), ``reader`` (the bundle)."""

from techvet.ios.reader import IPA_SUFFIXES, IosApp, IosBinary, is_ios_app, read_ios_app

__all__ = ["IPA_SUFFIXES", "IosApp", "IosBinary", "is_ios_app", "read_ios_app"]
