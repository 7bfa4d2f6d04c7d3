"""A Jupyter server extension that drops one false alarm from `make lab`'s log.

jupyter_server's WebSocketMixin hands Tornado its keep-alive settings in milliseconds
(interval 30000, pong timeout 90000) where Tornado expects seconds, and Tornado 6.5 then
warns at the first kernel connection that "websocket_ping_timeout (90000) cannot be longer
than the websocket_ping_interval (30000)" (jupyter-server/jupyter_server#1612). A learner
can do nothing about it. No setting silences it without harm: the mixin's own ping (every
30 s, closing after 90 s without a pong) is what keeps the socket alive and needs the timeout
longer than the interval, which is what Tornado warns about. So the message is filtered, and
only that exact message: behaviour is unchanged, and any other Tornado warning still shows.
"""
from __future__ import annotations

import logging
from typing import Any

#: The start of the one message dropped: the defaults' mismatch, not a user's own settings.
FALSE_ALARM = "The websocket_ping_timeout (90000) cannot be longer than the websocket_ping_interval (30000)"
TORNADO_LOGGER = "tornado.general"


class DropPingUnitMismatch(logging.Filter):
    """Drops Tornado's warning about jupyter_server's millisecond keep-alive defaults."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(FALSE_ALARM)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "grader.jupyter_quiet"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    logger = logging.getLogger(TORNADO_LOGGER)
    if not any(isinstance(f, DropPingUnitMismatch) for f in logger.filters):
        logger.addFilter(DropPingUnitMismatch())
