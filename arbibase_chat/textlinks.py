"""Split message text into plain runs and safe links.

Bodies are always rendered as text (React escapes it); only http(s) URLs become links, so a
`javascript:` or `data:` "link" stays inert text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


@dataclass
class Segment:
    text: str = ""
    href: str = ""  # "" for plain text


def segments(body: str) -> list[Segment]:
    out: list[Segment] = []
    pos = 0
    for match in _URL.finditer(body):
        url = match.group(0)
        # "see https://x.com/a." → the full stop is prose, not part of the link.
        stripped = url.rstrip(_TRAILING)
        if url.endswith(")") and stripped.count("(") > stripped.count(")"):
            stripped += ")"
        start, end = match.start(), match.start() + len(stripped)
        if start > pos:
            out.append(Segment(text=body[pos:start]))
        out.append(Segment(text=stripped, href=stripped))
        pos = end
    if pos < len(body):
        out.append(Segment(text=body[pos:]))
    return out
