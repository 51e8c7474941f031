"""Message texts: Jinja2 templates per message, channel and language.

``templates/messages/<template>.<channel>.<language>.txt``; e-mail templates have a
``subject`` and a ``body`` block, SMS templates are the text itself. Plain text, so
nothing is HTML-escaped; values are the service's own (references, dates, masked names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reservations import languages
from reservations.web.templating import environment


@dataclass(frozen=True, slots=True)
class Message:
    """What to tell a person, whatever the channel."""

    template: str
    language: str
    values: Mapping[str, Any] = field(default_factory=dict)
    # Stable per message, e.g. "reminder:ZZ7K2M9Q": lets a gateway drop a repeated send.
    key: str = ""

    @property
    def lang(self) -> str:
        return languages.known(self.language)


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


def render(message: Message, channel: str) -> Rendered:
    template = environment().get_template(
        f"messages/{message.template}.{channel}.{message.lang}.txt"
    )
    values = dict(message.values)
    if "body" not in template.blocks:
        return Rendered("", _tidy(template.render(values)))
    context = template.new_context(values)
    subject = "".join(template.blocks["subject"](context)) if "subject" in template.blocks else ""
    body = "".join(template.blocks["body"](template.new_context(values)))
    return Rendered(" ".join(subject.split()), _tidy(body))


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return "\n".join(lines) + "\n"
