"""Global Settings > Security > Signing Keys: the keys that sign access tokens.

Keys are platform-wide (tokens name their tenant in a claim) and rotated by
the operator with ``cloudcx keys rotate``; this page lets administrators see
which key signs today and which retired keys are still published in the JWKS
(RFC 7517) until the last token they signed has expired.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from cloudcx.console.web import ConsoleDep
from cloudcx.db import utcnow
from cloudcx.deps import SessionDep
from cloudcx.oauth.models import SigningKey

router = APIRouter(prefix="/settings/security/keys", include_in_schema=False)


@router.get("")
async def keys_page(cx: ConsoleDep, session: SessionDep) -> Response:
    cx.require_admin()
    rows = (
        await session.scalars(
            select(SigningKey).order_by(SigningKey.created_at.desc(), SigningKey.kid)
        )
    ).all()
    now = utcnow()
    keys = [
        {
            "row": row,
            "status": "Active"
            if row.is_active
            else ("Retired, published" if row.expires_at and row.expires_at > now else "Expired"),
        }
        for row in rows
    ]
    return cx.render("security/keys.html", keys=keys)
