"""Deactivating a platform user ends sign-in by e-mail and by token; the user's record stays."""

from __future__ import annotations

from domain.platform import Platform
from domain.stores import StoreConfig


def test_a_deactivated_user_is_kept_but_neither_found_by_email_nor_authenticated(tmp_path):
    platform = Platform(StoreConfig(data_dir=tmp_path), create_table=True)
    platform.create_tenant("testkommun", "Testkommun", "9999")
    user, token = platform.add_user("testkommun", "anna@test.example", "Anna", "viewer", [])
    assert platform.authenticate(token) is not None
    assert [u.id for u in platform.users_by_email("anna@test.example")] == [user.id]

    platform.deactivate_user(user.id)
    assert platform.authenticate(token) is None
    assert platform.users_by_email("anna@test.example") == []
    assert [(u.id, u.active) for u in platform.users_of("testkommun")] == [(user.id, False)]

    version = platform.user(user.id).version
    platform.deactivate_user(user.id)  # again: nothing recorded
    assert platform.user(user.id).version == version
