"""The upload endpoints' request checks: a setting sent in the URL's query, a form field the endpoint does not read
(misspelt, unknown) or sent twice, and more than one file are refused saying what to send instead, never a result
computed without what was meant.

The fields an endpoint reads are read off the route that answers the request (its FastAPI ``File`` and ``Form``
parameters, as FastAPI binds them), not kept in a second list by hand: a form field added to a route is accepted
without another edit, and none can be refused as "not read" while the route reads it.
"""

from __future__ import annotations

import difflib

from fastapi import Request
from fastapi.params import File

from .upload_types import UploadError

__all__ = ["check_form", "form_fields"]


def form_fields(route) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``route``'s file fields and its other form fields (its settings), by the names they are sent under, in the order
    of its parameters: those FastAPI reads from a request's form (``route.dependant.body_params``)."""
    body = route.dependant.body_params
    return (tuple(f.alias for f in body if isinstance(f.field_info, File)),
            tuple(f.alias for f in body if not isinstance(f.field_info, File)))


async def check_form(request: Request) -> None:
    """Refuse (``UploadError``) what the route answering ``request`` would not read, or would read only in part."""
    # FastAPI puts the route it matched in the request's scope: the fields are those this very endpoint binds
    files, settings = form_fields(request.scope["route"])
    # settings sent in the URL are not read (FastAPI binds form fields only): refused, not silently ignored
    if request.query_params:
        name = next(iter(request.query_params))
        said = (f"send it as a form field (curl: -F {name}=VALUE)" if name in settings else
                f"it is no setting of this endpoint, whose settings are the form fields {', '.join(settings)}")
        raise UploadError(f"This endpoint reads its settings from form fields, not from the URL's query "
                          f"('?{name}=...'): {said}.", 422, "field_invalid", field=name)
    form = await request.form()  # the form FastAPI parsed (cached): it binds the fields it knows, the last of each
    allowed = files + settings
    for name in dict.fromkeys(form.keys()):  # a misspelt or repeated field refused, not a result without it
        if name not in allowed:
            # a case slip first ('Onset'), else a close spelling ('apx', 'min_score' for the alias 'min-score')
            near = next((f for f in allowed if f.lower() == name.lower()), None) or next(
                iter(difflib.get_close_matches(name.lower(), allowed, n=1, cutoff=0.6)), None)
            # the list too: a close name may be another setting ('offset' is no misspelt 'onset')
            fields = f"its form fields are {', '.join(allowed)}"
            said = f"did you mean '{near}'? ({fields})" if near else fields
            raise UploadError(f"The form field '{name}' is not read by this endpoint: {said}", 422,
                              "field_invalid", field=name)
        if name not in files and len(form.getlist(name)) > 1:
            raise UploadError(f"The form field '{name}' was sent {len(form.getlist(name))} times; send it once.",
                              422, "field_invalid", field=name)
    for name in files:
        if len(sent := form.getlist(name)) > 1:
            raise UploadError(f"{len(sent)} files were sent in the form field '{name}'; send one file per request "
                              "(one request for each clip or recording).", 400, "bad_request", field=name)
