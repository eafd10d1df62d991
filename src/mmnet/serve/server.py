"""Run the application with uvicorn, with a bounded stop.

On Ctrl+C or SIGTERM uvicorn stops accepting connections, then waits for the open ones to finish; a client
following a job's events, or a slow upload, would keep the process alive for as long as it lasts (a job: up to
--job-timeout). Here the jobs are stopped first (``create_app``'s ``stop_jobs``: their event streams end with a
last event saying the server stops), and what is still open after ``shutdown_timeout_s`` is cut off.
"""

from __future__ import annotations

import logging

import uvicorn

__all__ = ["StoppingServer", "serve"]


class StoppingServer(uvicorn.Server):
    """uvicorn's server, calling ``on_stop`` as it begins to stop, before it waits for open connections."""

    def __init__(self, config: uvicorn.Config, on_stop):
        super().__init__(config)
        self.on_stop = on_stop

    async def shutdown(self, sockets=None) -> None:
        self.on_stop()
        await super().shutdown(sockets)


def serve(app, *, host: str, port: int, shutdown_timeout_s: float, access_log: bool = False) -> bool:
    """Serve ``app`` (``create_app``'s) until Ctrl+C or SIGTERM; False when it could not start.

    ``access_log``: one line per request on standard output (uvicorn's: client, request line, status)."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=access_log,
                            timeout_graceful_shutdown=shutdown_timeout_s)
    if access_log:  # uvicorn gives its access log the level of the rest (warning): it logs at info
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    server = StoppingServer(config, on_stop=app.state.stop_jobs)
    try:
        server.run()
    except KeyboardInterrupt:  # a second Ctrl+C, or the signal uvicorn raises again once it stopped (as uvicorn.run)
        pass
    return server.started
