"""The wire path under exchangelib: answers are handed to its parser in large chunks."""

from __future__ import annotations

import threading

from esexchange.exchange.ews.transport import READ_CHUNK
from tests.exchange.ews_helpers import connected, user_settings
from tests.support.sandbox import RunningSandbox


def test_an_answer_reaches_the_parser_in_one_piece_not_byte_by_byte(
    ews: RunningSandbox,
) -> None:
    # exchangelib parses response.iter_content() with requests' default chunk of ONE byte;
    # a 75 KB answer then costs 75,000 parser calls (transport.WholeBodyResponse).
    with connected(user_settings(ews.url)) as connection:
        session = connection.protocol.get_session()
        try:
            response = session.post(ews.url, data=b"<not-soap/>",
                                    headers={"Content-Type": "text/xml"})
        finally:
            connection.protocol.release_session(session)
    assert 1 < len(response.content) < READ_CHUNK
    assert list(response.iter_content()) == [response.content]


def test_a_throttled_thread_shrinking_an_exhausted_pool_does_not_hang(
    ews: RunningSandbox,
) -> None:
    # exchangelib shrinks the session pool when the server throttles; with every session
    # checked out it grows the pool under the lock it already holds. A 1,000-mailbox
    # first pass hung there for ever (all mailbox threads behind that lock).
    with connected(user_settings(ews.url, max_connections=3)) as connection:
        protocol = connection.protocol
        held = [protocol.get_session() for _ in range(2)]  # the pool holds 2, both out
        shrinking = threading.Thread(target=protocol.decrease_poolsize, daemon=True)
        shrinking.start()
        shrinking.join(timeout=10)
        assert not shrinking.is_alive(), "decrease_poolsize waits for itself"
        for session in held:
            protocol.release_session(session)
        again = protocol.get_session()  # and the pool still hands out sessions
        protocol.release_session(again)
