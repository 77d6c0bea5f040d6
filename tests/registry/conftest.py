"""Real-registry fixtures for the tests in this directory (defined in `tests.registry.fixtures`)."""

from tests.registry.fixtures import (  # noqa: F401 - imported to register them with pytest
    cred_helper,
    docker_config,
    registry_basic,
    registry_basic_plain,
    registry_cert,
    registry_down,
    registry_factory,
    registry_plain,
    registry_tls,
    registry_token,
    registry_token_session,
    tampering_proxy,
)
