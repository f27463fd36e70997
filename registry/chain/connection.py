"""Connecting to the chain's JSON-RPC endpoint, refusing the wrong chain."""

from __future__ import annotations

import requests
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.types import RPCEndpoint

from registry.chain.errors import ChainConnectionError, WrongChainError


def connect(rpc_url: str, expected_chain_id: int | None, timeout: float = 10.0) -> Web3:
    """A Web3 client for ``rpc_url`` after checking that it serves ``expected_chain_id``.

    Args:
        rpc_url: HTTP JSON-RPC URL (e.g. the devnet's Anvil).
        expected_chain_id: The chain id the registry is configured for; ``None`` skips the check.
        timeout: Seconds allowed per RPC request.

    Raises:
        ChainConnectionError: If the endpoint does not answer.
        WrongChainError: If it serves another chain.
    """
    # web3 re-reads the chain id before every eth_call to validate it (two requests per call otherwise); the
    # id of an endpoint does not change, so that one answer is cached.
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, cache_allowed_requests=True,
                                cacheable_requests={RPCEndpoint("eth_chainId")}))
    try:
        actual = w3.eth.chain_id
    except (requests.RequestException, OSError, Web3Exception, ValueError) as exc:
        raise ChainConnectionError(
            f"cannot reach the chain RPC at {rpc_url} ({type(exc).__name__}: {exc}); "
            "start the devnet with `flep devnet up` or set FLEP_RPC_URL"
        ) from exc
    if expected_chain_id is not None and actual != expected_chain_id:
        raise WrongChainError(rpc_url, expected_chain_id, actual)
    return w3
