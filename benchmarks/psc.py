"""id_token validations per second: segurlink's full check (cached JWKS) vs a bare decode.

The full check is what a DUI back end runs per login: header peek, key lookup by kid in the
cached key set, RS256 signature, then iss/aud/azp/exp/iat/nonce/at_hash/acr. The baseline
is ``joserfc.jwt.decode`` of the same token with the key already in hand (signature only).

    python benchmarks/psc.py [seconds]
"""

from __future__ import annotations

import base64
import hashlib
import sys
import time
from collections.abc import Callable

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from segurlink.config import Secret
from segurlink.psc import validate_id_token

ISSUER = "https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet"
CLIENT = "dui"


def _rate(label: str, call: Callable[[], object], seconds: float) -> float:
    call()
    count = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(50):
            call()
        count += 50
    rate = count / elapsed
    print(f"{label:48} {rate:10.0f} /s")
    return rate


def main(seconds: float = 2.0) -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    # A realistic cached JWKS: the current key, a passive one, and an encryption key.
    others = [RSAKey.generate_key(2048, parameters={"kid": k}) for k in ("k0", "k2")]
    keys = KeySet([RSAKey.import_key(k.as_dict(private=False)) for k in (*others, key)])
    access = Secret("an-access-token")
    now = int(time.time())
    at_hash = base64.urlsafe_b64encode(hashlib.sha256(b"an-access-token").digest()[:16]).rstrip(
        b"="
    )
    token = jwt.encode(
        {"alg": "RS256", "kid": "k1"},
        {
            "iss": ISSUER,
            "aud": CLIENT,
            "azp": CLIENT,
            "sub": "f:x:810001234567",
            "exp": now + 3600,
            "iat": now,
            "nonce": "n",
            "acr": "eidas1",
            "at_hash": at_hash.decode(),
        },
        key,
    )
    public = RSAKey.import_key(key.as_dict(private=False))
    bare = _rate(
        "bare joserfc.jwt.decode (key in hand)", lambda: jwt.decode(token, public), seconds
    )
    full = _rate(
        "segurlink validate_id_token (cached JWKS)",
        lambda: validate_id_token(
            token, keys=keys, issuer=ISSUER, client_id=CLIENT, nonce="n", access_token=access
        ),
        seconds,
    )
    print(f"ratio full/bare: {full / bare:.2f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
