"""Telling visitors things: e-mail over SMTP, SMS through a gateway, behind one interface.

Texts are Jinja2 templates in Chinese and English (``templates/messages/``). A message goes
by e-mail to whoever gave an address (when e-mail is configured), else, or when e-mail
fails, by SMS to their mobile number. Addresses and numbers are decrypted only to send and
are never logged: logs and job results carry counts and booking ids.
"""
