"""Key files and the signature primitives, with the `cryptography` package (bee's `sign` extra).

Public keys: PEM `PUBLIC KEY` (PKIX), as `cosign generate-key-pair` writes `cosign.pub`; ECDSA keys
(any NIST curve, SHA-256), RSA (PKCS #1 v1.5, SHA-256) and Ed25519 verify, as cosign's do.
Private keys: PEM PKCS #8 (`PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY` with a password, as `openssl
genpkey` writes them), SEC 1 (`EC PRIVATE KEY`), and cosign's own `ENCRYPTED SIGSTORE PRIVATE KEY`
/ `ENCRYPTED COSIGN PRIVATE KEY` (scrypt and NaCl secretbox, with the `pynacl` package). bee signs
with ECDSA P-256 over SHA-256, cosign's scheme; the signature is ASN.1 DER.

A key's fingerprint is `SHA256:` and the unpadded base64 of the SHA-256 of its DER public key (as
OpenSSH prints them). Every failure is a SignatureError naming the file, in one sentence.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from bee.oci.errors import SignatureError
from bee.oci.fileutil import FileTooLarge, atomic_write, read_bounded
from bee.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import Any, ClassVar

#: Largest key file read: a PEM key is well under a kilobyte, an RSA one a few.
MAX_KEY_FILE = 64 << 10
#: Environment variables a private key's password is read from, in this order (cosign reads the second).
PASSWORD_VARIABLES = ("BEE_PASSWORD", "COSIGN_PASSWORD")
#: cosign's encrypted private key PEM types (the second is what older cosign releases write).
COSIGN_KEY_TYPES = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
#: scrypt parameters cosign's key files use (N differs between releases); others are refused, as
#: cosign does, so that a file cannot make bee spend minutes or gigabytes deriving a key.
COSIGN_SCRYPT = ({"N": 32768, "r": 8, "p": 1}, {"N": 65536, "r": 8, "p": 1})

_PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)

Password = Callable[[], bytes]


def _crypto() -> Any:
    """The `cryptography.hazmat.primitives` modules bee uses; SignatureError when it is not installed."""
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    except ImportError:
        raise SignatureError("signing and verifying need the Python package cryptography from bee's sign "
                             "extra, which is not installed: pip install 'bee[sign]'") from None
    return hashes, serialization, ec, ed25519, padding, rsa


def _read(path: Path, what: str) -> bytes:
    try:
        return read_bounded(path, MAX_KEY_FILE)
    except FileNotFoundError:
        raise SignatureError(f"{what} {path} does not exist") from None
    except FileTooLarge as exc:
        raise SignatureError(f"{path} is {exc.size} bytes, too large to be a {what}") from None
    except OSError as exc:
        raise SignatureError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _pem_type(data: bytes) -> str | None:
    match = _PEM_BEGIN.search(data)
    return match.group(1).decode() if match else None


def fingerprint_of(public_key: Any) -> str:
    """`SHA256:<base64>` of `public_key`'s DER SubjectPublicKeyInfo."""
    _, serialization, *_ = _crypto()
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")


class PublicKey(Record):
    """A verification key read from `path`."""

    path: str
    fingerprint: str
    key: Any

    _hidden: ClassVar[tuple[str, ...]] = ("key",)

    def verifies(self, signature: bytes, payload: bytes) -> bool:
        """True when `signature` (DER for ECDSA) is this key's over `payload` (SHA-256)."""
        from cryptography.exceptions import InvalidSignature

        hashes, _, ec, ed25519, padding, rsa = _crypto()
        try:
            if isinstance(self.key, ec.EllipticCurvePublicKey):
                self.key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
            elif isinstance(self.key, rsa.RSAPublicKey):
                self.key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
            else:
                self.key.verify(signature, payload)
        except (InvalidSignature, ValueError):
            return False
        return True


