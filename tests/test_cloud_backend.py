"""messaging.backends.cloud: requests to the Graph API and Meta's errors, classified."""

import pytest
import requests
import responses

from messaging.backends.base import SendError
from messaging.backends.cloud import CloudBackend

GRAPH = "https://graph.facebook.com/v23.0"


@pytest.fixture
def backend(settings):
    settings.WHATSAPP_ACCESS_TOKEN = "secret-token"
    settings.WHATSAPP_GRAPH_URL = "https://graph.facebook.com"
    with responses.RequestsMock() as mocked:
        yield CloudBackend(), mocked


def error_body(code, subcode=None, **extra):
    error = {
        "message": f"(#{code}) Something",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": "What went wrong"},
        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
        **extra,
    }
    if subcode:
        error["error_subcode"] = subcode
    return {"error": error}


def test_it_posts_json_with_the_bearer_token_and_returns_the_wamid(backend):
    transport, mocked = backend
    mocked.post(f"{GRAPH}/123/messages", json={"messages": [{"id": "wamid.X"}]})

    result = transport.send("123", {"messaging_product": "whatsapp", "to": "1", "type": "text"})

    assert result.wamid == "wamid.X"
    request = mocked.calls[0].request
    assert request.headers["Authorization"] == "Bearer secret-token"
    assert request.headers["Content-Type"] == "application/json"


def test_meta_errors_become_one_exception_with_every_detail(backend):
    transport, mocked = backend
    mocked.post(f"{GRAPH}/123/messages", json=error_body(131047, subcode=2494010), status=400)

    with pytest.raises(SendError) as caught:
        transport.send("123", {})

    error = caught.value
    assert (error.code, error.subcode, error.details) == (131047, 2494010, "What went wrong")
    assert error.fbtrace_id == "Az8or2yhqkZfEZ-_4Qn_Bam"
    assert (error.retryable, error.permanent, error.stop_sending) == (False, True, False)


@pytest.mark.parametrize("code", [1, 2, 4, 80007, 130429, 131000, 131016, 131056])
def test_temporary_codes_are_retryable_whatever_the_http_status(backend, code):
    transport, mocked = backend
    mocked.post(f"{GRAPH}/123/messages", json=error_body(code), status=400)

    with pytest.raises(SendError) as caught:
        transport.send("123", {})

    assert caught.value.retryable
    assert not caught.value.permanent


@pytest.mark.parametrize("code", [100, 131008, 131009, 131026, 131047, 132000, 132012, 368])
def test_other_codes_are_permanent_even_with_a_5xx(backend, code):
    transport, mocked = backend
    mocked.post(f"{GRAPH}/123/messages", json=error_body(code), status=500)

    with pytest.raises(SendError) as caught:
        transport.send("123", {})

    assert caught.value.permanent


def test_code_190_stops_sending(backend):
    transport, mocked = backend
    mocked.post(f"{GRAPH}/123/messages", json=error_body(190), status=401)

    with pytest.raises(SendError) as caught:
        transport.send("123", {})

    assert caught.value.stop_sending


def test_a_5xx_without_an_error_object_is_retryable(backend):
    transport, mocked = backend
    mocked.post(f"{GRAPH}/123/messages", body="<html>Bad gateway</html>", status=502)

    with pytest.raises(SendError) as caught:
        transport.send("123", {})

    assert caught.value.retryable


@pytest.mark.parametrize(
    ("failure", "retryable", "ambiguous"),
    [
        (requests.ConnectTimeout("connect"), True, False),
        (requests.ConnectionError("refused"), True, False),
        (requests.ReadTimeout("read"), False, True),
    ],
)
def test_network_failures_are_classified_by_whether_meta_may_have_the_request(
    backend, failure, retryable, ambiguous
):
    transport, mocked = backend
    mocked.post(f"{GRAPH}/123/messages", body=failure)

    with pytest.raises(SendError) as caught:
        transport.send("123", {})

    assert (caught.value.retryable, caught.value.ambiguous) == (retryable, ambiguous)


def test_a_200_without_a_message_id_is_ambiguous(backend):
    transport, mocked = backend
    mocked.post(f"{GRAPH}/123/messages", json={"messaging_product": "whatsapp"})

    with pytest.raises(SendError) as caught:
        transport.send("123", {})

    assert caught.value.ambiguous


def test_the_graph_url_and_version_come_from_settings(backend, settings):
    transport, mocked = backend
    settings.WHATSAPP_GRAPH_URL = "http://127.0.0.1:9999"
    settings.WHATSAPP_API_VERSION = "v24.0"
    mocked.post("http://127.0.0.1:9999/v24.0/123/messages", json={"messages": [{"id": "w"}]})

    assert transport.send("123", {}).wamid == "w"
