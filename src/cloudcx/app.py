"""The one place that wires the application: routers, grants, handlers, middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from cloudcx import __version__, errors
from cloudcx.accounts import api as users_api
from cloudcx.api import docs, me, openapi
from cloudcx.api import errors as api_errors
from cloudcx.api.problems import Problem
from cloudcx.api.ratelimit import RateLimiter
from cloudcx.apikeys import console as console_api_keys
from cloudcx.audit import api as audit_api
from cloudcx.audit import console as audit_console
from cloudcx.audit import events as audit_events
from cloudcx.config import Settings
from cloudcx.console import account as console_account
from cloudcx.console import auth as console_auth
from cloudcx.console import (
    connected_apps,
    new_password,
    oauth_client_edit,
    oauth_client_secret,
    signing_keys,
    two_factor_account,
    two_factor_admin,
)
from cloudcx.console import contacts as console_contacts
from cloudcx.console import errors as console_errors
from cloudcx.console import home as console_home
from cloudcx.console import oauth_clients as console_oauth_clients
from cloudcx.console import tickets as console_tickets
from cloudcx.console import two_factor as console_two_factor
from cloudcx.console import user_edit as console_user_edit
from cloudcx.console import users as console_users
from cloudcx.console.records import RecordNotFound
from cloudcx.console.web import CsrfFailed, Forbidden, LoginRequired, PasswordChangeRequired
from cloudcx.contacts import api as contacts_api
from cloudcx.core.headers import SecurityHeadersMiddleware
from cloudcx.core.responses import OrjsonResponse
from cloudcx.oauth import (
    authorize_endpoint,
    end_session,
    introspection,
    metadata,
    par_endpoint,
    revocation_endpoint,
    userinfo,
)
from cloudcx.oauth import routes as oauth_routes
from cloudcx.oauth.errors import BearerError, OAuthError
from cloudcx.ops import wiring as ops
from cloudcx.platform import Platform
from cloudcx.security.limits import BodyLimitMiddleware
from cloudcx.tenancy.middleware import TenantMiddleware
from cloudcx.tickets import api as tickets_api
from cloudcx.tickets import events_api
from cloudcx.tickets import messages as messages_api
from cloudcx.webhooks import api as webhooks_api
from cloudcx.webhooks import console as webhooks_console
from cloudcx.webhooks import console_log as webhooks_console_log
from cloudcx.webhooks import openapi as webhooks_openapi

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Requests are matched against routers in this order: the busiest come first.
ROUTERS = (
    me.router,
    oauth_routes.router,
    introspection.router,
    tickets_api.router,
    messages_api.router,
    events_api.router,
    contacts_api.router,
    users_api.router,
    webhooks_api.router,
    revocation_endpoint.router,
    par_endpoint.router,
    authorize_endpoint.router,
    metadata.router,
    userinfo.router,
    end_session.router,
    docs.router,
    console_auth.router,
    console_home.router,
    console_two_factor.router,
    new_password.router,
    two_factor_account.router,
    two_factor_admin.router,
    console_oauth_clients.router,
    oauth_client_edit.router,
    oauth_client_secret.router,
    connected_apps.router,
    signing_keys.router,
    audit_api.router,
    audit_console.router,
    console_account.router,
    console_tickets.router,
    console_contacts.router,
    console_users.router,
    console_user_edit.router,
    console_api_keys.router,
    webhooks_console.router,
    webhooks_console_log.router,
)


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    platform = platform or Platform.build(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await platform.start()
        try:
            async with ops.running(app):
                yield
        finally:
            await platform.stop()

    app = FastAPI(
        title="CloudCX API",
        version=__version__,
        summary="Customer-experience platform API, reached by OAuth 2.0 clients.",
        default_response_class=OrjsonResponse,
        lifespan=lifespan,
        docs_url=None,  # served by api.docs from local assets
        redoc_url=None,
        # FastAPI's OpenTelemetry hooks ask on every request whether a provider is
        # configured; the platform exports its own Prometheus metrics instead.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.platform = platform
    app.state.ratelimiter = RateLimiter.from_settings(platform.settings)
    app.state.revoke_limiter = RateLimiter.from_settings(
        platform.settings, platform.settings.revoke_rate_limit
    )
    app.state.par_limiter = RateLimiter.from_settings(
        platform.settings, platform.settings.par_rate_limit
    )
    for router in ROUTERS:
        app.include_router(router)
    app.webhooks.include_router(webhooks_openapi.router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    openapi.install(app)
    _add_handlers(app)
    app.add_middleware(BodyLimitMiddleware, settings=platform.settings)
    app.add_middleware(TenantMiddleware, directory=platform.tenants, settings=platform.settings)
    app.add_middleware(SecurityHeadersMiddleware)
    ops.install(app, platform)  # /healthz, /readyz, /metrics; request ids, metrics, access log
    return app


def _add_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OAuthError, audit_events.audited(oauth_routes.oauth_error_handler))
    app.add_exception_handler(BearerError, api_errors.bearer_error_handler)
    app.add_exception_handler(Problem, api_errors.problem_handler)
    app.add_exception_handler(RequestValidationError, errors.validation_error)
    app.add_exception_handler(HTTPException, errors.http_error)
    app.add_exception_handler(LoginRequired, console_errors.login_required)
    app.add_exception_handler(PasswordChangeRequired, console_errors.password_change_required)
    app.add_exception_handler(Forbidden, console_errors.forbidden)
    app.add_exception_handler(CsrfFailed, console_errors.csrf_failed)
    app.add_exception_handler(console_oauth_clients.ClientNotFound, console_errors.not_found)
    app.add_exception_handler(RecordNotFound, console_errors.not_found)
    app.add_exception_handler(ClientDisconnect, errors.client_disconnected)
    app.add_exception_handler(Exception, errors.server_error)
