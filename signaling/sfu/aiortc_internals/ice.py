"""aioice patched: media ports that drop what is not STUN, DTLS or RTP, and consent that a busy peer survives."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from aioice import ice as aioice_ice
from aioice import stun as aioice_stun

from signaling.sfu.aiortc_internals import guard  # noqa: F401 - the check passes before anything is patched

logger = logging.getLogger(__name__)

# --- the media port: every datagram is sorted before aioice and aiortc see it -----------------------------------
# Anyone can send UDP to a media port. aioice parses what looks like STUN and lets struct.error and
# UnicodeDecodeError escape (logged as "Exception in callback"); aiortc's DTLS transport dies on an empty
# datagram (IndexError in _recv_next), cutting the participant's media. So datagrams are demultiplexed by their
# first byte as RFC 7983 says, and anything else is dropped: STUN (0-3) only when it parses, DTLS (20-63) and
# RTP/RTCP (128-191) straight to the transport (SRTP authenticates them there), nothing else at all.
_stun_datagram_received = aioice_ice.StunProtocol.datagram_received


def _demultiplexed(self: aioice_ice.StunProtocol, data: bytes | str, addr: tuple[Any, ...]) -> None:
    if not isinstance(data, bytes) or not data:
        return
    first = data[0]
    if first < 4:
        try:
            aioice_stun.parse_message(data)
        except Exception:  # noqa: BLE001 - whatever a malformed message raises, it is dropped
            return
        _stun_datagram_received(self, data, addr)
    elif 19 < first < 64 or 127 < first < 192:
        self.receiver.data_received(data, self.local_candidate.component)


aioice_ice.StunProtocol.datagram_received = _demultiplexed  # type: ignore[method-assign]


# --- consent freshness that a busy peer survives (RFC 7675) -----------------------------------------------------
# aioice sends a consent check every 5 s or so, waits 0.5 s for its answer without retransmitting, and closes the
# connection when six checks in a row went unanswered within that time. A peer (or this node) whose loop lags
# half a second answers every check late: while 90 venues join a conference on one node, the first venues lost
# healthy connections after 35 s. RFC 7675 asks only that consent expires 30 s after the last answer: a check is
# retransmitted like any STUN request (RFC 8489: 0.5, 1, 2, 4 s), and an answer counts whenever it comes in.
CONSENT_TIMEOUT = 30.0  # seconds without any answer to a consent check: consent expires
CONSENT_RETRANSMISSIONS = 3  # a check waits up to 7.5 s for its answer


async def _query_consent(self: aioice_ice.Connection) -> None:
    assert self.remote_password is not None  # consent checks only start once connect() has it
    loop = asyncio.get_running_loop()
    answered = loop.time()
    while True:
        await asyncio.sleep(aioice_ice.CONSENT_INTERVAL * (0.8 + 0.4 * random.random()))
        for pair in self._nominated.values():
            request = self.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(request, pair.remote_addr,
                                            integrity_key=self.remote_password.encode("utf8"),
                                            retransmissions=CONSENT_RETRANSMISSIONS)
                answered = loop.time()
            except aioice_stun.TransactionError:
                pass
        if loop.time() - answered > CONSENT_TIMEOUT:
            logger.warning("ICE consent expired: no answer to a consent check for %.0f s", loop.time() - answered)
            self._query_consent_task = None  # close() would cancel this task, which is the one closing
            await self.close()
            return


aioice_ice.Connection.query_consent = _query_consent  # type: ignore[method-assign]
