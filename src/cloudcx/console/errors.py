"""HTML answers for the Control Panel's refusals: never a bare 500 or JSON page."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cloudcx.console.web import login_url, new_password_url, templates


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        status_code=status,
    )


async def login_required(request: Request, exc: Exception) -> Response:
    return RedirectResponse(login_url(request), status_code=303)


async def password_change_required(request: Request, exc: Exception) -> Response:
    return RedirectResponse(new_password_url(request), status_code=303)


async def forbidden(request: Request, exc: Exception) -> Response:
    return error_page(
        request,
        403,
        "Access denied",
        "This page is for administrators. Ask an administrator of your company for access.",
    )


async def csrf_failed(request: Request, exc: Exception) -> Response:
    return error_page(
        request,
        403,
        "The form has expired",
        "The form was not sent from this site or has expired. "
        "Go back, reload the page and try again.",
    )


async def not_found(request: Request, exc: Exception) -> Response:
    return error_page(request, 404, "Not found", "The page or record does not exist.")
