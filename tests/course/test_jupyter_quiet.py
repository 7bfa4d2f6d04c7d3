"""grader.jupyter_quiet drops exactly jupyter_server's keep-alive false alarm, nothing else."""
from __future__ import annotations

import logging

import pytest

from grader import jupyter_quiet


@pytest.fixture
def tornado_log(caplog: pytest.LogCaptureFixture):
    logger = logging.getLogger(jupyter_quiet.TORNADO_LOGGER)
    before = list(logger.filters)
    jupyter_quiet._load_jupyter_server_extension(serverapp=None)
    jupyter_quiet._load_jupyter_server_extension(serverapp=None)   # loading twice adds one filter
    caplog.set_level(logging.WARNING, logger=jupyter_quiet.TORNADO_LOGGER)
    yield logger, caplog
    logger.filters[:] = before


def test_the_default_mismatch_warning_is_dropped(tornado_log) -> None:
    logger, caplog = tornado_log
    assert sum(isinstance(f, jupyter_quiet.DropPingUnitMismatch) for f in logger.filters) == 1
    # Tornado 6.5's wording, with jupyter_server's defaults (websocket.py, WebSocketProtocol13)
    logger.warning("The websocket_ping_timeout (90000) cannot be longer than the "
                   "websocket_ping_interval (30000).\nSetting websocket_ping_timeout=30000")
    assert caplog.records == []


def test_other_warnings_and_a_users_own_mismatch_still_show(tornado_log) -> None:
    logger, caplog = tornado_log
    logger.warning("The websocket_ping_timeout (60) cannot be longer than the "
                   "websocket_ping_interval (20).\nSetting websocket_ping_timeout=20")
    logger.warning("Uncaught exception in ZMQStream callback")
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "The websocket_ping_timeout", "Uncaught exception in ZMQStream callback"]


def test_setup_enables_the_extension(tmp_path) -> None:
    import json

    from grader.export import install_jupyter_config

    written = install_jupyter_config(tmp_path)
    quiet = [p for p in written if p.name == "svclab-quiet.json"]
    assert quiet, written
    assert json.loads(quiet[0].read_text())["ServerApp"]["jpserver_extensions"] == {"grader.jupyter_quiet": True}
