"""Every error passgate raises on purpose has its HTTP status here, and answers in problem+json."""

from __future__ import annotations

import inspect
import json

import pytest

from passgate import errors
from passgate.web.problems import CODES, PROBLEM_SCHEMA, from_error, http_status

EXPECTED = {
    "ClientGone": 499, "AuthError": 401, "InvalidCredentials": 401, "WrongPassword": 403, "TokenInvalid": 401,
    "TokenExpired": 401, "SessionRevoked": 401, "RefreshReused": 401, "CsrfFailed": 403, "Forbidden": 403,
    "AccountDisabled": 403, "Refused": 403,
    "NotFound": 404, "UsernameTaken": 409, "StoreUnavailable": 503, "RequestError": 422,
    "ValidationFailed": 422, "MalformedRequest": 400, "PayloadTooLarge": 413, "UnsupportedMediaType": 415,
    "PassgateError": 500, "ConfigError": 500, "EmailTaken": 409, "MailTokenInvalid": 400, "MailTokenExpired": 400,
    "MailUnavailable": 503, "InvalidDpopProof": 401, "UseDpopNonce": 401, "MfaRequired": 401, "InvalidCode": 401,
    "WrongCode": 403, "MfaTokenInvalid": 401, "WebauthnFailed": 401,
    "InvalidDbscProof": 401, "BoundCookieRequired": 401, "DbscChallenge": 403,
}


def every_error() -> list[type[errors.PassgateError]]:
    return [kind for _, kind in inspect.getmembers(errors, inspect.isclass)
            if issubclass(kind, errors.PassgateError) and kind is not errors.RateLimited]


@pytest.mark.parametrize("kind", every_error(), ids=lambda kind: kind.__name__)
def test_each_error_has_its_status(kind: type[errors.PassgateError]) -> None:
    assert http_status(kind("detail")) == EXPECTED[kind.__name__]


def test_a_bad_dpop_proof_is_a_400_at_a_token_endpoint_and_always_challenges_for_dpop() -> None:
    for error, status in ((errors.InvalidDpopProof("why"), 401), (errors.InvalidDpopProof(token_request=True), 400)):
        answer = from_error(error)
        assert answer.status_code == status
        assert answer.headers["www-authenticate"] == 'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"'
        assert json.loads(bytes(answer.body))["code"] == "invalid_dpop_proof"
        assert "why" not in bytes(answer.body).decode()


def test_a_refused_passkey_is_a_400_at_registration_and_never_says_why() -> None:
    for error, status in ((errors.WebauthnFailed("origin http://evil"), 401),
                          (errors.WebauthnFailed("origin http://evil", registration=True), 400)):
        answer = from_error(error)
        assert answer.status_code == status
        assert ("www-authenticate" in answer.headers) == (status == 401)
        assert json.loads(bytes(answer.body))["code"] == "webauthn_failed"
        assert "evil" not in bytes(answer.body).decode()  # the reason is logged, not answered


def test_a_dbsc_challenge_is_a_403_with_the_challenge_in_its_header_only() -> None:
    answer = from_error(errors.DbscChallenge("c-h-a", "login1"))
    assert answer.status_code == 403
    assert answer.headers["secure-session-challenge"] == '"c-h-a";id="login1"'
    assert "c-h-a" not in bytes(answer.body).decode()
    refused = from_error(errors.InvalidDbscProof("signed by another key"))
    assert refused.status_code == 401 and "www-authenticate" in refused.headers
    assert "another key" not in bytes(refused.body).decode()


def test_the_error_tree_in_the_docstring_names_every_error() -> None:
    for kind in [*every_error(), errors.RateLimited]:
        assert kind.__name__ in (errors.__doc__ or ""), kind.__name__


def test_a_problem_has_the_contract_members_and_headers() -> None:
    limited = from_error(errors.RateLimited(7))
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    assert limited.headers["content-type"] == "application/problem+json"
    body = json.loads(bytes(limited.body))
    assert set(body) == {"type", "title", "status", "detail", "code"} and body["code"] == "rate_limited"
    wrong = from_error(errors.WrongPassword("the password is wrong"))
    assert wrong.status_code == 403 and json.loads(bytes(wrong.body))["code"] == "invalid_credentials"
    assert "www-authenticate" in from_error(errors.SessionRevoked()).headers


def test_the_documented_codes_are_every_code_a_client_can_see() -> None:
    # 500 and 499 are never documented: a 500 is a bug, and a 499 reaches no client.
    seen = {kind.code for kind in every_error() if http_status(kind("detail")) not in (499, 500)}
    seen |= {errors.RateLimited.code, "method_not_allowed"}
    assert set(CODES) == seen
    assert PROBLEM_SCHEMA["properties"]["code"]["enum"] == list(CODES)


def test_mfa_required_carries_its_token_and_methods_and_nothing_else_does() -> None:
    answer = from_error(errors.MfaRequired("t" * 43, ("totp", "recovery_code")))
    body = json.loads(bytes(answer.body))
    assert answer.status_code == 401 and "www-authenticate" in answer.headers
    assert body["code"] == "mfa_required" and body["mfa_token"] == "t" * 43
    assert body["methods"] == ["totp", "recovery_code"]
    assert "t" * 43 not in repr(errors.MfaRequired("t" * 43))
    for error in (errors.InvalidCode("wrong"), errors.MfaTokenInvalid("spent")):
        assert set(json.loads(bytes(from_error(error).body))) == {"type", "title", "status", "detail", "code"}
    assert json.loads(bytes(from_error(errors.WrongCode("x")).body))["code"] == "mfa_invalid"
