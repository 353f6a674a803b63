"""A synthetic workspace of N assets, shaped like a real ML platform, for the benchmarks.

Why synthetic: no public catalog has 100k or 1M assets with owners, rotations and lineage, and
the benchmarks need the same graph on every machine. The generator is deterministic by seed.

Shape. Assets sit in six layers, data flowing left to right:

    sources -> pipelines -> stores -> features -> models -> deployments/feeds

Each asset depends on ~2 assets of the layer before (1 to 3, mean 2), picked near its own relative
position in that layer, so teams own contiguous regions and most blast radii stay local, as in a
real platform; a few picks (3 %) land anywhere. One source is a hub: about half of the pipelines
read it, so roughly half the graph lies downstream of it -- the worst realistic blast radius, the
one the blast-radius benchmark uses. Names come from word lists ("demand-orders-kafka",
"demand-orders-forecast"), grouped by domain so related assets share a prefix.

Speed: 1M assets must be written in well under a minute, so YAML text is formatted directly,
never through `yaml.dump`; names are unique by construction (mixed radix over word lists), so no
set of seen names is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Bump when the output changes in a way a reader of bench-meta.json should notice; the runner
# also keys its cache on a hash of this file, so any edit regenerates cached workspaces.
GENERATOR_VERSION = 1
DEFAULT_SEED = 7
DOCS_PER_FILE = 2500
META_FILE = "bench-meta.json"
NAMESPACE = "default"
# OpenLineage speaks in its own namespaces (scheduler, database URIs) and names, as a real
# emitter does, so lineage adds jobs and datasets beside the catalog's entities; sharing the
# catalog's bare names would make bare-name look-ups ambiguous.
JOB_NAMESPACE = "airflow"
SOURCE_NAMESPACE = "postgres://ops-db:5432"
STORE_NAMESPACE = "s3://training-lake"
FUZZY_QUERY = "demand"
HUB_FRACTION = 0.5  # share of pipelines that read the hub source
CROSS_PICK_RATE = 0.03  # share of upstream picks made anywhere in the previous layer
WINDOW = 3  # local picks come from +-WINDOW positions around the asset's own position
PEOPLE_PER_TEAM = 5
ASSETS_PER_TEAM = 500
EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # a Monday: rotation start and lineage times

DOMAINS: tuple[str, ...] = (
    "orders", "payments", "inventory", "pricing", "tax", "shipping", "customer", "catalog",
    "search", "ads", "fraud", "risk", "loyalty", "marketing", "supply", "warehouse", "returns",
    "reviews", "billing", "subscriptions", "identity", "sessions", "clickstream", "checkout",
    "cart", "promotions", "coupons", "merchants", "sellers", "drivers", "deliveries", "routing",
    "maps", "weather", "demand", "ledger", "refunds", "disputes", "onboarding", "support",
    "messaging", "notifications", "content", "media", "playback", "listings", "bookings",
    "travel", "hotels", "flights", "grocery", "restaurants", "menus", "couriers", "partners",
    "vendors", "procurement", "payroll", "hiring", "devices", "telemetry", "energy", "credit",
    "savings",
)  # fmt: skip
NOUNS: tuple[str, ...] = (
    "transactions", "profiles", "snapshots", "invoices", "accounts", "items", "prices",
    "events", "sessions", "clicks", "impressions", "carts", "shipments", "addresses", "stock",
    "balances", "ratings", "queries", "offers", "segments", "visits", "baskets", "receipts",
    "claims", "tickets", "contracts", "quotes", "routes", "trips", "locations", "products",
    "skus", "orders", "payouts", "chargebacks", "limits", "scores", "signals", "audits",
    "journals", "forecasts", "metrics", "logs", "deltas", "batches", "rules", "labels",
    "households",
)  # fmt: skip
# FIRST_NAMES and LAST_NAMES both hold 64 names (see _person_name).
FIRST_NAMES: tuple[str, ...] = (
    "ada", "alan", "grace", "linus", "margaret", "dennis", "barbara", "ken", "frances", "edsger",
    "radia", "tim", "sophie", "guido", "yukihiro", "anita", "jean", "donald", "leslie", "john",
    "karen", "niklaus", "fran", "hedy", "katherine", "dorothy", "mary", "annie", "evelyn",
    "joan", "carol", "shafi", "silvio", "whitfield", "martin", "ivan", "butler", "vint",
    "robert", "brian", "rob", "bjarne", "james", "larry", "sergey", "susan", "marissa", "sheryl",
    "reshma", "kimberly", "timnit", "fei", "andrew", "yann", "geoffrey", "yoshua", "daphne",
    "cynthia", "regina", "shirley", "lynn", "mark", "elena", "priya",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "lovelace", "turing", "hopper", "torvalds", "hamilton", "ritchie", "liskov", "thompson",
    "allen", "dijkstra", "perlman", "berners", "wilson", "rossum", "matsumoto", "borg", "bartik",
    "knuth", "lamport", "backus", "jones", "wirth", "bilas", "lamarr", "johnson", "vaughan",
    "jackson", "easley", "berezin", "clarke", "shaw", "goldwasser", "micali", "diffie",
    "hellman", "sutherland", "lampson", "cerf", "kahn", "kernighan", "pike", "stroustrup",
    "gosling", "page", "brin", "wojcicki", "mayer", "sandberg", "saujani", "bryant", "gebru",
    "li", "ng", "lecun", "hinton", "bengio", "koller", "dwork", "barzilay", "goldberg",
    "conway", "dean", "rao", "nakamura",
)  # fmt: skip
TEAM_WORDS: tuple[str, ...] = (
    "data", "ml", "platform-eng", "analytics", "insights", "infra", "science", "eng", "ops",
    "quality",
)  # fmt: skip
TIMEZONES: tuple[str, ...] = (
    "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles",
    "Asia/Singapore", "Asia/Kolkata", "Australia/Sydney", "UTC",
)  # fmt: skip
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday")


@dataclass(frozen=True)
class Layer:
    """One tier of the platform: how big it is, what its assets are, how they are named."""

    key: str
    fraction: float
    kind: str  # Backstage kind, capitalised as written in YAML
    type: str  # spec.type
    suffixes: tuple[str, ...]  # disjoint across layers, so names are unique across layers
    tag: str
    blurb: str


LAYERS: tuple[Layer, ...] = (
    Layer("sources", 0.05, "Resource", "data-source",
          ("db", "postgres", "mysql", "kafka", "cdc", "bucket", "s3", "replica", "topic",
           "export"), "source", "Raw data"),
    Layer("pipelines", 0.20, "Component", "pipeline",
          ("etl", "ingest", "sync", "backfill", "loader", "dedup", "compaction", "daily-etl",
           "hourly-etl", "stream-job"), "pipeline", "Pipeline that moves"),
    Layer("stores", 0.10, "Resource", "training-store",
          ("training-db", "warehouse", "lake", "training-set", "snapshot-store", "parquet",
           "delta", "lakehouse"), "store", "Training store holding"),
    Layer("features", 0.20, "Resource", "feature-store",
          ("features", "feature-view", "embeddings", "aggregates", "feature-table",
           "counters", "encodings", "windows"), "features", "Features derived from"),
    Layer("models", 0.20, "Component", "model",
          ("forecast", "classifier", "ranker", "scorer", "recommender", "detector",
           "regressor", "predictor", "estimator", "model"), "ml", "Model trained on"),
    Layer("deployments", 0.25, "Component", "deployment",
          ("prod", "prod-eu", "prod-us", "canary", "shadow", "batch-scoring", "endpoint",
           "serving", "feed", "price-feed"), "serving", "Serving"),
)  # fmt: skip
FEED_SUFFIXES = frozenset({"feed", "price-feed"})
MIN_ASSETS = len(LAYERS)


def generator_fingerprint() -> str:
    """A hash of this file: the runner regenerates cached workspaces when the generator changes."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def layer_sizes(n: int) -> list[int]:
    """Assets per layer, each at least one, summing to exactly n."""
    if n < MIN_ASSETS:
        raise ValueError(f"need at least {MIN_ASSETS} assets (one per layer), got {n}")
    sizes = [max(1, round(n * layer.fraction)) for layer in LAYERS]
    sizes[-1] += n - sum(sizes)
    while sizes[-1] < 1:  # tiny n: take from the largest earlier layer
        biggest = max(range(len(sizes) - 1), key=sizes.__getitem__)
        sizes[biggest] -= 1
        sizes[-1] += 1
    return sizes


