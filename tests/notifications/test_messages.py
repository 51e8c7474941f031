"""Every message exists in every language of the registry, for each of its channels."""

from __future__ import annotations

from reservations import languages, resources


def test_every_message_template_exists_in_every_language() -> None:
    folder = resources.templates_dir() / "messages"
    # reminder.email.zh.txt -> ("reminder", "email")
    messages = {tuple(path.name.split(".")[:2]) for path in folder.glob("*.txt")}
    assert messages
    missing = [
        f"{template}.{channel}.{code}.txt"
        for template, channel in sorted(messages)
        for code in languages.CODES
        if not (folder / f"{template}.{channel}.{code}.txt").is_file()
    ]
    assert missing == []
