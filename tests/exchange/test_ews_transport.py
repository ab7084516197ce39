"""The wire path under exchangelib: answers are handed to its parser in large chunks."""

from __future__ import annotations

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
