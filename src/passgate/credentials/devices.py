"""A login's device as the device list names it, read from its User-Agent with ``ua-parser``
(the Python port of uap-core): ``Mobile Safari 17.0 on iOS 17.0 (iPhone)``, ``Chrome 126 on Linux``.

Parsing walks a few hundred regular expressions, so it runs when a login is created, never per
request, and each distinct User-Agent once per process.
"""

from __future__ import annotations

import functools
import re

import ua_parser

__all__ = ["MAX_DEVICE_NAME", "device_name", "warm"]

MAX_DEVICE_NAME = 120

#: Parts of a browser's user agent that every browser sends and that tell nobody anything.
_UA_NOISE = re.compile(r"Mozilla/5\.0 |AppleWebKit/[\d.]+ |\(KHTML, like Gecko\) ?|Gecko/\d+ ?|Safari/[\d.]+$")


def warm() -> None:
    """Compile the parser's rules now (about 80 ms, once per process) rather than at the first login."""
    ua_parser.parse("")


@functools.lru_cache(maxsize=4096)
def device_name(user_agent: str) -> str:
    """Browser, version and system, then the device when it says more; at most 120 characters.

    A User-Agent whose browser is not recognised is shown as sent, without the tokens every
    browser sends: ``(X11; Linux x86_64) NoSuchBrowser``.
    """
    parsed = ua_parser.parse(user_agent)
    browser = parsed.user_agent
    if browser is None:
        return _compact(user_agent)
    name = _words(browser.family, _version(browser))
    system = parsed.os
    system_name = _words(system.family, *_dotted(system.major, system.minor, system.patch)) if system else ""
    if system_name:
        name += f" on {system_name}"
    device = parsed.device
    if (device is not None and device.brand and not device.brand.startswith("Generic")
            and device.family not in ("Other", "Spider") and device.family not in system_name):
        name += f" ({device.family})"
    return _clean(name)


def _version(browser: ua_parser.UserAgent) -> str | None:
    """Four-part versions (Chrome's 126.0.6478.122) are known by their major, two-part ones
    (Safari's 17.0, Firefox's 128.0) by both."""
    if browser.major is not None and browser.minor is not None and browser.patch is None:
        return f"{browser.major}.{browser.minor}"
    return browser.major


def _dotted(*parts: str | None) -> list[str]:
    present = [part for part in parts if part is not None]
    return [".".join(present)] if present else []


def _words(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


def _compact(user_agent: str) -> str:
    return _clean(_UA_NOISE.sub("", user_agent))


def _clean(text: str) -> str:
    return " ".join(text.split())[:MAX_DEVICE_NAME]
