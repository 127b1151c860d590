"""The token codec on its own: pinned algorithms, key files, kid rotation, a distinct code for every bad token."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import jwt
import pytest

from hub.auth.tokens import TokenCodec
from hub.clock import Clock
from hub.errors import Unauthorized
from hub.settings import SettingsError, load_settings
from tests.auth.jwtkit import KeyPair, bad_tokens, claims, hs256_with_raw_key, make_keypair, sign

ASYMMETRIC = ["RS256", "EdDSA"]


def codec_for(tmp_path: Path, **jwt_settings: object) -> TokenCodec:
    settings = load_settings(environ={}).replace(server={"var_dir": tmp_path / "var"}, jwt=jwt_settings)
    return TokenCodec(settings, Clock())


def refusal(codec: TokenCodec, token: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        codec.decode(token)
    assert caught.value.status == 401
    return caught.value


@pytest.fixture(params=ASYMMETRIC)
def algorithm(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def pair(tmp_path: Path, algorithm: str) -> KeyPair:
    return make_keypair(tmp_path / "keys", algorithm, "k1")


def test_hs256_default_issues_and_verifies(tmp_path: Path) -> None:
    codec = codec_for(tmp_path)
    token, issued = codec.issue(sub="p-xie", org="pub-util", roles=["chair", "official"], scope="meeting:1")
    decoded = codec.decode(token)
    assert decoded == issued
    assert decoded.scope == "meeting:1" and decoded.roles == ("chair", "official")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": "k1"}


def test_hs256_secret_is_generated_private_and_reused(tmp_path: Path) -> None:
    first = codec_for(tmp_path)
    secret = tmp_path / "var" / "jwt-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    token, _ = first.issue(sub="p-xie", org="pub-util", roles=[])
    # A restart reads the same secret: tokens issued before it still verify.
    again = codec_for(tmp_path)
    assert again.decode(token).sub == "p-xie"
    assert secret.read_text() == (tmp_path / "var" / "jwt-secret").read_text()


def test_hs256_short_secret_file_is_refused(tmp_path: Path) -> None:
    weak = tmp_path / "weak"
    weak.write_text("tooshort")
    with pytest.raises(SettingsError, match="jwt.secret_file.*fewer than 32"):
        codec_for(tmp_path, secret_file=str(weak))


def test_hs256_token_of_another_hub_is_refused(tmp_path: Path) -> None:
    mine = codec_for(tmp_path / "a")
    theirs = codec_for(tmp_path / "b")
    token, _ = theirs.issue(sub="p-xie", org="pub-util", roles=[])
    assert refusal(mine, token).code == "token_bad_signature"


def test_asymmetric_issue_and_verify(tmp_path: Path, algorithm: str, pair: KeyPair) -> None:
    codec = codec_for(tmp_path, algorithm=algorithm, private_key_file=str(pair.private_file), kid="k1")
    token, _ = codec.issue(sub="p-xie", org="pub-util", roles=["official"])
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    assert codec.decode(token).sub == "p-xie"
    # A token made by an outside issuer holding the key verifies the same way.
    assert codec.decode(sign(claims(), pair.private_pem, algorithm, "k1")).org == "pub-util"


def test_every_bad_token_is_refused_with_its_own_code(tmp_path: Path, algorithm: str, pair: KeyPair) -> None:
    other = make_keypair(tmp_path / "other", algorithm, "k1")
    codec = codec_for(tmp_path, algorithm=algorithm, private_key_file=str(pair.private_file), kid="k1")
    cases = {
        name: case for name, case in bad_tokens(pair, algorithm, other=other).items()
        # Those two pass the signature check; the directory refuses them (tests/auth/test_auth_http.py).
        if name not in {"unknown person", "org mismatch"}
    }
    seen: dict[str, str] = {}
    for name, (token, code) in cases.items():
        got = refusal(codec, token)
        assert got.code == code, f"{name}: {got.code} {got.message}"
        seen.setdefault(code, name)
    # Distinct failures get distinct codes (two bad-signature variants share one).
    assert len(seen) == len(cases) - 1


def test_missing_claim_message_names_the_claim(tmp_path: Path, pair: KeyPair, algorithm: str) -> None:
    codec = codec_for(tmp_path, algorithm=algorithm, private_key_file=str(pair.private_file))
    for claim in ("exp", "sub", "jti", "org", "roles", "iat"):
        got = refusal(codec, sign(claims(**{claim: None}), pair.private_pem, algorithm, "k1"))
        assert got.code == f"token_missing_{claim}"
        assert repr(claim) in got.message


def test_claims_of_the_wrong_type_are_refused(tmp_path: Path, pair: KeyPair, algorithm: str) -> None:
    codec = codec_for(tmp_path, algorithm=algorithm, private_key_file=str(pair.private_file))
    for changes in ({"roles": "admin"}, {"roles": [1, 2]}, {"sub": ""}, {"org": 7}, {"exp": "tomorrow"}):
        got = refusal(codec, sign(claims(**changes), pair.private_pem, algorithm, "k1"))
        assert got.code == "token_invalid", changes


def test_malformed_headers_are_refused_not_crashed(tmp_path: Path) -> None:
    codec = codec_for(tmp_path)
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=").decode()
    for header in ({"alg": "HS256", "kid": ["k1"]}, {"alg": ["HS256"]}, {"kid": "k1"}, ["HS256"], "HS256"):
        encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
        assert refusal(codec, f"{encoded}.{body}.c2ln").code == "token_malformed", header
    for junk in ("", "a.b", "a.b.c.d", "\u0000.\u0000.\u0000", "eyJ.eyJ.x"):
        assert refusal(codec, junk).code == "token_malformed", junk


def test_hs256_hub_refuses_asymmetric_tokens_and_alg_none(tmp_path: Path) -> None:
    codec = codec_for(tmp_path)
    rsa_pair = make_keypair(tmp_path / "keys", "RS256", "k1")
    assert refusal(codec, sign(claims(), rsa_pair.private_pem, "RS256", "k1")).code == "token_algorithm_refused"
    assert refusal(codec, jwt.encode(claims(), None, algorithm="none")).code == "token_unsigned"


def test_algorithm_confusion_with_the_public_key_is_refused(tmp_path: Path, algorithm: str, pair: KeyPair) -> None:
    codec = codec_for(tmp_path, algorithm=algorithm, private_key_file=str(pair.private_file))
    forged = hs256_with_raw_key(claims(roles=["admin"]), pair.public_pem, "k1")
    got = refusal(codec, forged)
    assert got.code == "token_algorithm_refused"
    assert "HS256" in got.message


def test_key_rotation_by_kid(tmp_path: Path, algorithm: str) -> None:
    old = make_keypair(tmp_path / "keys", algorithm, "2025")
    new = make_keypair(tmp_path / "keys", algorithm, "2026")
    both = codec_for(
        tmp_path, algorithm=algorithm, private_key_file=str(new.private_file), kid="2026",
        public_key_files=(f"2025={old.public_file}", f"2026={new.public_file}"),
    )
    from_old = sign(claims(), old.private_pem, algorithm, "2025")
    issued, _ = both.issue(sub="p-xie", org="pub-util", roles=[])
    assert jwt.get_unverified_header(issued)["kid"] == "2026"
    assert both.decode(from_old).sub == "p-xie"
    assert both.decode(issued).sub == "p-xie"
    # The old key retired: its tokens are refused, the new key's still verify.
    retired = codec_for(
        tmp_path, algorithm=algorithm, private_key_file=str(new.private_file), kid="2026",
        public_key_files=(f"2026={new.public_file}",),
    )
    assert refusal(retired, from_old).code == "token_unknown_kid"
    assert retired.decode(issued).sub == "p-xie"
    # An old token relabelled with the new kid does not verify either.
    relabelled = sign(claims(), old.private_pem, algorithm, "2026")
    assert refusal(retired, relabelled).code == "token_bad_signature"


def test_verify_only_node_cannot_issue(tmp_path: Path, algorithm: str, pair: KeyPair) -> None:
    codec = codec_for(tmp_path, algorithm=algorithm, public_key_files=(f"k1={pair.public_file}",))
    assert not codec.can_sign
    assert codec.decode(sign(claims(), pair.private_pem, algorithm, "k1")).sub == "p-xie"
    with pytest.raises(RuntimeError, match="cannot issue"):
        codec.issue(sub="p-xie", org="pub-util", roles=[])


def test_asymmetric_without_keys_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="jwt.private_key_file"):
        load_settings(environ={"CITYHUB_JWT_ALGORITHM": "RS256"})
    with pytest.raises(SettingsError, match="jwt.algorithm"):
        load_settings(environ={"CITYHUB_JWT_ALGORITHM": "none"})
    with pytest.raises(SettingsError, match="jwt.public_key_files"):
        load_settings(environ={"CITYHUB_JWT_ALGORITHM": "EdDSA", "CITYHUB_JWT_PUBLIC_KEY_FILES": "nokid.pem"})




def test_unreadable_key_files_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="jwt.private_key_file: cannot use"):
        codec_for(tmp_path, algorithm="RS256", private_key_file=str(tmp_path / "absent.pem"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    with pytest.raises(SettingsError, match="jwt.public_key_files: cannot use"):
        codec_for(tmp_path, algorithm="EdDSA", public_key_files=(f"k1={garbage}",))


def test_token_times_follow_the_hubs_clock(tmp_path: Path) -> None:
    """A token issued on the hub's clock expires by that clock (schedulers and tests run on a ManualClock)."""
    from datetime import UTC, datetime

    from hub.clock import ManualClock

    clock = ManualClock(datetime(2031, 5, 1, 9, 0, tzinfo=UTC))
    settings = load_settings(environ={}).replace(server={"var_dir": tmp_path})
    codec = TokenCodec(settings, clock)
    token, _ = codec.issue(sub="p-xie", org="pub-util", roles=["official"], ttl=600)
    assert codec.decode(token).sub == "p-xie"
    clock.advance(599 + settings.jwt.leeway)
    assert codec.decode(token).sub == "p-xie"
    clock.advance(2)
    assert refusal(codec, token).code == "token_expired"
    clock.advance(-3600)
    assert refusal(codec, token).code == "token_not_yet_valid"
