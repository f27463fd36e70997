"""Where a party's keystore passphrase comes from: the environment (scripts) or a no-echo prompt (people)."""

from __future__ import annotations

import getpass
import os

from registry.keystore.errors import EmptyPassphraseError

PASSPHRASE_ENV = "FLEP_PASSPHRASE"


def passphrase_from_env_or_prompt(prompt: str) -> str:
    """The passphrase in ``$FLEP_PASSPHRASE`` if it is set, else one typed at a prompt without echo.

    Args:
        prompt: What the prompt says, e.g. ``"Passphrase for keystore .flep/keys/analyst-1: "``.

    Raises:
        EmptyPassphraseError: If the passphrase is empty (a keystore is never sealed under one).
    """
    passphrase = os.environ.get(PASSPHRASE_ENV)
    from_env = passphrase is not None
    if passphrase is None:
        passphrase = getpass.getpass(prompt)
    if not passphrase:
        problem = f"{PASSPHRASE_ENV} is set but empty" if from_env else "the passphrase typed is empty"
        raise EmptyPassphraseError(f"{problem}: a keystore needs a non-empty passphrase")
    return passphrase
