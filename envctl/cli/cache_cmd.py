"""``envctl cache prune``: remove what killed builds left in the local cache."""

from __future__ import annotations

import time

import typer

from envctl import console
from envctl.build import debris
from envctl.build.cache import Cache
from envctl.build.size import human
from envctl.cli.app import app, format_option

cache_app = typer.Typer(
    help="The local cache (ENVCTL_CACHE_DIR, default ~/.cache/envctl).", no_args_is_help=True
)
app.add_typer(cache_app, name="cache")


@cache_app.command("prune")
def prune(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be removed."),
    output_format: str = format_option("text", "json"),
) -> None:
    """Remove build trees of dead processes, half-written archives, and exec cache entries
    above its size cap (least recently used first)."""
    from envctl.udf import local

    now = time.time()
    swept = debris.sweep(Cache.default(), now=now, dry_run=dry_run)
    collected = [] if dry_run else local.collect_exec_cache(now=now)
    if output_format == "json":
        console.print_json(
            {
                "dry_run": dry_run,
                "removed": [
                    {"path": str(s.path), "bytes": s.size, "reason": s.reason} for s in swept
                ],
                "exec_cache_removed": [str(p) for p in collected],
            }
        )
        return
    verb = "would remove" if dry_run else "removed"
    for item in swept:
        print(f"{verb} {item.path} ({human(item.size)}; {item.reason})")
    for path in collected:
        print(f"removed {path} (exec cache, least recently used)")
    total = sum(s.size for s in swept)
    print(
        f"{verb} {len(swept)} debris entries ({human(total)}), {len(collected)} exec cache entries"
    )
