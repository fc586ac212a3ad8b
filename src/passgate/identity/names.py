"""The username and password rules of the contract.

Every Unicode property comes from one source, ``unicodedataplus`` (NFKC, categories and scripts of
one Unicode version, whatever the Python): the standard library's ``unicodedata`` follows the
interpreter (Unicode 14.0 on Python 3.11), so which names a node accepted would depend on its Python.
"""

from __future__ import annotations

import functools
from importlib import resources

import unicodedataplus  # type: ignore[import-not-found]  # one C extension module, no type information

from passgate.errors import ValidationFailed

USERNAME_MIN, USERNAME_MAX = 3, 32
PASSWORD_MIN, PASSWORD_MAX = 8, 1024
_PUNCTUATION = frozenset("_.-")


def normalize_username(raw: str) -> str:
    """The stored spelling of a name: NFKC."""
    return str(unicodedataplus.normalize("NFKC", raw))


def username_key(raw: str) -> str:
    """What uniqueness and lookup compare: NFKC then case folding (so ``ß`` = ``ss``)."""
    return normalize_username(raw).casefold()


@functools.cache
def _prototypes() -> dict[str, str]:
    """UTS #39's confusables: each character that looks like another, and what it looks like
    (``confusables.txt`` beside this module, written by ``scripts/confusables.py``)."""
    table = resources.files(__package__).joinpath("confusables.txt").read_text(encoding="ascii")
    rows = (line.split("\t") for line in table.splitlines() if line and not line.startswith("#"))
    return {chr(int(source, 16)): "".join(chr(int(c, 16)) for c in target.split()) for source, target in rows}


def username_skeleton(raw: str) -> str:
    r"""What no two names may share (UTS #39's skeleton of the name's key): ``scope`` and
    ``\u0455\u0441\u043e\u0440\u0435`` (Cyrillic), ``admin`` and ``adm\u0131n`` (a dotless
    i), ``modern`` and ``rnodern`` look alike and have one skeleton.  An application that keeps
    its own users should refuse a new name whose skeleton an existing one has, as passgate's
    user table does."""
    table = _prototypes()
    decomposed = unicodedataplus.normalize("NFD", username_key(raw))
    return str(unicodedataplus.normalize("NFD", "".join(table.get(char, char) for char in decomposed)))


#: Script_Extensions values that go with any script (digits, punctuation, marks).
_ANY_SCRIPT = frozenset({"Zyyy", "Zinh"})


def _scripts(char: str) -> frozenset[str] | None:
    """The scripts a letter is used in (Unicode's Script_Extensions); None for one used in any."""
    found = frozenset(unicodedataplus.script_extensions(char))
    return None if found <= _ANY_SCRIPT else found


def check_username(raw: str) -> str:
    """The normalised name, or ValidationFailed saying which rule it breaks."""
    name = normalize_username(raw)
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        raise ValidationFailed(f"a username has {USERNAME_MIN} to {USERNAME_MAX} characters")
    scripts: frozenset[str] | None = None  # the scripts every letter so far is used in
    previous_is_letter = False
    for char in name:
        category: str = unicodedataplus.category(char)
        if category.startswith("L"):
            used_in = _scripts(char)
            if used_in is not None:
                scripts = used_in if scripts is None else scripts & used_in
                if not scripts:
                    raise ValidationFailed("the letters of a username are all of one script")
            previous_is_letter = True
        elif category.startswith("M") and previous_is_letter:
            continue
        elif category == "Nd" or char in _PUNCTUATION:
            # A digit of a script (Arabic-Indic one, Devanagari seven) goes only with that script's letters:
            # admin followed by an Arabic-Indic one is not admin1.
            used_in = _scripts(char) if category == "Nd" else None
            if used_in is not None:
                scripts = used_in if scripts is None else scripts & used_in
                if not scripts:
                    raise ValidationFailed("the letters and digits of a username are all of one script")
            previous_is_letter = False
        else:
            raise ValidationFailed("a username has only letters, digits, '_', '.' and '-'")
    return name


def check_password(password: str) -> str:
    """The password unchanged (never normalised), or ValidationFailed."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise ValidationFailed(f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    if "\x00" in password:
        raise ValidationFailed("a password cannot contain NUL")
    return password
