"""The JavaScript that runs inside Postman (and newman) for ``api.postman``.

Postman runs these in its sandbox: ``pm`` is its API, ``require('crypto-js')``
one of the libraries it ships. ``@name`` placeholders are filled with JSON
literals by :func:`render`, so no value can break out of its string (``$``
belongs to Postman's own ``{{$guid}}``).
"""

from __future__ import annotations

import json
import re
from string import Template

# Collection level, before every request: any request under /api/ can be sent
# on its own. Without a current token it first runs the guide's password grant.
GET_TOKEN_WHEN_NEEDED = """\
// Without a current access token, get one first with the guide's password grant
// (the "OAuth 2.0" folder shows the same request step by step).
const isApi = pm.request.url.getPath().indexOf('/api/') === 0;
const expiresAt = Number(pm.collectionVariables.get('access_token_expires_at') || 0);
if (isApi && (!pm.collectionVariables.get('access_token') || Date.now() > expiresAt - 30000)) {
    pm.sendRequest({
        url: pm.variables.replaceIn('{{base_url}}/oauth/token'),
        method: 'POST',
        body: {
            mode: 'urlencoded',
            urlencoded: [
                { key: 'email', value: pm.variables.get('email') },
                { key: 'password', value: pm.variables.get('password') },
                { key: 'grant_type', value: 'password' },
                { key: 'client_id', value: pm.variables.get('client_id') }
            ]
        }
    }, function (err, res) {
        if (err || res.code !== 200) {
            console.error('No access token: ' + (err || res.text()));
            return;
        }
        const token = res.json();
        pm.collectionVariables.set('access_token', token.access_token);
        pm.collectionVariables.set('access_token_expires_at',
            String(Date.now() + token.expires_in * 1000));
    });
}
"""

# A token answer (RFC 6749 §5.1), kept in collection variables named by @variable.
TOKEN_ANSWER = """\
pm.test(@title, function () {
    pm.response.to.have.status(200);
    const token = pm.response.json();
    pm.expect(token.token_type).to.eql('Bearer');
    pm.expect(token.access_token).to.be.a('string').that.is.not.empty;
    pm.expect(token.expires_in).to.be.above(0);
?scope    pm.expect(token.scope).to.eql(@scope);
    pm.collectionVariables.set(@variable, token.access_token);
    pm.collectionVariables.set(@variable + '_expires_at',
        String(Date.now() + token.expires_in * 1000));
    if (token.refresh_token) {
        pm.collectionVariables.set(@refresh, token.refresh_token);
    }
});
"""

# An answer with ``@status`` (and, for bodies, a JSON media type); a created
# record's id goes into the collection variable ``@variable``.
STATUS = """\
pm.test(@title, function () {
    pm.response.to.have.status(@status);
?media    pm.expect(pm.response.headers.get('Content-Type')).to.include(@media);
?variable    pm.collectionVariables.set(@variable, pm.response.json().id);
});
"""

# RFC 6750 §3: a refusal names its cause in WWW-Authenticate.
BEARER_REFUSAL = """\
pm.test(@title, function () {
    pm.response.to.have.status(@status);
    pm.expect(pm.response.headers.get('Content-Type')).to.include('application/problem+json');
    const challenge = pm.response.headers.get('WWW-Authenticate') || '';
    pm.expect(challenge.indexOf('Bearer')).to.eql(0);
?error    pm.expect(challenge).to.include('error="' + @error + '"');
});
"""

# Skips the request (and tells why) until the variable it needs is set.
NEEDS_VARIABLE = """\
if (!pm.variables.get(@variable)) {
    console.log(@why);
    pm.execution.skipRequest();
}
"""

# RFC 7636 §4.1-4.2: a fresh code_verifier, its S256 code_challenge, and a state.
START_CODE_FLOW = """\
const cryptoJs = require('crypto-js');
const verifier = pm.variables.replaceIn('{{$guid}}{{$guid}}').replace(/-/g, '');
const challenge = cryptoJs.SHA256(verifier).toString(cryptoJs.enc.Base64)
    .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
pm.collectionVariables.set('code_verifier', verifier);
pm.collectionVariables.set('code_challenge', challenge);
pm.collectionVariables.set('oauth_state', pm.variables.replaceIn('{{$guid}}'));
pm.collectionVariables.set('authorization_code', '');
pm.collectionVariables.set('consent_csrf', '');
"""

# The forms of the Control Panel carry a CSRF token; keep the page's in @variable.
FORM_PAGE = """\
pm.test(@title, function () {
    pm.expect(pm.response.code).to.be.oneOf(@statuses);
});
const found = pm.response.text().match(/name="csrf_token" value="([^"]+)"/);
pm.collectionVariables.set(@variable, found ? found[1] : '');
"""

