"""Encryption at rest: fresh nonces, tamper detection, purpose binding, wrong keys."""

import pytest

from storage.crypto import DataKey, Keyring, WrongKeyError


def ring(secret: str = "one") -> Keyring:
    return Keyring(DataKey.from_secret(secret))


def test_same_value_encrypts_differently_each_time() -> None:
    keys = ring()
    first = keys.encrypt(b"01712345678", "orders.phone")
    second = keys.encrypt(b"01712345678", "orders.phone")
    assert first != second
    assert keys.decrypt(first, "orders.phone") == keys.decrypt(second, "orders.phone")


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    blob = ring().encrypt(b"House 12, Road 5", "orders.address")
    assert b"House" not in blob


def test_flipped_byte_fails_to_decrypt() -> None:
    keys = ring()
    blob = bytearray(keys.encrypt(b"secret", "orders.name"))
    blob[-1] ^= 0x01
    with pytest.raises(WrongKeyError):
        keys.decrypt(bytes(blob), "orders.name")


def test_value_moved_to_another_column_fails_to_decrypt() -> None:
    keys = ring()
    blob = keys.encrypt(b"Rahim", "orders.name")
    with pytest.raises(WrongKeyError):
        keys.decrypt(blob, "orders.address")


def test_wrong_key_is_refused_and_older_keys_still_decrypt() -> None:
    old, new = DataKey.from_secret("old"), DataKey.from_secret("new")
    blob = Keyring(old).encrypt(b"x", "p")
    with pytest.raises(WrongKeyError):
        Keyring(new).decrypt(blob, "p")
    rotated = Keyring(new, (old,))
    assert rotated.decrypt(blob, "p") == b"x"
    assert Keyring.key_id_of(rotated.encrypt(b"x", "p")) == new.key_id


def test_blind_index_is_keyed_and_stable() -> None:
    assert ring("a").blind_index("+8801712345678") == ring("a").blind_index("+8801712345678")
    assert ring("a").blind_index("+8801712345678") != ring("b").blind_index("+8801712345678")
    assert b"1712345678" not in ring("a").blind_index("+8801712345678")
