"""The four answers techvet gives, callable by their package's name: ``techvet.scan(...)``,
``techvet.traffic(...)``, ``techvet.screen(...)``, ``techvet.fleet(...)`` (techvet.api).

Why callable modules rather than functions of those names in ``techvet/__init__``: each name is
also a module or package (``techvet.scan``, ``techvet.screen`` ...). A function would be replaced
by its module when the module is first imported, or, kept by force, break the usual import forms
(``import techvet.screen.names as n`` fails when ``techvet.screen`` is a function). A module whose
type has ``__call__`` keeps both: every import form works, and the name can be called. Setting a
module's ``__class__`` to a subclass of ModuleType is the way the Python reference gives to
customise a module ("Customizing module attribute access"). For typed code, ``techvet.api`` has the
same functions with their signatures.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class EntryModule(types.ModuleType):
    """A module that, called, runs the function of the same name in techvet.api."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from techvet import api

        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


def make_callable(module_name: str) -> None:
    """Give the module ``module_name`` (already in sys.modules: call this from the module itself)
    the callable module type."""
    sys.modules[module_name].__class__ = EntryModule


__all__ = ["EntryModule", "make_callable"]