SIGNED_IN = """\
pm.test('Signed in: 303 to the Control Panel', function () {
    pm.response.to.have.status(303);
    pm.expect(pm.response.headers.get('Location'),
        'a second sign-in step (two-factor) cannot be scripted').to.not.include('/login');
});
"""

# RFC 6749 §4.1.2 and RFC 9207: the redirect carries the code, our state and the issuer.
_KEEP_CODE = """\
function keepCode(status) {
    pm.test(status + ': back to the redirect URI with a code, our state and the issuer',
            function () {
        pm.response.to.have.status(status);
        const location = pm.response.headers.get('Location') || '';
        const redirect = pm.variables.get('redirect_uri');
        pm.expect(location.indexOf(redirect + '?')).to.eql(0);
        const query = {};
        location.slice(redirect.length + 1).split('&').forEach(function (pair) {
            const parts = pair.split('=');
            query[decodeURIComponent(parts[0])] = decodeURIComponent(parts[1] || '');
        });
        pm.expect(query.state).to.eql(pm.collectionVariables.get('oauth_state'));
        pm.expect(query.iss).to.eql(pm.variables.get('base_url'));
        pm.expect(query.code).to.be.a('string').that.is.not.empty;
        pm.collectionVariables.set('authorization_code', query.code);
    });
}
"""

CODE_REDIRECT = _KEEP_CODE + "keepCode(303);\n"

CONSENT_PAGE = (
    _KEEP_CODE
    + """\
if (pm.response.code === 302) {
    keepCode(302);  // the client skips consent for a user who already granted the scopes
} else {
    pm.test('200: the consent page names the app', function () {
        pm.response.to.have.status(200);
        pm.expect(pm.response.text()).to.include('wants to access your account');
    });
    const found = pm.response.text().match(/name="csrf_token" value="([^"]+)"/);
    pm.collectionVariables.set('consent_csrf', found ? found[1] : '');
}
"""
)

SKIP_WITHOUT_CONSENT_FORM = """\
if (!pm.collectionVariables.get('consent_csrf')) {
    pm.execution.skipRequest();  // the code came straight from the authorization request
}
"""

ME_WITH_USER = """\
pm.test('200: the token acts for the signed-in user through this client', function () {
    pm.response.to.have.status(200);
    const me = pm.response.json();
    pm.expect(me.user).to.be.an('object');
    pm.expect(me.client.client_id).to.eql(pm.variables.get('client_id'));
});
"""

REFRESH_ROTATES = """\
pm.test('200: a new access token and a new refresh token (rotation)', function () {
    pm.response.to.have.status(200);
    const token = pm.response.json();
    pm.expect(token.access_token).to.be.a('string').that.is.not.empty;
    pm.expect(token.refresh_token).to.not.eql(pm.collectionVariables.get('used_refresh_token'));
    pm.collectionVariables.set('code_access_token', token.access_token);
    pm.collectionVariables.set('code_refresh_token', token.refresh_token);
});
"""

REMEMBER_REFRESH_TOKEN = """\
if (!pm.collectionVariables.get('code_refresh_token')) {
    console.log('The client is not allowed the Refresh token grant: nothing to refresh.');
    pm.execution.skipRequest();
}
pm.collectionVariables.set('used_refresh_token', pm.collectionVariables.get('code_refresh_token'));
"""

INTROSPECTION = """\
pm.test('200: the token is active and was issued to this client', function () {
    pm.response.to.have.status(200);
    const answer = pm.response.json();
    pm.expect(answer.active).to.eql(true);
    pm.expect(answer.client_id).to.eql(pm.variables.get('confidential_client_id'));
});
"""

METADATA = """\
pm.test('200: the metadata names this server as the issuer', function () {
    pm.response.to.have.status(200);
    const metadata = pm.response.json();
    pm.expect(metadata.issuer).to.eql(pm.variables.get('base_url'));
    pm.expect(metadata.token_endpoint).to.eql(pm.variables.get('base_url') + '/oauth/token');
});
"""

JWKS = """\
pm.test('200: at least one public signing key', function () {
    pm.response.to.have.status(200);
    pm.expect(pm.response.json().keys).to.be.an('array').that.is.not.empty;
});
"""


class _Script(Template):
    delimiter = "@"


_OPTIONAL = re.compile(r"\?(\w+)(.*)")


def render(template: str, **values: object) -> list[str]:
    """``template`` with each ``@name`` as a JSON literal, as Postman's ``exec`` lines.

    A line starting ``?name`` is kept only when ``name`` is not None.
    """
    lines = []
    for line in template.splitlines():
        optional = _OPTIONAL.fullmatch(line)
        if optional is None:
            lines.append(line)
        elif values[optional[1]] is not None:
            lines.append(optional[2])
    literals = {name: json.dumps(value) for name, value in values.items()}
    return _Script("\n".join(lines)).substitute(literals).splitlines()
