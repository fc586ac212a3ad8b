// Passkeys on the board: a few lines around navigator.credentials (WebAuthn Level 3), no build step.
// The API answers the options' JSON forms and takes the credentials' toJSON(); the browser does the rest.
"use strict";

async function call(path, body, csrf) {
  const headers = { "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const answer = await fetch(path, { method: "POST", headers, body: JSON.stringify(body || {}) });
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(data.detail || "The passkey was not accepted.");
  return data;
}

function refuse(form, error) {
  const shown = form.querySelector(".error");
  shown.textContent = error.name === "NotAllowedError" ? "The passkey was not used (cancelled, or timed out)."
    : error.message;
  shown.hidden = false;
}

const add = document.getElementById("passkey-add");
if (add) add.addEventListener("submit", async (event) => {
  event.preventDefault();
  const csrf = add.elements.csrf_token.value;
  try {
    const options = await call("/api/webauthn/register/options", {}, csrf);
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey);
    const credential = await navigator.credentials.create({ publicKey });
    await call("/api/webauthn/register", { ...credential.toJSON(), name: add.elements.name.value }, csrf);
    location.assign("/account/security?added=1");
  } catch (error) { refuse(add, error); }
});

const login = document.getElementById("passkey-login");
if (login) login.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const options = await call("/api/webauthn/login/options");
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey);
    const credential = await navigator.credentials.get({ publicKey });
    await call("/api/webauthn/login?as=session", credential.toJSON());
    location.assign(login.elements.next.value || "/");
  } catch (error) { refuse(login, error); }
});
