"""The passphrase comes from FLEP_PASSPHRASE, else from a no-echo prompt, and is never empty."""

from __future__ import annotations

import pytest

from registry.keystore import EmptyPassphraseError, passphrase_from_env_or_prompt
from registry.keystore import passphrase as passphrase_module


def _no_prompt(prompt: str) -> str:
    raise AssertionError("prompted although FLEP_PASSPHRASE is set")


def test_environment_wins_without_prompting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEP_PASSPHRASE", "from the environment")
    monkeypatch.setattr(passphrase_module.getpass, "getpass", _no_prompt)

    assert passphrase_from_env_or_prompt("Passphrase: ") == "from the environment"


def test_prompt_without_echo_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []
    monkeypatch.delenv("FLEP_PASSPHRASE", raising=False)
    monkeypatch.setattr(passphrase_module.getpass, "getpass", lambda prompt: prompts.append(prompt) or "typed")

    assert passphrase_from_env_or_prompt("Passphrase for alice: ") == "typed"
    assert prompts == ["Passphrase for alice: "]


def test_empty_environment_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEP_PASSPHRASE", "")
    monkeypatch.setattr(passphrase_module.getpass, "getpass", _no_prompt)

    with pytest.raises(EmptyPassphraseError, match="FLEP_PASSPHRASE is set but empty"):
        passphrase_from_env_or_prompt("Passphrase: ")


def test_empty_typed_passphrase_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEP_PASSPHRASE", raising=False)
    monkeypatch.setattr(passphrase_module.getpass, "getpass", lambda prompt: "")

    with pytest.raises(EmptyPassphraseError, match="typed is empty"):
        passphrase_from_env_or_prompt("Passphrase: ")
