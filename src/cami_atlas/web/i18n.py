"""The interface languages of the online atlas: English (the source) and Russian.

Interface texts are marked ``_("...")`` in the templates and translated with
gettext catalogues, ``locale/<lang>/LC_MESSAGES/messages.po``, compiled with Babel
when first used. The data of the atlas (layer names, sources, licences, species
names) are not translated. A request's language is ``?lang=`` (remembered in a
cookie), else the cookie, else the best of the browser's ``Accept-Language``,
else English.

Examples
--------
>>> gettext_for("ru")("Layers")
'Слои'
>>> pick_language(None, None, "de-DE,ru;q=0.8,en;q=0.5")
'ru'
"""

from __future__ import annotations

import contextvars
import functools
import gettext
import io
from collections.abc import Callable
from pathlib import Path

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "current_language", "gettext_for",
           "install", "pick_language"]

#: Interface languages: code -> name in that language.
LANGUAGES = {"en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"
_LOCALE = Path(__file__).resolve().parent / "locale"
current_language: contextvars.ContextVar[str] = contextvars.ContextVar(
    "cami_atlas_language", default=DEFAULT_LANGUAGE)


@functools.cache
def _translations(lang: str) -> gettext.NullTranslations:
    if lang == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with (_LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def gettext_for(lang: str) -> Callable[[str], str]:
    """The ``gettext`` function of language ``lang`` (English for unknown codes)."""
    return _translations(lang if lang in LANGUAGES else DEFAULT_LANGUAGE).gettext


def pick_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The interface language of a request (see the module docstring)."""
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return str(choice)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.split("-")[0].lower()))
    for _q, _i, code in sorted(ranked):
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def install(env: object) -> None:
    """Give a Jinja2 environment ``_()`` translating into :data:`current_language`."""
    env.add_extension("jinja2.ext.i18n")  # type: ignore[attr-defined]

    def _gettext(message: str) -> str:
        return gettext_for(current_language.get())(message)

    def _ngettext(singular: str, plural: str, n: int) -> str:
        return _translations(current_language.get()).ngettext(singular, plural, n)

    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
