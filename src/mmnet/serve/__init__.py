"""A local web page and an HTTP API around one trained model (optional extra ``serve``:
``pip install fastapi uvicorn python-multipart av fastapi-offline``;
from a source checkout ``pip install -e ".[serve]"``).

    app.py         the FastAPI application: the page, the API, errors as JSON
    settings.py    the server's settings: limits, address, names answered, access token
    access.py      the optional access token and the Origin check (middleware); job ids and tokens kept out of
                   the access log
    upload_root.py the upload folder; those of killed servers (and old stale uploads) removed at start
    schema.py      what /openapi.json says it answers: error bodies, answer models, media types
    docs.py        /docs and /redoc from files on this computer
    form_check.py  the upload endpoints' form fields, read off their routes; settings in the URL, unknown or
                   repeated fields and several files refused
    uploads.py     uploads: size limit, recognised by decoding, zip checks, per-job folders
    limits.py      the request-size limit (ASGI middleware)
    jobs.py        jobs off the request thread: bounded pools (503 when full), results with a time-out
    job_store.py   the jobs by id: kept, forgotten, deleted (a waiting one ended at once), stopped with the server
    queue_watch.py a full pool answered 503 before the upload is read; a clip cancelled when its client leaves
    cut_off.py     the 503 of a request still open when the server stops waiting for it
    analysis.py    a clip's prediction and a recording's intervals, with their pictures (PNG)
    spotting.py    the adapter to long-video spotting and the shape of its result
    model_info.py  which model is loaded and what it was trained on; finding a model of `mmnet demo`
    static/        the page: plain HTML, CSS and JavaScript, no build step, nothing from the network

Start it with ``mmnet serve`` (``mmnet.commands.serve``); docs/serve.md describes the API.
"""

from .app import STATIC, ServeSettings, create_app

__all__ = ["ServeSettings", "create_app", "STATIC"]
