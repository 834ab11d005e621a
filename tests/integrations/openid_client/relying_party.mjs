// A relying party built on panva's openid-client, driven line by line by
// tests/integrations/test_openid_client.py.
//
// argv[2] is a JSON object: { issuer, client_id, client_secret?, redirect_uri,
// post_logout_redirect_uri, scope, dpop, par }. The script prints one JSON
// line per step on stdout and reads the person's answer on stdin:
//   -> {"authorize": url}            the URL the person's browser is sent to
//   <- the callback URL the server redirected the browser to
//   -> {"result": {...}}             what the library saw, for the test to assert
// Any failure prints {"error": {name, code, message, status}} and exits 1, so
// the test shows what the library refused and why.
import * as client from "openid-client";
import { createInterface } from "node:readline";

const config = JSON.parse(process.argv[2]);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (value) => process.stdout.write(JSON.stringify(value) + "\n");

async function nextLine() {
  const { value, done } = await lines.next();
  if (done) throw new Error("stdin closed before the callback URL arrived");
  return value.trim();
}

async function run() {
  const auth = config.client_secret
    ? client.ClientSecretBasic(config.client_secret)
    : client.None();
  // Discovery reads /.well-known/openid-configuration and checks its issuer.
  const server = await client.discovery(
    new URL(config.issuer),
    config.client_id,
    undefined,
    auth,
    { execute: [client.allowInsecureRequests] },
  );
  const dpopKeys = config.dpop ? await client.randomDPoPKeyPair("ES256") : undefined;
  const dpop = dpopKeys ? client.getDPoPHandle(server, dpopKeys) : undefined;
  const options = dpop ? { DPoP: dpop } : {};

  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const parameters = {
    redirect_uri: config.redirect_uri,
    scope: config.scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    nonce,
    state,
  };
  const authorize = config.par
    ? await client.buildAuthorizationUrlWithPAR(server, parameters, options)
    : client.buildAuthorizationUrl(server, parameters);
  say({ authorize: authorize.href });

  const callback = new URL(await nextLine());
  // Checks state, iss (RFC 9207), the ID token's signature, iss, aud, exp,
  // iat, nonce and at_hash, and the DPoP binding of the token response.
  const tokens = await client.authorizationCodeGrant(
    server,
    callback,
    { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true },
    undefined,
    options,
  );
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(server, tokens.access_token, claims.sub, options);
  const me = await client.fetchProtectedResource(
    server,
    tokens.access_token,
    new URL("/api/v1/me", config.issuer),
    "GET",
    undefined,
    undefined,
    options,
  );
  const meBody = await me.json();
  // The same token sent as a plain bearer token, as a thief without the key would.
  const asBearer = await fetch(new URL("/api/v1/me", config.issuer), {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  const refreshed = await client.refreshTokenGrant(server, tokens.refresh_token, undefined, options);
  const endSession = client.buildEndSessionUrl(server, {
    id_token_hint: refreshed.id_token ?? tokens.id_token,
    post_logout_redirect_uri: config.post_logout_redirect_uri,
    state: "signed-out-state",
  });
  say({
    result: {
      token_type: tokens.token_type,
      claims,
      userinfo,
      me: { status: me.status, body: meBody },
      as_bearer: { status: asBearer.status, www_authenticate: asBearer.headers.get("www-authenticate") },
      refreshed: {
        token_type: refreshed.token_type,
        claims: refreshed.claims() ?? null,
        rotated: refreshed.refresh_token !== tokens.refresh_token,
      },
      end_session: endSession.href,
    },
  });
}

run()
  .then(() => process.exit(0))
  .catch((error) => {
    say({
      error: {
        name: error.name,
        code: error.code ?? null,
        message: error.message,
        status: error.status ?? null,
        cause: error.cause ? String(error.cause?.message ?? error.cause) : null,
      },
    });
    process.exit(1);
  });
