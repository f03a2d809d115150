"""A local stand-in for a Supabase project's Auth (GoTrue) and Storage HTTP APIs.

No real Supabase can run here (no internet, no Docker images), so this server answers the
requests supabase-py 2.34.1 sends, with the paths, headers, status codes and JSON shapes of
the real services (read from supabase_auth/_sync/gotrue_client.py, supabase_auth/helpers.py,
storage3/_sync/file_api.py, and GoTrue / storage-api's documented responses). One port serves
both, as Supabase's API gateway does: `/auth/v1/...` and `/storage/v1/...`.

Auth (GoTrue):
- `POST /auth/v1/signup` `{email, password, data, gotrue_meta_security}` → a session (auto
  confirm) or the bare user (confirmation e-mail required); 422 `user_already_exists`,
  422 `weak_password` with `weak_password.reasons`.
- `POST /auth/v1/token?grant_type=password` `{email, password, ...}` → a session; 400
  `invalid_credentials` / `email_not_confirmed`.
- `GET /auth/v1/user` with `Authorization: Bearer <access token>` → the user; 403 `bad_jwt`.
- `GET /auth/v1/.well-known/jwks.json` → the public signing keys (`{"keys": []}` for a
  project that signs with the shared HS256 secret only).
Errors use the 2024-01-01 API version's body `{"code": <error code>, "message": ...}` and the
`X-Supabase-Api-Version` response header when the client asks for that version (supabase-py
does), else the legacy `{"code": <status>, "error_code": ..., "msg": ...}`.
Access tokens carry GoTrue's claims: iss, sub, aud="authenticated", exp, iat, email, phone,
app_metadata, user_metadata, role="authenticated", aal, amr, session_id, is_anonymous; signed
HS256 with the JWT secret, or ES256 / RS256 with a `kid` from the JWKS.

Storage (storage-api), bucket `message_attachments` (private, the migration's MIME allow-list
and size limit):
- `POST /storage/v1/object/<bucket>/<path>` multipart (`cacheControl`, `file` with its
  Content-Type), `x-upsert` → `{"Id", "Key": "<bucket>/<path>"}`; 400 with `statusCode`
  "409" Duplicate, "404" Bucket not found, "415" invalid_mime_type, "413" too large, "403"
  for callers other than the service role (the policies are not reproduced here: the app
  writes with the service-role key).
- `POST /storage/v1/object/sign/<bucket>/<path>` `{"expiresIn", "download"?}` →
  `{"signedURL": "/object/sign/<bucket>/<path>?token=<jwt>"}`; "404" not_found.
- `GET /storage/v1/object/sign/<bucket>/<path>?token=<jwt>[&download=<name>]` → the bytes
  with their Content-Type (and `Content-Disposition: attachment` with `download`); 400
  InvalidJWT when the token is expired, forged or for another object. No API key needed: a
  signed URL is its own credential.
- `DELETE /storage/v1/object/<bucket>` `{"prefixes": [...]}` → the deleted objects.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION = "2024-01-01"
BUCKET = "message_attachments"
BUCKET_LIMIT = 26214400
BUCKET_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/csv",
    "text/plain",
}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class AuthUser:
    id: str
    email: str
    password: str
    user_metadata: dict[str, Any]
    app_metadata: dict[str, Any]
    confirmed: bool
    created_at: str = field(default_factory=_now_iso)

    def to_json(self) -> dict[str, Any]:
        confirmed_at = self.created_at if self.confirmed else None
        meta = {
            **self.user_metadata,
            "email": self.email,
            "email_verified": self.confirmed,
            "phone_verified": False,
            "sub": self.id,
        }
        return {
            "id": self.id,
            "aud": "authenticated",
            "role": "authenticated",
            "email": self.email,
            "email_confirmed_at": confirmed_at,
            "phone": "",
            "confirmation_sent_at": None if self.confirmed else self.created_at,
            "confirmed_at": confirmed_at,
            "last_sign_in_at": confirmed_at,
            "app_metadata": {"provider": "email", "providers": ["email"], **self.app_metadata},
            "user_metadata": meta,
            "identities": [
                {
                    "identity_id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.id)),
                    "id": self.id,
                    "user_id": self.id,
                    "identity_data": meta,
                    "provider": "email",
                    "last_sign_in_at": self.created_at,
                    "created_at": self.created_at,
                    "updated_at": self.created_at,
                    "email": self.email,
                }
            ],
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "is_anonymous": False,
        }


@dataclass
class StoredObject:
    data: bytes
    content_type: str
    cache_control: str
    owner_role: str


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class SupabaseStandIn:
    """The project: users, signing keys, the bucket's objects, and every request received."""

    def __init__(self, *, jwt_secret: str, signing: str = "ES256") -> None:
        self.jwt_secret = jwt_secret
        self.signing = signing  # "HS256", "ES256" or "RS256": how new access tokens are signed
        self.autoconfirm = True
        self.token_ttl = 3600
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_kid = f"ec-{uuid.uuid4().hex[:8]}"
        self.rsa_kid = f"rsa-{uuid.uuid4().hex[:8]}"
        self.anon_key = jwt.encode(
            {"iss": "supabase", "role": "anon", "iat": int(time.time()), "exp": 2_000_000_000},
            jwt_secret,
            algorithm="HS256",
        )
        self.service_role_key = jwt.encode(
            {
                "iss": "supabase",
                "role": "service_role",
                "iat": int(time.time()),
                "exp": 2_000_000_000,
            },
            jwt_secret,
            algorithm="HS256",
        )
        self.users: dict[str, AuthUser] = {}
        self.buckets: dict[str, dict[str, StoredObject]] = {BUCKET: {}}
        self.requests: list[Recorded] = []
        # An outage: every request's connection is dropped without an answer.
        self.outage = False
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> SupabaseStandIn:
        standin = self

        class Handler(_Handler):
            project = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- helpers for tests ----------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/v1"

    def jwks(self) -> dict[str, Any]:
        ec_jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.ec_key.public_key(), as_dict=True)
        rsa_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa_key.public_key(), as_dict=True)
        return {
            "keys": [
                {**ec_jwk, "kid": self.ec_kid, "alg": "ES256", "use": "sig", "key_ops": ["verify"]},
                {
                    **rsa_jwk,
                    "kid": self.rsa_kid,
                    "alg": "RS256",
                    "use": "sig",
                    "key_ops": ["verify"],
                },
            ]
        }

    def create_user(
        self,
        email: str,
        password: str = "supabase-password-1",
        *,
        user_metadata: dict[str, Any] | None = None,
        app_metadata: dict[str, Any] | None = None,
        confirmed: bool = True,
    ) -> AuthUser:
        user = AuthUser(
            id=str(uuid.uuid4()),
            email=email.lower(),
            password=password,
            user_metadata=dict(user_metadata or {}),
            app_metadata=dict(app_metadata or {}),
            confirmed=confirmed,
        )
        with self.lock:
            self.users[user.email] = user
        return user

    def claims(self, user: AuthUser, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        body = user.to_json()
        claims = {
            "iss": self.issuer,
            "sub": user.id,
            "aud": "authenticated",
            "exp": now + self.token_ttl,
            "iat": now,
            "email": user.email,
            "phone": "",
            "app_metadata": body["app_metadata"],
            "user_metadata": body["user_metadata"],
            "role": "authenticated",
            "aal": "aal1",
            "amr": [{"method": "password", "timestamp": now}],
            "session_id": str(uuid.uuid4()),
            "is_anonymous": False,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict[str, Any], signing: str | None = None) -> str:
        """A token as GoTrue signs it (HS256 with the secret, or ES256/RS256 with a kid)."""
        signing = signing or self.signing
        if signing == "HS256":
            return jwt.encode(claims, self.jwt_secret, algorithm="HS256")
        if signing == "ES256":
            return jwt.encode(claims, self.ec_key, algorithm="ES256", headers={"kid": self.ec_kid})
        if signing == "RS256":
            return jwt.encode(
                claims, self.rsa_key, algorithm="RS256", headers={"kid": self.rsa_kid}
            )
        raise ValueError(signing)

    def access_token(self, user: AuthUser, signing: str | None = None, **overrides: Any) -> str:
        return self.sign(self.claims(user, **overrides), signing)

    def session(self, user: AuthUser) -> dict[str, Any]:
        now = int(time.time())
        return {
            "access_token": self.access_token(user),
            "token_type": "bearer",
            "expires_in": self.token_ttl,
            "expires_at": now + self.token_ttl,
            "refresh_token": uuid.uuid4().hex[:12],
            "user": user.to_json(),
        }

    def verify_user_token(self, token: str) -> AuthUser | None:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") == "HS256":
                claims = jwt.decode(
                    token, self.jwt_secret, algorithms=["HS256"], audience="authenticated"
                )
            elif header.get("kid") == self.ec_kid:
                claims = jwt.decode(
                    token, self.ec_key.public_key(), algorithms=["ES256"], audience="authenticated"
                )
            elif header.get("kid") == self.rsa_kid:
                claims = jwt.decode(
                    token,
                    self.rsa_key.public_key(),
                    algorithms=["RS256"],
                    audience="authenticated",
                )
            else:
                return None
        except jwt.PyJWTError:
            return None
        with self.lock:
            return next((u for u in self.users.values() if u.id == claims.get("sub")), None)

    def objects(self, bucket: str = BUCKET) -> dict[str, StoredObject]:
        with self.lock:
            return dict(self.buckets.get(bucket, {}))

    def seen(self, method: str, prefix: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]


class _Reply(Exception):
    def __init__(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


class _Handler(BaseHTTPRequestHandler):
    project: SupabaseStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    # --- plumbing -------------------------------------------------------------------------

    def _handle(self) -> None:
        if self.project.outage:
            self.close_connection = True
            self.connection.close()
            return
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.project.lock:
            self.project.requests.append(Recorded(self.command, path, query, headers, body))
        try:
            if path.startswith("/auth/v1/"):
                self._auth(path[len("/auth/v1") :], query, headers, body)
            elif path.startswith("/storage/v1/"):
                self._storage(path[len("/storage/v1") :], query, headers, body)
            else:
                raise _Reply(404, {"message": "no Route matched with those values"})
        except _Reply as reply:
            self._send(reply.status, reply.body, reply.headers)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        if isinstance(body, bytes):
            data = body
            content_type = headers.pop("Content-Type", "application/octet-stream")
        else:
            data = json.dumps(body).encode()
            content_type = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, body: bytes) -> dict[str, Any]:
        try:
            value = json.loads(body or b"{}")
        except ValueError:
            raise _Reply(400, {"message": "invalid JSON"}) from None
        return value if isinstance(value, dict) else {}

    # --- the API gateway (Kong): an API key on every request but signed URLs ---------------

    def _api_key(self, headers: dict[str, str]) -> str:
        key = headers.get("apikey")
        if not key:
            raise _Reply(401, {"message": "No API key found in request", "hint": None})
        if key not in (self.project.anon_key, self.project.service_role_key):
            raise _Reply(401, {"message": "Invalid API key", "hint": None})
        return key

    # --- GoTrue ---------------------------------------------------------------------------

    def _auth_error(
        self, headers: dict[str, str], status: int, code: str, message: str, **extra: Any
    ) -> _Reply:
        if headers.get(API_VERSION_HEADER.lower()) == API_VERSION:
            return _Reply(
                status,
                {"code": code, "message": message, **extra},
                {API_VERSION_HEADER: API_VERSION},
            )
        return _Reply(status, {"code": status, "error_code": code, "msg": message, **extra})

    def _ok(self, body: Any) -> _Reply:
        return _Reply(200, body, {API_VERSION_HEADER: API_VERSION})

    def _auth(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> None:
        project = self.project
        if path == "/.well-known/jwks.json" and self.command == "GET":
            # Public: GoTrue serves the JWKS without an API key.
            keys = project.jwks() if project.signing != "HS256" else {"keys": []}
            raise _Reply(200, keys, {"Cache-Control": "public, max-age=600"})
        self._api_key(headers)
        if path == "/signup" and self.command == "POST":
            data = self._json(body)
            email_ = str(data.get("email") or "").strip().lower()
            password = str(data.get("password") or "")
            if not email_ or "@" not in email_:
                raise self._auth_error(
                    headers, 400, "validation_failed", "Unable to validate email address"
                )
            if len(password) < 6:
                raise self._auth_error(
                    headers,
                    422,
                    "weak_password",
                    "Password should be at least 6 characters.",
                    weak_password={"reasons": ["length"]},
                )
            with project.lock:
                exists = email_ in project.users
            if exists and not project.autoconfirm:
                # With confirmations on, GoTrue does not reveal that the address is taken: it
                # answers 200 with a look-alike, unconfirmed user under a random id.
                decoy = AuthUser(
                    id=str(uuid.uuid4()),
                    email=email_,
                    password="",
                    user_metadata=data.get("data") or {},
                    app_metadata={},
                    confirmed=False,
                )
                raise self._ok(decoy.to_json())
            if exists:
                raise self._auth_error(
                    headers, 422, "user_already_exists", "User already registered"
                )
            user = project.create_user(
                email_,
                password,
                user_metadata=data.get("data") or {},
                confirmed=project.autoconfirm,
            )
            raise self._ok(project.session(user) if user.confirmed else user.to_json())
        if path == "/token" and self.command == "POST":
            grant = query.get("grant_type", [""])[0]
            if grant != "password":
                raise self._auth_error(headers, 400, "validation_failed", "unsupported_grant_type")
            data = self._json(body)
            with project.lock:
                found = project.users.get(str(data.get("email") or "").strip().lower())
            if found is None or found.password != data.get("password"):
                raise self._auth_error(
                    headers, 400, "invalid_credentials", "Invalid login credentials"
                )
            if not found.confirmed:
                raise self._auth_error(headers, 400, "email_not_confirmed", "Email not confirmed")
            raise self._ok(project.session(found))
        if path == "/user" and self.command == "GET":
            scheme, _, token = headers.get("authorization", "").partition(" ")
            found = project.verify_user_token(token) if scheme.lower() == "bearer" else None
            if found is None:
                raise self._auth_error(
                    headers, 403, "bad_jwt", "invalid JWT: unable to parse or verify signature"
                )
            raise self._ok(found.to_json())
        if path.startswith("/admin/users/") and self.command == "PUT":
            # GoTrue's admin API: the service role's JWT as the bearer; app_metadata keys are
            # merged into the user's (GoTrue's UpdateAppMetaData), null removes a key.
            scheme, _, bearer = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or self._role(bearer) != "service_role":
                raise self._auth_error(
                    headers, 403, "not_admin", "User not allowed", error="not_admin"
                )
            user_id = path[len("/admin/users/") :]
            data = self._json(body)
            with project.lock:
                found = next((u for u in project.users.values() if u.id == user_id), None)
                if found is not None and isinstance(data.get("app_metadata"), dict):
                    for key, value in data["app_metadata"].items():
                        if value is None:
                            found.app_metadata.pop(key, None)
                        else:
                            found.app_metadata[key] = value
            if found is None:
                raise self._auth_error(headers, 404, "user_not_found", "User not found")
            raise self._ok(found.to_json())
        raise _Reply(404, {"code": 404, "msg": "Not Found"})

    # --- storage-api ----------------------------------------------------------------------

    def _storage_error(self, status_code: str, error: str, message: str) -> _Reply:
        # storage-api answers 400 with the real status as a string in the body (it does for
        # not-found and duplicates too); storage3 reads statusCode / error / message.
        http = 400 if status_code not in ("401", "500") else int(status_code)
        return _Reply(http, {"statusCode": status_code, "error": error, "message": message})

    def _split(self, rest: str) -> tuple[str, str]:
        bucket, _, key = rest.lstrip("/").partition("/")
        return bucket, key

    def _storage(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> None:
        project = self.project
        if path.startswith("/object/sign/") and self.command == "GET":
            self._serve_signed(path[len("/object/sign/") :], query)
        self._api_key(headers)
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        role = self._role(bearer if scheme.lower() == "bearer" else "")
        if path.startswith("/object/sign/") and self.command == "POST":
            bucket, key = self._split(path[len("/object/sign/") :])
            if role != "service_role":
                raise self._storage_error("404", "not_found", "Object not found")
            data = self._json(body)
            try:
                expires_in = int(data.get("expiresIn"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise self._storage_error(
                    "400", "InvalidRequest", "expiresIn is required"
                ) from None
            with project.lock:
                exists = key in project.buckets.get(bucket, {})
            if not exists:
                raise self._storage_error("404", "not_found", "Object not found")
            now = int(time.time())
            token = jwt.encode(
                {"url": f"{bucket}/{key}", "iat": now, "exp": now + expires_in},
                project.jwt_secret,
                algorithm="HS256",
            )
            signed = f"/object/sign/{quote(bucket)}/{quote(key)}?token={token}"
            raise _Reply(200, {"signedURL": signed})
        if path.startswith("/object/") and self.command in ("POST", "PUT"):
            bucket, key = self._split(path[len("/object/") :])
            self._upload(bucket, key, role, headers, body)
        if path.startswith("/object/") and self.command == "DELETE":
            bucket, _ = self._split(path[len("/object/") :])
            data = self._json(body)
            removed = []
            with project.lock:
                objects = project.buckets.get(bucket, {})
                for key in data.get("prefixes") or []:
                    if role == "service_role" and objects.pop(key, None) is not None:
                        removed.append({"name": key, "bucket_id": bucket})
            raise _Reply(200, removed)
        raise self._storage_error("404", "not_found", "Route not found")

    def _role(self, bearer: str) -> str:
        try:
            claims = jwt.decode(
                bearer, self.project.jwt_secret, algorithms=["HS256"], options={"verify_aud": False}
            )
        except jwt.PyJWTError:
            user = self.project.verify_user_token(bearer)
            return "authenticated" if user is not None else ""
        return str(claims.get("role", ""))

    def _upload(
        self, bucket: str, key: str, role: str, headers: dict[str, str], body: bytes
    ) -> None:
        project = self.project
        if role != "service_role":
            # The stand-in does not evaluate the storage.objects policies (tests/supabase
            # does, in Postgres); a non-service caller is refused like a policy violation.
            raise self._storage_error(
                "403", "Unauthorized", "new row violates row-level security policy"
            )
        with project.lock:
            if bucket not in project.buckets:
                raise self._storage_error("404", "Bucket not found", "Bucket not found")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + headers.get("content-type", "").encode() + b"\r\n\r\n" + body
        )
        if not message.is_multipart():
            raise self._storage_error("400", "InvalidRequest", "expected multipart/form-data")
        fields: dict[str, tuple[bytes, str]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            fields[str(name)] = (data, part.get_content_type())
        if "file" not in fields:
            raise self._storage_error("400", "InvalidRequest", "no file in the request")
        data, content_type = fields["file"]
        if content_type not in BUCKET_TYPES:
            raise self._storage_error(
                "415", "invalid_mime_type", f"mime type {content_type} is not supported"
            )
        if len(data) > BUCKET_LIMIT:
            raise self._storage_error(
                "413", "Payload too large", "The object exceeded the maximum allowed size"
            )
        upsert = headers.get("x-upsert", "false") == "true"
        with project.lock:
            objects = project.buckets[bucket]
            if key in objects and not upsert:
                raise self._storage_error("409", "Duplicate", "The resource already exists")
            cache = fields.get("cacheControl", (b"3600", ""))[0].decode()
            objects[key] = StoredObject(data, content_type, cache, role)
        raise _Reply(200, {"Id": str(uuid.uuid4()), "Key": f"{bucket}/{key}"})

    def _serve_signed(self, rest: str, query: dict[str, list[str]]) -> None:
        bucket, key = self._split(rest)
        token = query.get("token", [""])[0]
        try:
            claims = jwt.decode(token, self.project.jwt_secret, algorithms=["HS256"])
        except jwt.ExpiredSignatureError:
            raise self._storage_error("400", "InvalidJWT", "jwt expired") from None
        except jwt.PyJWTError:
            raise self._storage_error("400", "InvalidJWT", "invalid signature") from None
        if claims.get("url") != f"{bucket}/{key}":
            raise self._storage_error(
                "400", "InvalidSignature", "The url do not match the signature"
            )
        with self.project.lock:
            stored = self.project.buckets.get(bucket, {}).get(key)
        if stored is None:
            raise self._storage_error("404", "not_found", "Object not found")
        extra = {
            "Content-Type": stored.content_type,
            "Cache-Control": f"max-age={stored.cache_control}",
        }
        if "download" in query:
            name = query["download"][0] or key.rsplit("/", 1)[-1]
            extra["Content-Disposition"] = f"attachment; filename={quote(name)}"
        raise _Reply(200, stored.data, extra)
