"""Token rotation and revocation across processes: at once where it happened, within the auth cache TTL elsewhere."""

from __future__ import annotations

import time

from projections.tenants import Tenants


def test_a_revoked_token_fails_at_once_here_and_within_the_cache_ttl_in_another_process(store_config):
    here, there = Tenants(store_config), None
    try:
        here.create("kommun", "Kommunen", "1487")
        user, token = here.platform.add_user("kommun", "a@kommun.se", "A", "viewer", [])
        there = Tenants(store_config)  # another web process on the same store
        there.platform.AUTH_CACHE_SECONDS = 0.5
        assert there.platform.authenticate(token).id == user.id
        here.platform.revoke_token(user.id)
        assert here.platform.authenticate(token) is None
        assert there.platform.authenticate(token) is not None  # still trusted from its cache
        time.sleep(0.6)
        assert there.platform.authenticate(token) is None
        assert there.platform.user(user.id).active  # the account stays; only the token ended
    finally:
        here.close()
        if there is not None:
            there.close()


def test_a_rotated_token_replaces_the_old_one_and_revoking_twice_changes_nothing(store_config):
    tenants = Tenants(store_config)
    try:
        tenants.create("kommun", "Kommunen", "1487")
        user, old = tenants.platform.add_user("kommun", "a@kommun.se", "A", "viewer", [])
        new = tenants.platform.rotate_token(user.id)
        assert tenants.platform.authenticate(old) is None
        assert tenants.platform.authenticate(new).id == user.id
        version = tenants.platform.revoke_token(user.id).version
        assert tenants.platform.revoke_token(user.id).version == version
        assert tenants.platform.authenticate(new) is None
    finally:
        tenants.close()
