"""Stateless authentication of requests in every process: access tokens verified with the
public key ring, picked by the token's `kid` (`tokens`). Issuing and revoking tokens is the
users app's; key parsing is `config.jwt_keys`. Why: docs/architecture.md.
"""
