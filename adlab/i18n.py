"""Everything the app says, in Korean and English: one catalogue per language, looked up by key.

The catalogue of a language is ``assets/i18n/<lang>.toml`` (the app's frame) plus every
``assets/i18n/<lang>/*.toml`` (one file per part of the app: ``losses.toml``, ``detectors.toml``, ...; a
key may be defined in one file only). Nested tables become dotted keys (``[home]`` +
``title = ...`` is ``home.title``); every value is a :meth:`str.format` template with named fields
(``"epoch {epoch}/{epochs}"``), so a literal brace is written ``{{`` or ``}}`` (LaTeX too:
``$\\frac{{a}}{{b}}$``). Both catalogues hold the same keys with the same fields;
:func:`check_catalogues` lists every way they differ and ``tests/test_i18n.py`` fails on any.

Two lookups, one policy for a text that is missing:

* :func:`text` is strict: a key absent from the language's catalogue raises ``KeyError`` naming the
  key and the language. Tests, figure builders and run cards that were given a language use it.
* :func:`text_or_english` is the app's (``pages/_i18n.t``): a key absent from the language but present
  in English gives the English text through :func:`missing`, which logs it once per key and language
  (a warning on the ``adlab.i18n`` logger) instead of breaking the page in front of an audience. Such
  a key can never pass the tests, because :func:`check_catalogues` reports it. A key absent from
  English too is a typo in the code: ``KeyError``, as in :func:`text` (every page's AppTest finds it).

The catalogues are read once per process (:func:`functools.cache`) into read-only mappings and never
changed afterwards, so sessions (threads of one server) share them safely.
"""

from __future__ import annotations

import functools
import logging
import string
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "ko")
REFERENCE = "en"  # the language a missing text falls back to, and whose key order lists follow
DIRECTORY = Path(__file__).resolve().parents[1] / "assets" / "i18n"

log = logging.getLogger(__name__)


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")