def load_public_key(path: Path) -> PublicKey:
    """The public key in PEM file `path`; SignatureError when it holds none bee can verify with."""
    data = _read(path, "public key")
    _, serialization, ec, ed25519, _, rsa = _crypto()
    kind = _pem_type(data)
    if kind is not None and "PRIVATE KEY" in kind:
        raise SignatureError(f"{path} is a private key; verifying needs the public key (cosign.pub)")
    if kind != "PUBLIC KEY":
        raise SignatureError(f"{path} is not a PEM public key (a file starting -----BEGIN PUBLIC KEY-----, as "
                             "cosign generate-key-pair and bee generate-key-pair write)")
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        key = serialization.load_pem_public_key(data)
    except UnsupportedAlgorithm as exc:
        raise SignatureError(f"{path} holds a key bee cannot verify with ({exc})") from None
    except (ValueError, TypeError):
        raise SignatureError(f"{path} is not a valid PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise SignatureError(f"{path} holds a {type(key).__name__} key; bee verifies ECDSA, RSA and Ed25519 keys")
    return PublicKey(str(path), fingerprint_of(key), key)


class PrivateKey(Record):
    """A signing key read from `path` (ECDSA P-256); `fingerprint` is its public key's."""

    path: str
    fingerprint: str
    key: Any

    _hidden: ClassVar[tuple[str, ...]] = ("key",)

    def sign(self, payload: bytes) -> bytes:
        """The ECDSA P-256 / SHA-256 signature of `payload`, ASN.1 DER (what cosign writes)."""
        hashes, _, ec, *_ = _crypto()
        signature: bytes = self.key.sign(payload, ec.ECDSA(hashes.SHA256()))
        return signature


def password_from_environment_or_prompt(what: str) -> Password:
    """A password source: `BEE_PASSWORD`, else `COSIGN_PASSWORD`, else a prompt on the terminal;
    SignatureError when none of them can give one."""

    def password() -> bytes:
        for name in PASSWORD_VARIABLES:
            value = os.environ.get(name)
            if value is not None:
                return value.encode()
        if not sys.stdin.isatty():
            raise SignatureError(f"{what} needs a password: set BEE_PASSWORD (or COSIGN_PASSWORD)")
        import getpass

        return getpass.getpass(f"Password for {what}: ").encode()

    return password


def _cosign_key_der(path: Path, data: bytes, password: Password) -> bytes:
    """The PKCS #8 DER inside cosign's encrypted key file (scrypt, then NaCl secretbox)."""
    block = _PEM_BLOCK.search(data)
    try:
        document: Any = json.loads(base64.b64decode(block.group(2))) if block else {}
        kdf, cipher = document["kdf"], document["cipher"]
        params = {k: kdf["params"][k] for k in ("N", "r", "p")}
        salt, nonce = base64.b64decode(kdf["salt"]), base64.b64decode(cipher["nonce"])
        ciphertext = base64.b64decode(document["ciphertext"])
        names = (kdf["name"], cipher["name"])
    except (ValueError, TypeError, KeyError):
        raise SignatureError(f"{path} is not a valid cosign private key file") from None
    if names != ("scrypt", "nacl/secretbox"):
        raise SignatureError(f"{path} is encrypted with {names[0]}/{names[1]}; cosign keys use scrypt/nacl/secretbox")
    if params not in COSIGN_SCRYPT:
        raise SignatureError(f"{path} asks for scrypt parameters {params}, which cosign never writes")
    try:
        import nacl.exceptions
        import nacl.secret
    except ImportError:
        raise SignatureError(f"{path} is a cosign private key; reading it needs the Python package pynacl from "
                             "bee's sign extra: pip install 'bee[sign]'") from None
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    key = Scrypt(salt=salt, length=32, n=params["N"], r=params["r"], p=params["p"]).derive(password())
    try:
        der: bytes = nacl.secret.SecretBox(key).decrypt(ciphertext, nonce)
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise SignatureError(f"the password does not decrypt {path} (or the file was changed)") from None
    return der


def load_private_key(path: Path, password: Password) -> PrivateKey:
    """The ECDSA P-256 private key in `path` (module docstring for the formats); `password` is called
    only for an encrypted file. SignatureError for anything else, or a password that does not decrypt it."""
    data = _read(path, "private key")
    _, serialization, ec, *_ = _crypto()
    from cryptography.exceptions import UnsupportedAlgorithm

    kind = _pem_type(data)
    if kind == "PUBLIC KEY":
        raise SignatureError(f"{path} is a public key; signing needs the private key")
    try:
        if kind in COSIGN_KEY_TYPES:
            key = serialization.load_der_private_key(_cosign_key_der(path, data, password), None)
        elif kind in ("ENCRYPTED PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY"):
            encrypted = kind.startswith("ENCRYPTED") or b"Proc-Type: 4,ENCRYPTED" in data
            key = serialization.load_pem_private_key(data, password() if encrypted else None)
        else:
            raise SignatureError(f"{path} is not a PEM private key (PKCS #8, SEC 1 or cosign's)")
    except UnsupportedAlgorithm as exc:
        raise SignatureError(f"{path} holds a key bee cannot sign with ({exc})") from None
    except (ValueError, TypeError) as exc:
        if "password" in str(exc).lower() or "decrypt" in str(exc).lower():
            raise SignatureError(f"the password does not decrypt {path}") from None
        raise SignatureError(f"{path} is not a valid private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SignatureError(f"{path} is not an ECDSA P-256 key; bee signs with P-256 keys, as cosign does")
    return PrivateKey(str(path), fingerprint_of(key.public_key()), key)


def generate_key_pair(key_path: Path, pub_path: Path, password: bytes, *, overwrite: bool = False) -> PrivateKey:
    """Write a new ECDSA P-256 pair: `key_path` PKCS #8 PEM encrypted with `password` (mode 0600; an
    empty password leaves it unencrypted) and `pub_path` the PKIX PEM public key. SignatureError when a
    file exists and not `overwrite`, or cannot be written; neither file is left half written."""
    for path in (key_path, pub_path):
        try:
            exists = path.exists()
        except OSError as exc:  # a directory on the way that cannot be entered
            raise SignatureError(f"cannot write the key pair: {exc.strerror or exc} ({path})") from None
        if exists and not overwrite:
            raise SignatureError(f"{path} already exists; remove it or pass --force to replace it")
    _, serialization, ec, *_ = _crypto()
    key = ec.generate_private_key(ec.SECP256R1())
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    writing = key_path
    try:
        atomic_write(key_path, private_pem, mode=0o600)
        os.chmod(key_path, 0o600)  # whatever the umask
        writing = pub_path
        atomic_write(pub_path, public_pem)
    except OSError as exc:  # named by the file meant, not the temporary file it failed on
        raise SignatureError(f"cannot write the key pair: {exc.strerror or exc} ({writing})") from None
    return PrivateKey(str(key_path), fingerprint_of(key.public_key()), key)
