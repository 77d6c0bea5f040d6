"""Which programs must be signed, and by which keys: `--verify-key` flags and the policy file.

The policy file (YAML; `~/.bumblebee/policy.yaml` when it exists, or `--policy FILE`):

    require-signature: true        # a program no rule below covers is refused (default: false)
    check-identity: true           # the payload must name the program's repository (default: true)
    repositories:
      - prefix: ghcr.io/acme/      # a registry, a repository, or a path prefix of either
        keys: [acme.pub]           # any one of them must have signed (paths relative to this file)
      - prefix: localhost:5000/
        require-signature: false   # not verified

The rule with the longest prefix that matches a program's `registry/repository` applies; a
prefix matches at `/` boundaries only (`ghcr.io/acme` does not cover `ghcr.io/acmecorp`). A rule
with keys requires a signature by one of them. `--verify-key` keys apply to every program and
take precedence over the file. ConfigError (file and line) for a bad file, SignatureError for a
key that cannot be read.
"""

from __future__ import annotations

from pathlib import Path

from bee.oci.errors import SignatureError
from bee.oci.sign.keys import PublicKey, load_public_key
from bee.records import Record

#: The file read when `--policy` is not given, under bee's config directory.
POLICY_FILE = "policy.yaml"


class Requirement(Record):
    """What one program needs: a signature by one of `keys`, for its repository unless not
    `check_identity`; `source` says where the requirement comes from (for messages)."""

    keys: tuple[PublicKey, ...]
    check_identity: bool
    source: str


class Rule(Record):
    """One `repositories` entry of a policy file."""

    prefix: str
    keys: tuple[PublicKey, ...] = ()
    require_signature: bool | None = None
    check_identity: bool | None = None

    def covers(self, name: str) -> bool:
        prefix = self.prefix.rstrip("/")
        return not prefix or name == prefix or name.startswith(prefix + "/")


class TrustPolicy(Record):
    """The keys of `--verify-key` and the rules of a policy file (`source`: its path, or None)."""

    flag_keys: tuple[PublicKey, ...] = ()
    rules: tuple[Rule, ...] = ()
    require_signature: bool = False
    check_identity: bool = True
    source: str | None = None

    def requirement(self, name: str) -> Requirement | None:
        """What the program of repository `name` (`host/path`, or a local name) needs; None: nothing.
        SignatureError when a signature is required and no key is named for it."""
        if self.flag_keys:
            return Requirement(self.flag_keys, self.check_identity, "--verify-key")
        covering = [rule for rule in self.rules if rule.covers(name)]
        rule = max(covering, key=lambda r: len(r.prefix.rstrip("/")), default=None)
        check = self.check_identity if rule is None or rule.check_identity is None else rule.check_identity
        if rule is not None and rule.keys:
            return Requirement(rule.keys, check, f"{self.source} (prefix {rule.prefix})")
        required = self.require_signature if rule is None or rule.require_signature is None else rule.require_signature
        if required:
            covered = f"its rule (prefix {rule.prefix})" if rule is not None else "no rule"
            raise SignatureError(f"{self.source} requires a signature for {name}, and {covered} names a key to "
                                 "verify it with: add keys for it, or --verify-key")
        return None


def load_policy(path: Path) -> TrustPolicy:
    """The policy file at `path` (module docstring). Raises ConfigError and SignatureError."""
    from bee.yamlfile import read_yaml

    document = read_yaml(path, "signature policy", "policy")
    keys = document.mapping(("require-signature", "check-identity", "repositories"))
    rules = []
    for item in keys["repositories"].sequence() if "repositories" in keys else []:
        fields = item.mapping(("prefix", "keys", "require-signature", "check-identity"))
        if "prefix" not in fields:
            raise item.error("a rule needs a prefix (a registry or repository, \"\" for every one)")
        prefix = fields["prefix"].scalar()
        if not isinstance(prefix, str):
            raise fields["prefix"].error("expected a registry or repository name")
        key_nodes = fields["keys"].sequence() if "keys" in fields else []
        rule_keys = []
        for node in key_nodes:
            key_path = Path(node.text()).expanduser()
            try:
                rule_keys.append(load_public_key(key_path if key_path.is_absolute() else path.parent / key_path))
            except SignatureError as exc:
                raise node.error(exc.message) from None
        rules.append(Rule(prefix, tuple(rule_keys),
                          fields["require-signature"].boolean() if "require-signature" in fields else None,
                          fields["check-identity"].boolean() if "check-identity" in fields else None))
    return TrustPolicy((), tuple(rules),
                       keys["require-signature"].boolean() if "require-signature" in keys else False,
                       keys["check-identity"].boolean() if "check-identity" in keys else True, str(path))


def _default_policy(config_dir: Path) -> Path | None:
    """`config_dir/policy.yaml` when it is a file; None when there is none. A policy that may be there but
    cannot be looked at is ConfigError, never taken as absent: it may be what requires signatures."""
    from bee.yamlfile import ConfigError

    default = config_dir / POLICY_FILE
    try:
        return default if default.is_file() else None
    except OSError as exc:  # EACCES on a directory above it (another user's home)
        raise ConfigError(f"cannot tell whether the signature policy {default} exists: {exc.strerror or exc}; "
                          "give --config-dir a directory this user can read, or --policy FILE") from None


def trust_policy(verify_keys: tuple[Path, ...], policy: Path | None, config_dir: Path,
                 ignore_identity: bool = False) -> TrustPolicy | None:
    """The policy of one command: its `--verify-key` keys, over the file `policy` or else
    `config_dir/policy.yaml` when that exists; None when neither asks for anything. Raises ConfigError
    (also when that default cannot be looked at) and SignatureError."""
    if policy is None:
        policy = _default_policy(config_dir)
    base = load_policy(policy) if policy is not None else TrustPolicy()
    flag_keys = tuple(load_public_key(path) for path in verify_keys)
    result = base.replace(flag_keys=flag_keys, check_identity=base.check_identity and not ignore_identity)
    if ignore_identity:
        result = result.replace(rules=tuple(rule.replace(check_identity=False) for rule in result.rules))
    if not result.flag_keys and not result.rules and not result.require_signature:
        return None
    return result