def _flatten(table: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            _flatten(value, f"{key}.", out)
        else:
            out[key] = value


def _read(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        try:
            table = tomllib.load(file)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path}: {err}") from err
    flat: dict[str, Any] = {}
    _flatten(table, "", flat)
    return flat


def files(directory: Path, lang: str) -> list[Path]:
    """The files of ``lang``'s catalogue: ``directory/<lang>.toml`` (the app's frame: navigation, sidebar,
    presenter mode), then ``directory/<lang>/*.toml`` by name (one file per part of the app)."""
    main = directory / f"{lang}.toml"
    return [main, *sorted((directory / lang).glob("*.toml"))]


@functools.cache
def _load(directory: Path, lang: str) -> Mapping[str, Any]:
    """``lang``'s catalogue files (:func:`files`) as one read-only {dotted key: value} mapping, in file
    order. ``ValueError`` for a file that is not TOML or a key that two files both define."""
    flat: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for path in files(directory, lang):
        for key, value in _read(path).items():
            if key in flat:
                raise ValueError(f"{path}: the key {key!r} is already defined in {origin[key]}")
            flat[key], origin[key] = value, path
    return MappingProxyType(flat)


def catalogue(lang: str, directory: Path = DIRECTORY) -> Mapping[str, Any]:
    """The catalogue of ``lang``: {dotted key: template}, read-only, loaded once per directory."""
    _check_lang(lang)
    return _load(Path(directory), lang)


def _format(template: str, key: str, lang: str, fmt: Mapping[str, Any]) -> str:
    try:
        return template.format(**fmt)
    except KeyError as err:
        raise KeyError(f"text {key!r} ({lang}) needs the field {err.args[0]!r}; got {sorted(fmt)}") from None


def text(key: str, lang: str, /, **fmt: Any) -> str:
    """The text ``key`` in ``lang``, its ``{fields}`` filled from ``fmt``.

    Raises ``KeyError`` (naming the key and the language) when ``lang``'s catalogue lacks the key or
    the template needs a field ``fmt`` does not give, ``ValueError`` for an unknown language.
    """
    table = catalogue(lang)
    if key not in table:
        raise KeyError(f"no text {key!r} in the {lang!r} catalogue ({DIRECTORY / f'{lang}.toml'})")
    return _format(table[key], key, lang, fmt)


@functools.cache
def missing(key: str, lang: str) -> str:
    """The app's policy for a text absent from ``lang``: the English template, logged once per key and
    language. ``KeyError`` when English lacks it too (a typo, not a missing translation)."""
    english = catalogue(REFERENCE)
    if key not in english:
        raise KeyError(f"no text {key!r} in any catalogue (a typo in the key?)")
    log.warning("text %r is missing from the %r catalogue; showing the English text", key, lang)
    return english[key]


def text_or_english(key: str, lang: str, /, **fmt: Any) -> str:
    """:func:`text`, except that a text missing from ``lang`` is shown in English (:func:`missing`)."""
    table = catalogue(lang)
    template = table[key] if key in table else missing(key, lang)
    return _format(template, key, lang, fmt)


def children(prefix: str, directory: Path = DIRECTORY) -> tuple[str, ...]:
    """The names directly under ``prefix``, in the English catalogue's order (``children("terms")``:
    the glossary's entries, ``("anchor", "positive", ...)``)."""
    head = f"{prefix}."
    names = (key[len(head):].split(".", 1)[0] for key in catalogue(REFERENCE, directory) if key.startswith(head))
    return tuple(dict.fromkeys(names))


def language_of(locale: str | None) -> str:
    """The app's language for a browser's language tag (``navigator.language``): Korean for ``ko``,
    ``ko-KR`` and the like, English for anything else or none."""
    return "ko" if locale and locale.strip().lower().startswith("ko") else "en"


def fields(template: str) -> set[str]:
    """The named ``{fields}`` of a template. ``ValueError`` for a template :meth:`str.format` cannot
    read, or one with a positional field (``{}``, ``{0}``; often an undoubled LaTeX brace)."""
    names = set()
    for _, name, _, _ in string.Formatter().parse(template):
        if name is None:
            continue
        base = name.split(".", 1)[0].split("[", 1)[0]
        if not base.isidentifier():
            raise ValueError(f"positional or unnamed field {{{name}}} (write a literal brace as {{{{ or }}}})")
        names.add(base)
    return names


def check_catalogues(directory: Path = DIRECTORY) -> list[str]:
    """Every problem with the catalogues in ``directory``, one sentence each; ``[]`` when there are none.

    Reported: a file that is missing or not TOML, a key in one language only, a value that is not a
    string or is empty, a template that cannot be formatted, and fields that differ between languages.
    """
    tables: dict[str, Mapping[str, Any]] = {}
    problems: list[str] = []
    for lang in LANGUAGES:
        try:
            tables[lang] = _load(Path(directory), lang)
        except (OSError, ValueError) as err:
            problems.append(f"{lang}: cannot read the catalogue: {err}")
    if problems:
        return problems
    every = list(dict.fromkeys(key for table in tables.values() for key in table))
    for key in every:
        present = [lang for lang in LANGUAGES if key in tables[lang]]
        if len(present) < len(LANGUAGES):
            lacking = [lang for lang in LANGUAGES if lang not in present]
            problems.append(f"{key!r} is only in {', '.join(present)} (missing from {', '.join(lacking)})")
            continue
        found: dict[str, set[str]] = {}
        for lang in LANGUAGES:
            value = tables[lang][key]
            if not isinstance(value, str):
                problems.append(f"{key!r} in {lang} is a {type(value).__name__}, not a string")
            elif not value.strip():
                problems.append(f"{key!r} is empty in {lang}")
            else:
                try:
                    found[lang] = fields(value)
                except ValueError as err:
                    problems.append(f"{key!r} in {lang}: {err}")
        if len(found) == len(LANGUAGES) and len({frozenset(f) for f in found.values()}) > 1:
            shown = "; ".join(f"{lang} {sorted(f)}" for lang, f in found.items())
            problems.append(f"{key!r} has different fields: {shown}")
    return problems


def message(err: object, lang: str, /) -> str:
    """What the app says about an error the user can fix, or any text built from the catalogue, in ``lang``.

    An error that carries ``text_key`` (a catalogue key) and ``text_fields`` (a mapping of its fields), as
    :class:`adlab.data.DataError` does, is said from the catalogue (English when the key lacks ``lang``, as
    :func:`text_or_english`); a field that itself carries a ``text_key`` (a piece of a message:
    :class:`adlab.data.types.Text`) is said in ``lang`` too. Any other error is said by its own ``str``
    (English: adlab's developer messages).
    """
    key = getattr(err, "text_key", None)
    if isinstance(key, str):
        fields = {name: message(value, lang) if isinstance(getattr(value, "text_key", None), str) else value
                  for name, value in dict(getattr(err, "text_fields", None) or {}).items()}
        return text_or_english(key, lang, **fields)
    return str(err)
