"""Citizens logged in through the e-ID provider (VNeID, an OpenID Connect provider): rules without I/O.

A citizen's identity comes from the provider's verified ID token, never from a form: the citizen ID
(số định danh cá nhân) of a dossier they file is the token's, and a different one in the form is refused.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from services.intake.domain.dossier import citizen_id_problem

#: Vietnamese labels of the statuses a citizen sees (trạng thái hồ sơ)
STATUS_LABELS_VI = {
    "received": "Đã tiếp nhận",
    "routed": "Đã chuyển đến cơ quan có thẩm quyền",
    "parked": "Chờ cơ quan có thẩm quyền",
    "accepted": "Cơ quan đã nhận hồ sơ",
    "in_process": "Đang giải quyết",
    "supplement_requested": "Cần bổ sung hồ sơ",
    "supplement_received": "Đã nhận hồ sơ bổ sung",
    "transferred": "Đã chuyển cơ quan khác giải quyết",
    "refused": "Bị từ chối",
    "result_ready": "Đã có kết quả",
    "returned": "Đã trả kết quả",
    "withdrawn": "Đã rút hồ sơ",
}


@dataclass(frozen=True)
class CitizenIdentity:
    """Who the provider says logged in: the verified citizen ID, the provider's subject and the name."""

    citizen_id: str
    subject: str
    issuer: str
    name: str | None
    authenticated_at: datetime


@dataclass(frozen=True)
class LoginAttempt:
    """What one authorisation request needs back at the callback: state, nonce and the PKCE verifier."""

    state: str
    nonce: str
    code_verifier: str

    @property
    def code_challenge(self) -> str:
        """The S256 PKCE challenge of the verifier (RFC 7636 §4.2)."""
        return pkce_challenge(self.code_verifier)


def new_login_attempt() -> LoginAttempt:
    """Fresh random state, nonce and a 43+ character PKCE verifier (RFC 7636 §4.1)."""
    return LoginAttempt(
        state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32), code_verifier=secrets.token_urlsafe(48)
    )


def pkce_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def citizen_id_claim_problem(value: object, *, today: date) -> str | None:
    """Why a token's citizen-ID claim cannot be a citizen ID (None = it can)."""
    if not isinstance(value, str):
        return "the citizen ID claim is missing or not a string"
    problem = citizen_id_problem(value, today=today)
    return f"the citizen ID claim is not a valid citizen ID ({problem})" if problem else None


def safe_return_path(value: str | None) -> str:
    """Where to go after login: a path on this site only (an open redirect would hand the session away)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/citizen"


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered something that is not OpenID Connect (→ 503)."""


class LoginRejected(Exception):
    """The provider's answer must not log anyone in; the reason goes to the log only (→ 401)."""
