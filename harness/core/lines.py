"""One line of text for a person: what a failure, a step or a summary prints, bounded.

A failure line aims at :data:`LINE_TARGET` characters and never exceeds :data:`LINE_LIMIT`;
:func:`shorten` keeps the start and the end of a long text and the last two parts of long paths.
"""

from __future__ import annotations

import re

#: a failure line aims at this many characters ...
LINE_TARGET = 200
#: ... and never exceeds this many
LINE_LIMIT = 250
ELLIPSIS = "…"
_PART = r"[^\s/'\"(),:;\[\]]+"
#: an absolute path of three parts or more, up to its last two parts (not inside a URL)
_LONG_PATH = re.compile(rf"(?<![\w.:/{ELLIPSIS}])/(?:{_PART}/)+(?={_PART}/{_PART})")

__all__ = ["ELLIPSIS", "LINE_LIMIT", "LINE_TARGET", "one_line", "shorten"]


def one_line(text: str) -> str:
    return " ".join(text.split())


def shorten(text: str, width: int) -> str:
    """``text`` on one line in at most ``width`` characters: long absolute paths keep their last
    two parts, then the middle gives way to ``…`` (two thirds of the room for the start)."""
    text = one_line(text)
    if len(text) > width:
        text = _LONG_PATH.sub(ELLIPSIS + "/", text)
    if len(text) <= width:
        return text
    if width < 2:
        return ELLIPSIS[:width]
    head = (width - 1) * 2 // 3
    tail = width - 1 - head
    return text[:head].rstrip() + ELLIPSIS + (text[-tail:].lstrip() if tail else "")