def _band_start(band: int, count: int, bands: int) -> int:
    """First index i of `count` with i * bands // count == band."""
    return (band * count + bands - 1) // bands


def _asset_name(layer: Layer, index: int, count: int, nouns: Sequence[str]) -> tuple[str, str]:
    """(name, domain) of asset `index` of a layer: unique by (domain band, index in band)."""
    bands = len(DOMAINS)
    band = index * bands // count
    local = index - _band_start(band, count, bands)
    suffix = layer.suffixes[local % len(layer.suffixes)]
    rest = local // len(layer.suffixes)
    noun = nouns[(rest + band * 7) % len(nouns)]
    again = rest // len(nouns)
    domain = DOMAINS[band]
    name = f"{domain}-{noun}-{suffix}" + (f"-{again + 1}" if again else "")
    return name, domain


def _person_name(index: int, firsts: Sequence[str], lasts: Sequence[str]) -> str:
    """A unique "first.last" for each index; neighbours differ in both parts (a bijection on
    len(firsts) * len(lasts) because len(firsts) + 1 and len(lasts) are coprime)."""
    first = firsts[index % len(firsts)]
    last = lasts[(index + index // len(firsts)) % len(lasts)]
    again = index // (len(firsts) * len(lasts))
    return f"{first}.{last}" + (str(again + 1) if again else "")


def _team_name(index: int, teams: int) -> str:
    bands = len(DOMAINS)
    band = index * bands // teams
    local = index - _band_start(band, teams, bands)
    word = TEAM_WORDS[local % len(TEAM_WORDS)]
    again = local // len(TEAM_WORDS)
    return f"{DOMAINS[band]}-{word}" + (f"-{again + 1}" if again else "")


def _title(name: str) -> str:
    return name.replace("-", " ").capitalize()


class _ChunkedWriter:
    """Writes YAML documents into numbered files of at most DOCS_PER_FILE documents each."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self.directory = directory
        self.prefix = prefix
        self.buffer: list[str] = []
        self.files: list[Path] = []

    def add(self, doc: str) -> None:
        self.buffer.append(doc)
        if len(self.buffer) >= DOCS_PER_FILE:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        path = self.directory / f"{self.prefix}-{len(self.files) + 1:04d}.yaml"
        path.write_text("---\n".join(self.buffer), encoding="utf-8")
        self.files.append(path)
        self.buffer = []


def _pick_upstreams(
    rng: random.Random, position: float, previous: int, hub: int | None
) -> list[int]:
    """Indices in the previous layer this asset depends on: 1-3 (mean 2), mostly nearby."""
    wanted = rng.choice((1, 2, 2, 3))
    wanted = min(wanted, previous)
    centre = min(previous - 1, int(position * previous))
    picks: list[int] = []
    if hub is not None:
        picks.append(hub)
    attempts = 0
    while len(picks) < wanted and attempts < 20:
        attempts += 1
        if rng.random() < CROSS_PICK_RATE:
            pick = rng.randrange(previous)
        else:
            pick = min(previous - 1, max(0, centre + rng.randint(-WINDOW, WINDOW)))
        if pick not in picks:
            picks.append(pick)
    return picks


def _asset_doc(
    layer: Layer,
    name: str,
    domain: str,
    owner: str,
    upstream_refs: Sequence[str],
    upstream_label: str,
) -> str:
    kind_type = layer.type
    if layer.key == "deployments" and any(name.endswith(s) for s in FEED_SUFFIXES):
        kind_type = "feed"
    depends = ""
    if upstream_refs:
        depends = "  dependsOn:\n" + "".join(f"    - {ref}\n" for ref in upstream_refs)
    return (
        f"apiVersion: backstage.io/v1alpha1\n"
        f"kind: {layer.kind}\n"
        f"metadata:\n"
        f"  name: {name}\n"
        f"  title: {_title(name)}\n"
        f"  description: {layer.blurb} {upstream_label}\n"
        f"  tags: [{domain}, {layer.tag}]\n"
        f"spec:\n"
        f"  type: {kind_type}\n"
        f"  lifecycle: production\n"
        f"  owner: group:{NAMESPACE}/{owner}\n"
        f"  system: system:{NAMESPACE}/{domain}-platform\n"
        f"{depends}"
    )


def _org_docs(teams: Sequence[str], members: Sequence[Sequence[str]], org: str) -> Iterator[str]:
    yield (
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n"
        f"  name: {org}\n  description: The data and ML organisation\n"
        "spec:\n  type: organization\n  profile:\n    displayName: Data and ML\n"
        f"    email: {org}@example.com\n"
        "  children:\n" + "".join(f"    - group:{NAMESPACE}/{t}\n" for t in teams)
    )
    for team, people in zip(teams, members, strict=True):
        yield (
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n"
            f"  name: {team}\n  description: {_title(team)} team\n"
            "spec:\n  type: team\n  profile:\n"
            f"    displayName: {_title(team)}\n    email: {team}@example.com\n"
            f"  parent: group:{NAMESPACE}/{org}\n  children: []\n"
            "  members:\n" + "".join(f"    - user:{NAMESPACE}/{p}\n" for p in people)
        )
        for person in people:
            first, _, last = person.partition(".")
            display = f"{first.capitalize()} {last.capitalize()}"
            yield (
                "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n"
                f"  name: {person}\n"
                "spec:\n  profile:\n"
                f"    displayName: {display}\n    email: {person}@example.com\n"
                f"  memberOf: [group:{NAMESPACE}/{team}]\n"
            )


def _rotation_doc(rng: random.Random, team: str, people: Sequence[str], org_lead: str) -> str:
    """One weekly rotation per team, with an override on some teams and a 3-step escalation."""
    weekday = rng.choice(WEEKDAYS)
    hour = rng.choice((8, 9, 10))
    zone = rng.choice(TIMEZONES)
    member_lines = "".join(f"    - user:{NAMESPACE}/{p}\n" for p in people)
    overrides = "  overrides: []\n"
    if len(people) > 1 and rng.random() < 0.3:
        start = EPOCH + timedelta(days=7 * rng.randrange(4, 40))
        end = start + timedelta(days=rng.choice((1, 2, 3)))
        overrides = (
            "  overrides:\n"
            f"    - user: user:{NAMESPACE}/{people[-1]}\n"
            f'      from: "{start.isoformat()}"\n'
            f'      to: "{end.isoformat()}"\n'
        )
    return (
        "apiVersion: oncall/v1\nkind: Rotation\nmetadata:\n"
        f"  name: {team}-primary\n  title: {_title(team)} primary\n"
        "spec:\n"
        f"  owner: group:{NAMESPACE}/{team}\n"
        f"  timezone: {zone}\n"
        f'  start: "{EPOCH.date().isoformat()}"\n'
        f'  handoff: {{weekday: {weekday}, time: "{hour:02d}:00"}}\n'
        "  length: 1w\n"
        f"  members:\n{member_lines}"
        f"{overrides}"
        "  escalation:\n"
        f"    - {{ref: user:{NAMESPACE}/{people[min(1, len(people) - 1)]}, delay: 15m}}\n"
        f"    - {{ref: group:{NAMESPACE}/{team}, delay: 30m}}\n"
        f"    - {{ref: user:{NAMESPACE}/{org_lead}, delay: 1h}}\n"
    )


def _ownership(producer: str, owner: str) -> dict[str, object]:
    return {
        "ownership": {
            "_producer": producer,
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/OwnershipJobFacet.json",
            "owners": [{"name": f"group:{NAMESPACE}/{owner}", "type": "team"}],
        }
    }


def _lineage_event(
    rng: random.Random,
    job: tuple[str, str],
    inputs: Iterable[tuple[str, str]],
    outputs: Iterable[tuple[str, str]],
) -> str:
    """One OpenLineage COMPLETE RunEvent, as one NDJSON line; each (name, owner) carries an
    ownership facet, so lineage adds no owner-less entities."""
    when = EPOCH + timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
    producer = "https://github.com/oncall/bench/catalog_gen"
    job_name, job_owner = job
    event = {
        "eventType": "COMPLETE",
        "eventTime": when.isoformat().replace("+00:00", "Z"),
        "producer": producer,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.UUID(int=rng.getrandbits(128), version=4))},
        "job": {
            "namespace": JOB_NAMESPACE,
            "name": f"{job_name.replace('-', '_')}.run",
            "facets": _ownership(producer, job_owner),
        },
        "inputs": [
            {
                "namespace": SOURCE_NAMESPACE,
                "name": f"public.{name.replace('-', '_')}",
                "facets": _ownership(producer, owner),
            }
            for name, owner in inputs
        ],
        "outputs": [
            {
                "namespace": STORE_NAMESPACE,
                "name": f"lake/{name}",
                "facets": _ownership(producer, owner),
            }
            for name, owner in outputs
        ],
    }
    return json.dumps(event, separators=(",", ":"))


def generate(n: int, out_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, object]:
    """Write the workspace for `n` assets into `out_dir` and return what bench-meta.json holds.

    `out_dir` must not hold an older generated workspace (files are overwritten, never removed).
    bench-meta.json is written last, so its presence marks a complete workspace.
    """
    rng = random.Random(seed)
    sizes = layer_sizes(n)
    nouns = list(NOUNS)
    rng.shuffle(nouns)
    firsts, lasts = list(FIRST_NAMES), list(LAST_NAMES)
    rng.shuffle(firsts)
    rng.shuffle(lasts)

    catalog_dir = out_dir / "catalog"
    lineage_dir = out_dir / "lineage"
    catalog_dir.mkdir(parents=True, exist_ok=True)
    lineage_dir.mkdir(parents=True, exist_ok=True)

    team_count = max(3, n // ASSETS_PER_TEAM)
    teams = [_team_name(i, team_count) for i in range(team_count)]
    members = [
        [_person_name(t * PEOPLE_PER_TEAM + k, firsts, lasts) for k in range(PEOPLE_PER_TEAM)]
        for t in range(team_count)
    ]
    org = "data-org"
    org_lead = members[0][0]

    org_writer = _ChunkedWriter(catalog_dir, "org")
    for doc in _org_docs(teams, members, org):
        org_writer.add(doc)
    org_writer.flush()
    rotation_writer = _ChunkedWriter(catalog_dir, "rotations")
    for team, people in zip(teams, members, strict=True):
        rotation_writer.add(_rotation_doc(rng, team, people, org_lead))
    rotation_writer.flush()
    system_writer = _ChunkedWriter(catalog_dir, "systems")
    for band, domain in enumerate(DOMAINS):
        owner = teams[min(team_count - 1, band * team_count // len(DOMAINS))]
        system_writer.add(
            "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n"
            f"  name: {domain}-platform\n  description: Everything about {domain}\n"
            f"spec:\n  owner: group:{NAMESPACE}/{owner}\n"
        )
    system_writer.flush()

    hub = 0  # the first source: its domain's band feeds the hub's half of the graph
    previous_names: list[str] = []
    previous_reached = bytearray()
    reached_total = 0
    layer_names: dict[str, list[str]] = {}
    owners_by_layer: dict[str, list[str]] = {}
    upstreams_by_layer: dict[str, list[list[int]]] = {}
    asset_files: list[Path] = []
    for layer_index, (layer, count) in enumerate(zip(LAYERS, sizes, strict=True)):
        writer = _ChunkedWriter(catalog_dir, layer.key)
        names: list[str] = []
        owners: list[str] = []
        ups_all: list[list[int]] = []
        reached = bytearray(count)
        previous_layer = LAYERS[layer_index - 1] if layer_index else None
        prev_kind = previous_layer.kind.lower() if previous_layer else ""
        for i in range(count):
            name, domain = _asset_name(layer, i, count, nouns)
            position = (i + 0.5) / count
            owner = teams[min(team_count - 1, int(position * team_count))]
            ups: list[int] = []
            if previous_layer is not None:
                use_hub = layer.key == "pipelines" and position < HUB_FRACTION
                ups = _pick_upstreams(rng, position, len(previous_names), hub if use_hub else None)
                if any(previous_reached[u] for u in ups):
                    reached[i] = 1
            elif i == hub:
                reached[i] = 1
            refs = [f"{prev_kind}:{NAMESPACE}/{previous_names[u]}" for u in ups]
            label = " and ".join(previous_names[u] for u in ups[:2]) if ups else domain
            writer.add(_asset_doc(layer, name, domain, owner, refs, label))
            names.append(name)
            owners.append(owner)
            ups_all.append(ups)
        writer.flush()
        asset_files.extend(writer.files)
        reached_total += sum(reached)
        layer_names[layer.key] = names
        owners_by_layer[layer.key] = owners
        upstreams_by_layer[layer.key] = ups_all
        previous_names = names
        previous_reached = reached

    # OpenLineage: one COMPLETE event per 100 pipelines (at least one), inputs = the pipeline's
    # sources, outputs = stores that read the pipeline, named the way OpenLineage names them.
    pipelines = layer_names["pipelines"]
    sources = layer_names["sources"]
    readers: dict[int, list[int]] = {}
    for store_index, ups in enumerate(upstreams_by_layer["stores"]):
        for u in ups:
            readers.setdefault(u, []).append(store_index)
    lineage_path = lineage_dir / "runs.ndjson"
    step = max(1, len(pipelines) // max(1, len(pipelines) // 100))
    lines = []
    owned = {key: list(zip(layer_names[key], owners_by_layer[key], strict=True)) for key in
             ("sources", "pipelines", "stores")}  # fmt: skip
    for p in range(0, len(pipelines), step):
        inputs = [owned["sources"][u] for u in upstreams_by_layer["pipelines"][p]]
        outputs = [owned["stores"][s] for s in readers.get(p, [])[:3]]
        lines.append(_lineage_event(rng, owned["pipelines"][p], inputs, outputs))
    lineage_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    (out_dir / "oncall.toml").write_text(
        f'name = "bench-{n}"\ncatalog = ["catalog"]\nlineage = ["lineage"]\n', encoding="utf-8"
    )

    models = layer_names["models"]
    target_index = len(models) // 2
    meta: dict[str, object] = {
        "generator_version": GENERATOR_VERSION,
        "generator_fingerprint": generator_fingerprint(),
        "seed": seed,
        "assets": n,
        "layers": {layer.key: size for layer, size in zip(LAYERS, sizes, strict=True)},
        "teams": team_count,
        "people": team_count * PEOPLE_PER_TEAM,
        "rotations": team_count,
        "systems": len(DOMAINS),
        "lineage_events": len(lines),
        "catalog_files": len(asset_files)
        + len(org_writer.files)
        + len(rotation_writer.files)
        + len(system_writer.files),
        "big_source": f"resource:{NAMESPACE}/{sources[hub]}",
        "big_source_name": sources[hub],
        "big_source_downstream": reached_total - 1,
        "owner_target": models[target_index],
        "owner_target_ref": f"component:{NAMESPACE}/{models[target_index]}",
        "owner_target_team": f"group:{NAMESPACE}/{owners_by_layer['models'][target_index]}",
        "fuzzy_query": FUZZY_QUERY,
    }
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.catalog_gen",
        description="Write a synthetic oncall workspace of N assets (Backstage YAML + lineage).",
    )
    parser.add_argument("n", type=int, help=f"number of assets (at least {MIN_ASSETS})")
    parser.add_argument("out_dir", type=Path, help="directory to write the workspace into")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.n < MIN_ASSETS:
        parser.error(f"N must be at least {MIN_ASSETS} (one asset per layer)")
    if args.out_dir.exists() and any(args.out_dir.iterdir()):
        parser.error(f"{args.out_dir}: not empty; give a new or empty directory")
    meta = generate(args.n, args.out_dir, args.seed)
    json.dump(meta, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
