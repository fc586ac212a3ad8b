// passgate from another origin: tokens bound to a key that never leaves this browser (DPoP, RFC 9449).
// The private key is made non-extractable and kept in IndexedDB; the tokens live in this closure only.
"use strict";
(() => {
  const api = new URLSearchParams(location.search).get("api") || "http://127.0.0.1:8000";
  let tokens = null; // {access, refresh}
  let refreshTimer = 0;
  const $ = (id) => document.getElementById(id);
  const utf8 = (text) => new TextEncoder().encode(text);
  const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  function request(idb) {
    return new Promise((resolve, reject) => { idb.onsuccess = () => resolve(idb.result); idb.onerror = () => reject(idb.error); });
  }

  async function keyPair() {
    const open = indexedDB.open("passgate-spa", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("keys");
    const db = await request(open);
    let pair = await request(db.transaction("keys").objectStore("keys").get("dpop"));
    if (!pair) { // extractable=false: script can sign with the key but never read it
      pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
      await request(db.transaction("keys", "readwrite").objectStore("keys").put(pair, "dpop"));
    }
    return pair;
  }

  async function proof(method, url, accessToken) {
    const pair = await keyPair();
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
    const header = { typ: "dpop+jwt", alg: "ES256", jwk: { kty, crv, x, y } };
    const claims = { jti: crypto.randomUUID(), htm: method, htu: url, iat: Math.floor(Date.now() / 1000) };
    if (accessToken) claims.ath = b64url(await crypto.subtle.digest("SHA-256", utf8(accessToken)));
    const input = `${b64url(utf8(JSON.stringify(header)))}.${b64url(utf8(JSON.stringify(claims)))}`;
    const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, utf8(input));
    return `${input}.${b64url(signature)}`; // WebCrypto's ECDSA signature is r||s, as JWS wants
  }

  async function call(method, path, body, bound = true) {
    const url = api + path;
    const headers = { DPoP: await proof(method, url, bound && tokens ? tokens.access : undefined) };
    if (bound && tokens) headers.Authorization = `DPoP ${tokens.access}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const answer = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = answer.status === 204 ? null : await answer.json();
    if (!answer.ok) throw new Error(data && data.code ? data.code : String(answer.status));
    return data;
  }

  async function tokenRequest(path, body) {
    const pair = await call("POST", path, body, false);
    if (pair.token_type !== "DPoP") throw new Error("the server did not bind the tokens");
    tokens = { access: pair.access_token, refresh: pair.refresh_token };
    clearTimeout(refreshTimer); // refresh before the access token expires
    refreshTimer = setTimeout(() => tokenRequest("/api/token/refresh", { refresh_token: tokens.refresh })
      .then(show, fail), Math.max(1, pair.expires_in - 30) * 1000);
  }

  const fail = (error) => { $("status").textContent = `Refused: ${error.message}`; };
  const item = (text) => Object.assign(document.createElement("li"), { textContent: text });

  async function show() {
    $("status").textContent = "";
    const posts = await fetch(`${api}/api/posts`).then((answer) => answer.json());
    $("posts").replaceChildren(...posts.map((p) => item(`${p.title} (${p.author.username || "gone"})`)));
    $("signed-in").hidden = !tokens;
    $("login").hidden = !!tokens;
    if (!tokens) return;
    const me = await call("GET", "/api/me");
    $("who").textContent = `Signed in as ${me.username}, ${me.bound ? "with a DPoP-bound token" : "unbound"}`;
    const devices = await call("GET", "/api/sessions");
    $("devices").replaceChildren(...devices.map((d) => {
      const li = item(`${d.user_agent || "unknown"} (${d.kind}${d.bound ? ", key-bound" : ""})${d.current ? " this one" : ""} `);
      const revoke = Object.assign(document.createElement("button"), { textContent: "Revoke", className: "revoke" });
      revoke.onclick = () => call("DELETE", `/api/sessions/${d.id}`).then(() => (d.current ? forget() : show())).catch(fail);
      li.append(revoke);
      return li;
    }));
  }

  function forget() { tokens = null; clearTimeout(refreshTimer); return show(); }

  $("login").onsubmit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    tokenRequest("/api/token", { username: form.get("username"), password: form.get("password") }).then(show, fail);
  };
  $("post").onsubmit = (event) => {
    event.preventDefault();
    call("POST", "/api/posts", { title: new FormData(event.target).get("title") })
      .then(() => { event.target.reset(); return show(); }).catch(fail);
  };
  $("logout").onclick = () => call("POST", "/api/token/revoke").then(forget, fail);
  show().catch(fail);
})();
