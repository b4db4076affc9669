import pickle

import pytest

from orqmagic import ConfigurationError, Secret
from orqmagic.config import resolve, set_key, use_sandbox


def test_secret_never_shows_itself():
    secret = Secret("sk-canary-123456")
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret}"):
        assert "canary" not in text
    assert secret.reveal() == "sk-canary-123456"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_empty_key_is_refused():
    with pytest.raises(ConfigurationError):
        Secret("   ")


def test_real_key_selects_the_real_service(monkeypatch):
    monkeypatch.setenv("ORQ_API_KEY", "sk-real")
    config = resolve("orq")
    assert config.base_url == "https://api.orq.ai"
    assert not config.sandbox
    assert config.key.reveal() == "sk-real"
    assert "sk-real" not in repr(config)


def test_default_base_urls(monkeypatch):
    for service, url in (("BASETEN", "https://api.baseten.co"), ("GALTEA", "https://api.galtea.ai")):
        monkeypatch.setenv(f"{service}_API_KEY", "k")
        assert resolve(service.lower()).base_url == url


def test_base_url_from_environment_and_code(monkeypatch):
    monkeypatch.setenv("ORQ_BASE_URL", "https://my.orq.ai/")
    assert resolve("orq").base_url == "https://my.orq.ai"
    assert resolve("orq", base_url="http://localhost:9").base_url == "http://localhost:9"


def test_malformed_base_url_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("GALTEA_BASE_URL", "api.galtea.ai")
    with pytest.raises(ConfigurationError, match="GALTEA_BASE_URL must start with http"):
        resolve("galtea")


def test_no_key_falls_back_to_the_embedded_sandbox():
    config = resolve("orq")
    assert config.sandbox
    assert config.base_url.startswith("http://127.0.0.1:")


def test_sandbox_flag_beats_keys(monkeypatch):
    monkeypatch.setenv("ORQ_API_KEY", "sk-real")
    monkeypatch.setenv("ORQMAGIC_SANDBOX", "1")
    assert resolve("orq").sandbox


def test_sandbox_off_without_key_means_remote_and_keyless(monkeypatch):
    monkeypatch.setenv("ORQMAGIC_SANDBOX", "0")
    config = resolve("baseten")
    assert not config.sandbox and config.key is None


def test_use_sandbox_and_session_keys():
    set_key("galtea", "gsk_session")
    assert resolve("galtea").key.reveal() == "gsk_session"
    use_sandbox()
    assert resolve("galtea").sandbox


def test_unknown_service():
    with pytest.raises(ConfigurationError, match="unknown service"):
        resolve("openai")


def test_keyless_request_fails_before_sending(monkeypatch):
    from orqmagic.clients import OrqClient

    monkeypatch.setenv("ORQMAGIC_SANDBOX", "0")
    monkeypatch.setenv("ORQ_BASE_URL", "http://127.0.0.1:9")
    with OrqClient() as client, pytest.raises(ConfigurationError, match="no orq.ai key: set ORQ_API_KEY"):
        client.list_deployments()
