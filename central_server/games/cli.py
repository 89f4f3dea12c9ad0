"""``cafe central publish-game`` and ``cafe central pool-verify`` (registered by ``central_server.cli``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.errors import CafeError, ValidationError

Action = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]
FETCH_TIMEOUT_S = 30.0


def register_games(action: Action) -> None:
    publish = action("publish-game", run_publish_game,
                     "validate a game (definition JSON, or a folder with game.json and its assets), compute its RTP, sign and publish it")
    publish.add_argument("path", type=Path, metavar="PATH")
    verify = action("pool-verify", run_pool_verify,
                    "check a spent pool against its commitment, prize table and the rounds paid; exit 1 on any mismatch")
    verify.add_argument("source", metavar="POOL_ID|FILE|URL",
                        help="a pool id (read from the database), a saved pool document, or https://…/api/v1/pools/ID")
    verify.add_argument("--ca", type=Path, help="CA certificate to trust when fetching a URL (central's ca_cert.pem)")


def run_publish_game(args: argparse.Namespace) -> int:
    from central_server.cli import _settings, _transaction
    from central_server.games import service
    from central_server.keys import load_keys

    settings = _settings(args)
    keys = load_keys(settings.data_dir)
    try:
        definition, files = service.read_game_source(args.path)
    except ValidationError as exc:
        raise ValidationError(f"{args.path}: {exc.message}") from exc
    with _transaction(settings) as conn:
        published = service.publish(conn, definition, files, keys.signing_key)
    state = "published" if published.created else "already published, now the active version of"
    print(f"{state} {published.game_id} {published.version} ({published.engine}, RTP {published.rtp} = {published.rtp_percent}) "
          f"as package {published.sha256}")
    return 0


def run_pool_verify(args: argparse.Namespace) -> int:
    from central_server.games.audit import verify_pool_document

    document = _pool_document(args)
    problems = verify_pool_document(document)
    if problems:
        for problem in problems:
            print(problem)
        return 1
    paid = len(document.get("paid") or [])
    print(f"pool {document['pool_id']} of {document['game_id']} {document['game_version']}: sound "
          f"(commitment {document['commitment'][:16]}…, {document['size']} entries match the prize table, {paid} paid rounds match)")
    return 0


def _pool_document(args: argparse.Namespace) -> Any:
    from shared.canonical import parse_json

    source: str = args.source
    if source.startswith(("https://", "http://")):
        return _fetch(source, args.ca)
    path = Path(source)
    if path.is_file():
        return parse_json(path.read_bytes())
    from central_server.cli import _settings, _transaction
    from central_server.games import pools

    with _transaction(_settings(args)) as conn:
        return pools.pool_document(conn, source).model_dump()


def _fetch(url: str, ca: Path | None) -> Any:
    import ssl

    import httpx

    from shared.canonical import parse_json

    verify: bool | ssl.SSLContext = ssl.create_default_context(cafile=str(ca)) if ca else True
    try:
        response = httpx.get(url, verify=verify, timeout=FETCH_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise CafeError(f"cannot fetch {url}: {exc}") from exc
    if response.status_code != 200:
        raise CafeError(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")
    return parse_json(response.content)
