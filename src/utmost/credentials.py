"""HTTP Basic credentials, read the one way both interfaces take them.

The collector's ``/import`` (a project secret, or a service account's ``user:secret``) and the
query API and dashboard (a project secret) both accept HTTP Basic; neither interface imports
the other for it.
"""

from __future__ import annotations

import base64
import binascii


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``(user, password)`` of an HTTP Basic ``Authorization`` header; None without one.

    Raises ValueError when it says Basic but its credentials do not decode.

    >>> basic_credentials("Basic c2VjcmV0Og==")
    ('secret', '')
    """
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("malformed HTTP Basic credentials") from None
    return user, password
