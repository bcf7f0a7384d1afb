"""The platform's own registry: hosted municipalities (tenants) and their users, kept apart from any tenant."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyExistsError, InvalidCommandError, NotFoundError
from domain.stores import StoreConfig, check_slug

ROLES = ("admin", "registrar", "reporter", "auditor", "viewer")


def tenant_id(slug: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"styrkedja:platform/tenant/{slug}")


def email_id(tenant: str, email: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"styrkedja:platform/user/{tenant}/{email.lower()}")


DIRECTORY_ID = uuid5(NAMESPACE_URL, "styrkedja:platform/directory")


def digest(secret: str) -> str:
    # API tokens carry 256 random bits: a fast digest suffices (passwords use argon2 in web/).
    return hashlib.sha256(secret.encode()).hexdigest()


class Tenant(Aggregate):
    id: UUID

    @event("TenantCreated")
    def __init__(self, slug: str, name: str, municipality_code: str, settings: dict) -> None:
        self.slug = slug
        self.name = name
        self.municipality_code = municipality_code
        self.settings = settings
        self.user_ids: list[UUID] = []

    @event("UserJoined")
    def join(self, user_id: UUID) -> None:
        self.user_ids.append(user_id)


class Directory(Aggregate):
    """The list of tenants, so that listing does not scan the store."""

    id: UUID

    @event("DirectoryOpened")
    def __init__(self) -> None:
        self.slugs: list[str] = []

    @event("TenantListed")
    def add(self, slug: str) -> None:
        self.slugs.append(slug)


class EmailClaim(Aggregate):
    """Makes an e-mail address unique within a tenant and finds the user behind it."""

    id: UUID

    @event("EmailClaimed")
    def __init__(self, tenant: str, email: str, user_id: UUID) -> None:
        self.user_id = user_id


class EmailDirectory(Aggregate):
    """The tenants an e-mail address is a user of, so one sign-in finds them all."""

    id: UUID

    @event("EmailDirectoryOpened")
    def __init__(self, email: str) -> None:
        self.email = email
        self.users: dict[str, UUID] = {}

    @event("EmailUserListed")
    def add(self, tenant: str, user_id: UUID) -> None:
        self.users[tenant] = user_id


def directory_id(email: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"styrkedja:platform/email/{email.lower()}")


class User(Aggregate):
    id: UUID

    @event("UserAdded")
    def __init__(self, tenant: str, email: str, name: str, role: str, bodies: list[str], token_digest: str) -> None:
        self.tenant = tenant
        self.email = email
        self.name = name
        self.role = role
        self.bodies = bodies
        self.token_digest = token_digest
        self.password_hash: str | None = None
        self.active = True

    @event("TokenRotated")
    def rotate_token(self, token_digest: str) -> None:
        self.token_digest = token_digest

    @event("TokenRevoked")
    def revoke_token(self) -> None:
        # No secret digests to the empty string: the user keeps their account and password, not their token.
        self.token_digest = ""

    @property
    def has_token(self) -> bool:
        return bool(self.token_digest)

    @event("PasswordSet")
    def set_password(self, password_hash: str) -> None:
        self.password_hash = password_hash

    @event("UserDeactivated")
    def deactivate(self) -> None:
        self.active = False

    @event("UserReactivated")
    def reactivate(self) -> None:
        # The password and token the user had work again: deactivation ended access, it did not reset it.
        self.active = True

    def may_decide_for(self, body: str) -> bool:
        return not self.bodies or body in self.bodies


def new_token(user_id: UUID) -> tuple[str, str]:
    """A bearer token names its user, so a request is authenticated with one lookup."""
    secret = secrets.token_urlsafe(32)
    return f"sk_{user_id.hex}_{secret}", digest(secret)


class Platform(Application):
    name = "platform"

    def __init__(self, config: StoreConfig, create_table: bool = False) -> None:
        self.config = config
        self._auth_cache: dict[str, tuple[User, float]] = {}
        super().__init__(config.env_for("platform", "platform.sqlite", create_table))

    def construct_factory(self, env):
        factory = super().construct_factory(env)
        self.config.prepare(factory)
        return factory

    # --- tenants -------------------------------------------------------------------------

    def create_tenant(self, slug: str, name: str, municipality_code: str, settings: dict | None = None) -> Tenant:
        check_slug(slug)
        if not (municipality_code.isdigit() and len(municipality_code) == 4):
            raise InvalidCommandError("municipality_code is the four-digit kommunkod.", "municipality_code")
        if self.find_tenant(slug) is not None:
            raise AlreadyExistsError(f"The tenant {slug} already exists.", "slug")
        directory = self._directory()
        tenant = Tenant(tenant_id(slug), slug, name, municipality_code, dict(settings or {}))
        directory.add(slug)
        self.save(tenant, directory)
        return tenant

    def _directory(self) -> Directory:
        try:
            return self.repository.get(DIRECTORY_ID)
        except AggregateNotFoundError:
            return Directory(DIRECTORY_ID)

    def find_tenant(self, slug: str) -> Tenant | None:
        try:
            return self.repository.get(tenant_id(slug))
        except (AggregateNotFoundError, ValueError):
            return None

    def tenants(self) -> list[Tenant]:
        try:
            directory = self.repository.get(DIRECTORY_ID)
        except AggregateNotFoundError:
            return []
        return [self.repository.get(tenant_id(slug)) for slug in directory.slugs]

    # --- users ---------------------------------------------------------------------------

    def add_user(self, tenant: str, email: str, name: str, role: str, bodies: list[str]) -> tuple[User, str]:
        if role not in ROLES:
            raise InvalidCommandError(f"role must be one of {', '.join(ROLES)}.", "role")
        claim_id = email_id(tenant, email)
        if self._exists(claim_id):
            raise AlreadyExistsError(f"{email} is already a user of {tenant}.", "email")
        user_id = uuid4()
        token, token_digest = new_token(user_id)
        user = User(user_id, tenant, email, name, role, list(bodies), token_digest)
        try:
            listing = self.repository.get(directory_id(email))
        except AggregateNotFoundError:
            listing = EmailDirectory(directory_id(email), email.lower())
        listing.add(tenant, user_id)
        registered = self.find_tenant(tenant)
        if registered is not None:
            registered.join(user_id)
        self.save(user, EmailClaim(claim_id, tenant, email.lower(), user_id), listing, registered)
        return user, token

    def users_by_email(self, email: str) -> list[User]:
        """Every active user with this e-mail address, one per tenant."""
        try:
            listing = self.repository.get(directory_id(email))
        except AggregateNotFoundError:
            return []
        users = [self.repository.get(user_id) for _, user_id in sorted(listing.users.items())]
        return [user for user in users if user.active]

    def users_of(self, tenant: str) -> list[User]:
        """A tenant's users, for its administrators."""
        registered = self.find_tenant(tenant)
        users = [self.repository.get(user_id) for user_id in (registered.user_ids if registered else [])]
        return sorted(users, key=lambda u: u.email)

    def set_password(self, user_id: UUID, password_hash: str) -> None:
        user = self.user(user_id)
        user.set_password(password_hash)
        self.save(user)

    def deactivate_user(self, user_id: UUID) -> User:
        """End a user's access (password and token alike); the record and its history stay. Rerunning is a no-op."""
        user = self.user(user_id)
        if user.active:
            user.deactivate()
            self.save(user)
            self.forget_tokens()
        return user

    def reactivate_user(self, user_id: UUID) -> User:
        """Give a deactivated user their access back (a deactivation by mistake). Rerunning is a no-op."""
        user = self.user(user_id)
        if not user.active:
            user.reactivate()
            self.save(user)
            self.forget_tokens()
        return user

    def _exists(self, aggregate_id: UUID) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def user(self, user_id: UUID) -> User:
        try:
            return self.repository.get(user_id)
        except AggregateNotFoundError:
            raise NotFoundError("No such user.") from None

    def user_by_email(self, tenant: str, email: str) -> User | None:
        try:
            claim = self.repository.get(email_id(tenant, email))
        except AggregateNotFoundError:
            return None
        return self.repository.get(claim.user_id)

    # A verified token is trusted for a few seconds without another read: every API request
    # authenticates, and a revoked or rotated token stops working within this many seconds.
    AUTH_CACHE_SECONDS = 5.0

    def authenticate(self, token: str) -> User | None:
        key = digest(token)
        cached = self._auth_cache.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        user = self._authenticate(token)
        if user is not None:
            if len(self._auth_cache) > 10000:
                self._auth_cache.clear()
            self._auth_cache[key] = (user, time.monotonic() + self.AUTH_CACHE_SECONDS)
        return user

    def forget_tokens(self) -> None:
        self._auth_cache.clear()

    def _authenticate(self, token: str) -> User | None:
        parts = token.split("_", 2) if token.startswith("sk_") else []
        if len(parts) != 3:
            return None
        try:
            user_id = UUID(hex=parts[1][:32]) if len(parts[1]) == 32 else None
        except ValueError:
            return None
        secret = token[len("sk_") + 33:]
        if user_id is None:
            return None
        try:
            user = self.repository.get(user_id, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            return None
        if not isinstance(user, User) or not user.active:
            return None
        return user if hmac.compare_digest(user.token_digest, digest(secret)) else None

    def rotate_token(self, user_id: UUID) -> str:
        """A new token for the user; the old one fails at once in this process, within AUTH_CACHE_SECONDS in others."""
        user = self.user(user_id)
        token, token_digest = new_token(user.id)
        user.rotate_token(token_digest)
        self.save(user)
        self.forget_tokens()
        return token

    def revoke_token(self, user_id: UUID) -> User:
        """End the user's API token (no new one); signing in with a password still works. Rerunning is a no-op."""
        user = self.user(user_id)
        if user.has_token:
            user.revoke_token()
            self.save(user)
            self.forget_tokens()
        return user
