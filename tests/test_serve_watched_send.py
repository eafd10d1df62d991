"""The one record of whether an answer has begun, shared by the middlewares that answer in the application's place
(answers.InternalErrors: 500 internal; cut_off.AnswerWhenCutOff: 503 at the stop)."""

import asyncio
import threading

import pytest

pytest.importorskip("fastapi")

from mmnet.serve import answers, cut_off  # noqa: E402
from mmnet.serve.watched_send import WatchedSend  # noqa: E402


def test_a_watched_send_passes_each_message_on_and_knows_when_the_answer_began():
    sent = []

    async def send(message):
        sent.append(message["type"])
        if message.get("fail"):
            raise OSError("the client went away")

    async def answer():
        watched = WatchedSend(send)
        await watched({"type": "http.response.debug"})
        assert not watched.started
        await watched({"type": "http.response.start", "status": 200})
        assert watched.started
        await watched({"type": "http.response.body", "body": b"x"})
        assert watched.started
        failing = WatchedSend(send)
        with pytest.raises(OSError):
            await failing({"type": "http.response.start", "status": 200, "fail": True})
        assert failing.started  # it may have reached the client: nothing else may answer

    asyncio.run(answer())
    assert sent == ["http.response.debug", "http.response.start", "http.response.body", "http.response.start"]


def _statuses_sent(middleware, error: BaseException, begin: bool) -> list[int]:
    """The statuses ``middleware`` around an application that raises ``error`` (after its own 200 with ``begin``)
    sends; the error, where it goes on, is let through."""
    sent = []

    async def app(scope, receive, send):
        if begin:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        raise error

    async def send(message):
        sent.append(message)

    guarded = middleware(app)
    try:
        asyncio.run(guarded({"type": "http"}, None, send))
    except type(error):
        pass
    return [m["status"] for m in sent if m["type"] == "http.response.start"]


def test_the_middlewares_answer_in_the_applications_place_only_before_it_began_to():
    # both kept their own copy of this record
    assert _statuses_sent(answers.InternalErrors, RuntimeError("a bug"), begin=False) == [500]
    assert _statuses_sent(answers.InternalErrors, RuntimeError("a bug"), begin=True) == [200]
    stopping = threading.Event()
    stopping.set()  # the server is stopping

    def cut_off_middleware(app):
        return cut_off.AnswerWhenCutOff(app, stopping)

    assert _statuses_sent(cut_off_middleware, asyncio.CancelledError(), begin=False) == [503]
    assert _statuses_sent(cut_off_middleware, asyncio.CancelledError(), begin=True) == [200]
