"""messaging.backends.cloud: requests to the Graph API and Meta's errors, classified."""

import socket
import threading
from http.client import RemoteDisconnected

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

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


def refused():
    """What requests raises when nothing listens: the connection never opened."""
    return requests.ConnectionError(
        MaxRetryError(None, "/123/messages", NewConnectionError(None, "Connection refused"))
    )


def aborted():
    """What requests raises when the server drops the connection after reading the request."""
    return requests.ConnectionError(
        ProtocolError("Connection aborted.", RemoteDisconnected("closed without response"))
    )


@pytest.mark.parametrize(
    ("failure", "retryable", "ambiguous"),
    [
        (requests.ConnectTimeout("connect"), True, False),
        (refused(), True, False),
        (requests.exceptions.SSLError("certificate verify failed"), True, False),
        (requests.exceptions.ProxyError("proxy refused"), True, False),
        (requests.ReadTimeout("read"), False, True),
        (aborted(), False, True),
        (requests.exceptions.ChunkedEncodingError("broken answer"), False, True),
        (requests.exceptions.ContentDecodingError("bad gzip"), False, True),
        (requests.exceptions.RetryError("gave up"), False, True),
        (requests.ConnectionError("no details"), False, True),
        (requests.exceptions.InvalidURL("bad host"), False, False),
        (requests.exceptions.InvalidHeader("bad token"), False, False),
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


@pytest.fixture
def local_graph(settings):
    """A Graph URL on a loopback port, for real sockets instead of `responses`."""
    settings.WHATSAPP_ACCESS_TOKEN = "secret-token"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    settings.WHATSAPP_GRAPH_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with listener:
        yield listener


def test_a_port_where_nothing_listens_is_retried(local_graph):
    local_graph.close()  # the port is free: connecting is refused

    with pytest.raises(SendError) as caught:
        CloudBackend(timeout=(2, 2)).send("123", {})

    assert (caught.value.retryable, caught.value.ambiguous) == (True, False)


def test_a_connection_dropped_after_the_request_was_read_is_unconfirmed_not_retried(local_graph):
    local_graph.listen()
    received = []

    def read_then_hang_up():
        connection, _address = local_graph.accept()
        with connection:
            received.append(connection.recv(65536))

    server = threading.Thread(target=read_then_hang_up)
    server.start()
    with pytest.raises(SendError) as caught:
        CloudBackend(timeout=(2, 2)).send("123", {"type": "text"})
    server.join()

    assert received[0].startswith(b"POST /v23.0/123/messages")
    assert (caught.value.retryable, caught.value.ambiguous) == (False, True)


def test_a_redirect_is_not_followed(backend):
    transport, mocked = backend
    mocked.post(
        f"{GRAPH}/123/messages", status=307, headers={"Location": "https://elsewhere.example/"}
    )

    with pytest.raises(SendError) as caught:
        transport.send("123", {})

    assert len(mocked.calls) == 1
    assert "redirect" in caught.value.title
    assert caught.value.permanent


def test_metas_code_prefix_is_left_out_of_the_title(backend):
    transport, mocked = backend
    mocked.post(f"{GRAPH}/123/messages", json=error_body(131047), status=400)

    with pytest.raises(SendError) as caught:
        transport.send("123", {})

    assert caught.value.title == "Something"


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


# Media downloads carry the token: only over https (or to a loopback test server)


@pytest.mark.parametrize(
    "url",
    [
        "http://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
        "ftp://lookaside.fbsbx.com/file",
        "//lookaside.fbsbx.com/file",
        "http://10.0.0.8/file",
    ],
)
def test_a_media_url_that_is_not_https_is_refused_before_the_token_is_sent(backend, url):
    transport, mocked = backend

    with pytest.raises(SendError) as caught:
        b"".join(transport.download_media(url, 1000))

    assert len(mocked.calls) == 0
    assert caught.value.permanent


def test_a_media_url_on_loopback_may_be_plain_http(backend):
    transport, mocked = backend
    mocked.get("http://127.0.0.1:8765/media/1", body=b"image bytes")

    assert b"".join(transport.download_media("http://127.0.0.1:8765/media/1", 1000)) == (
        b"image bytes"
    )
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer secret-token"


def test_a_download_that_breaks_off_is_a_send_error_not_a_crash(backend):
    transport, mocked = backend
    url = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
    mocked.get(url, body=requests.exceptions.ChunkedEncodingError("broken"))

    with pytest.raises(SendError) as caught:
        b"".join(transport.download_media(url, 1000))

    assert not caught.value.permanent


def test_a_download_refused_for_the_token_stops_sending(backend):
    transport, mocked = backend
    url = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
    mocked.get(url, json=error_body(190), status=401)

    with pytest.raises(SendError) as caught:
        b"".join(transport.download_media(url, 1000))

    assert caught.value.stop_sending


# Ids that go into a Graph path: Meta's object ids are decimal numbers. Anything else could
# walk the path to another endpoint, which would get the bearer token.

BAD_IDS = [
    "../../../v23.0/106540352242922/messages?x=",
    "106540352242922/messages",
    "2621233374848975?fields=id",
    "2621233374848975#x",
    "%2e%2e%2f123",
    "",
    " 123",
    "123\n",
    "١٢٣",  # Arabic-Indic digits: digits to str.isdigit(), not to Meta
    "https://elsewhere.example/123",
]


@pytest.mark.parametrize("media_id", BAD_IDS)
def test_it_refuses_a_media_id_that_is_not_a_graph_id_without_any_request(backend, media_id):
    transport, mocked = backend

    with pytest.raises(SendError) as caught:
        transport.media_info(media_id)

    assert len(mocked.calls) == 0
    assert caught.value.permanent
    assert "id" in caught.value.title


@pytest.mark.parametrize("bad_id", BAD_IDS[:3])
def test_it_refuses_phone_number_and_account_ids_that_are_not_graph_ids(backend, bad_id):
    transport, mocked = backend

    for call in (
        lambda: transport.send(bad_id, {}),
        lambda: transport.upload_media(bad_id, "a.pdf", b"%PDF", "application/pdf"),
        lambda: list(transport.list_templates(bad_id)),
    ):
        with pytest.raises(SendError) as caught:
            call()
        assert caught.value.permanent

    assert len(mocked.calls) == 0


def test_a_graph_id_is_looked_up_with_the_token(backend):
    transport, mocked = backend
    mocked.get(f"{GRAPH}/2621233374848975", json={"url": "https://lookaside.fbsbx.com/x?mid=1"})

    assert transport.media_info("2621233374848975").url == "https://lookaside.fbsbx.com/x?mid=1"
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer secret-token"


# Media downloads follow no redirect: the token would go wherever the Location points.

MEDIA_URL = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=3"


@pytest.mark.parametrize(
    "location",
    [
        f"{GRAPH}/106540352242922/messages",  # another path on the Graph host
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=2",  # same host
        "https://elsewhere.example/collect",  # another host
        "/v23.0/106540352242922/messages",  # relative
    ],
)
@pytest.mark.parametrize("status", [302, 307])
def test_a_media_download_does_not_follow_a_redirect(backend, location, status):
    transport, mocked = backend
    mocked.assert_all_requests_are_fired = False
    mocked.get(MEDIA_URL, status=status, headers={"Location": location})
    target = mocked.get(
        location if location.startswith("http") else f"https://lookaside.fbsbx.com{location}",
        body=b"not for us",
    )

    with pytest.raises(SendError) as caught:
        b"".join(transport.download_media(MEDIA_URL, 1000))

    assert target.call_count == 0
    assert [call.request.url for call in mocked.calls] == [MEDIA_URL]
    assert caught.value.permanent
    assert "redirect" in caught.value.title


def test_a_media_answer_in_the_3xx_range_without_a_location_is_no_file_either(backend):
    transport, mocked = backend
    mocked.get(MEDIA_URL, status=302, body=b"<html>Moved</html>")

    with pytest.raises(SendError) as caught:
        b"".join(transport.download_media(MEDIA_URL, 1000))

    assert caught.value.permanent
