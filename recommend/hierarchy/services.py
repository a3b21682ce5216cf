"""Writes of taxonomy proposals: start a build, run it (the job's body), and staff's decisions before the apply.

Applying and undoing live in recommend.hierarchy.apply (re-exported here); placing new products and the
periodic fit check in recommend.hierarchy.maintenance.
"""

import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from django.db import transaction

from recommend.core.jobs import job_create
from recommend.core.progress import ProgressCallback
from recommend.core.registry import model_version_create, model_version_mark, model_version_save_artifact
from recommend.hierarchy.apply import proposal_apply, proposal_undo  # noqa: F401  (the public write API)
from recommend.hierarchy.build import BuiltProposal, build_proposal, scope_categories, scope_products
from recommend.hierarchy.diff import LiveCategory, compute_diff
from recommend.hierarchy.evaluation import evaluation_keep, proposal_against_kmeans
from recommend.hierarchy.models import ProposalChange, TaxonomyProposal
from recommend.ml.hierarchy.builder import DEFAULT_METHOD
from recommend.models import Job, ModelVersion
from taxonomy.models import Category

MAX_DEPTH = 5
REVIEWABLE = (TaxonomyProposal.Status.READY,)


@transaction.atomic
def proposal_build_start(
    *,
    scope: Category | None = None,
    depth: int = 3,
    method: str = DEFAULT_METHOD,
    user: Any = None,
    origin: str = TaxonomyProposal.Origin.MANUAL,
    reason: str = "",
    enqueue: bool = True,
) -> TaxonomyProposal:
    """A proposal row (building) and its training-queue job; the job fills the proposal in."""
    params = {"scope": scope.pk if scope else None, "depth": depth, "method": method}
    job = job_create(kind=Job.Kind.BUILD_HIERARCHY, params=params, user=user, enqueue=enqueue)
    return TaxonomyProposal.objects.create(
        scope=scope,
        depth=depth,
        method=method,
        origin=origin,
        reason=reason[:500],
        job=job,
        created_by=user if getattr(user, "pk", None) else None,
    )


def live_categories() -> list[LiveCategory]:
    rows = Category.objects.values_list("pk", "parent_id", "name", "level")
    return [LiveCategory(pk=pk, parent_id=parent, name=name, level=level) for pk, parent, name, level in rows]


def _save_centroids(built: BuiltProposal, keys: list[list[str]], proposal: TaxonomyProposal) -> ModelVersion:
    """The per-level centroids as a hierarchy model version (activated when the proposal is applied)."""
    version = model_version_create(kind=ModelVersion.Kind.HIERARCHY, params={"proposal_id": proposal.pk})
    arrays: dict[str, Any] = {"depth": np.array(len(built.centroids))}
    for level, centroids in enumerate(built.centroids):
        arrays[f"centroids{level}"] = centroids.astype(np.float32)
        arrays[f"parents{level}"] = built.parents[level].astype(np.int64)
        arrays[f"keys{level}"] = np.array(keys[level])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hierarchy.npz"
        path.write_bytes(buffer.getvalue())
        model_version_save_artifact(version=version, local_path=path)
    return model_version_mark(version=version, status=ModelVersion.Status.READY, metrics=built.stats)


def _forget_version(proposal: TaxonomyProposal) -> None:
    """A rerun replaces the version an earlier run of the same job made (unless it went live meanwhile)."""
    version_id = (proposal.stats or {}).get("model_version")
    if version_id:
        ModelVersion.objects.filter(pk=version_id).exclude(status=ModelVersion.Status.ACTIVE).delete()


def proposal_build_run(*, job: Job, scope_id: int | None, depth: int, method: str, progress: ProgressCallback) -> dict:
    """The job's body: build, diff and store. A rerun of the same job replaces its own rows (idempotent)."""
    scope = Category.objects.filter(pk=scope_id).first() if scope_id else None
    if scope_id and scope is None:
        raise ValueError(f"Category #{scope_id} (the scope) no longer exists.")
    proposal, _ = TaxonomyProposal.objects.get_or_create(
        job=job,
        defaults={"scope": scope, "depth": depth, "method": method, "created_by": job.created_by},
    )
    if proposal.status not in (TaxonomyProposal.Status.BUILDING, TaxonomyProposal.Status.FAILED):
        # Staff have reviewed or applied it since: a late rerun must not replace their decisions.
        return {"proposal": proposal.pk, "skipped": f"the proposal is {proposal.get_status_display().lower()}"}
    try:
        products = scope_products(scope)
        built = build_proposal(products, depth=depth, method=method, progress=progress)
        progress(0.9, "comparing with the live tree")
        subtree = scope_categories(scope)
        matched, changes = compute_diff(
            built.nodes,
            dict(zip(products.ids, products.category_ids, strict=True)),
            live_categories(),
            scope_id=scope.pk if scope else None,
            base_level=scope.level + 1 if scope else 0,
            scope_ids=set(subtree) if subtree is not None else None,
        )
        progress(0.95, "measuring the top level against the live tree, beside k-means on TF-IDF")
        measured = proposal_against_kmeans(products, built.nodes, scope)
    except Exception as error:
        TaxonomyProposal.objects.filter(pk=proposal.pk).update(
            status=TaxonomyProposal.Status.FAILED, stats={"error": str(error)[:500]}
        )
        raise
    for node in built.nodes:
        node["category_id"] = matched.get(node["key"])
    keys = [[node["key"] for node in built.nodes if node["level"] == level] for level in range(depth)]
    with transaction.atomic():
        proposal = TaxonomyProposal.objects.select_for_update().get(pk=proposal.pk)
        _forget_version(proposal)
        version = _save_centroids(built, keys, proposal)
        evaluated = evaluation_keep(version=version, measured=measured)
        proposal.changes.all().delete()
        ProposalChange.objects.bulk_create(
            ProposalChange(
                proposal=proposal,
                kind=change.kind,
                node_key=change.node_key,
                target_id=change.target_id,
                source_id=change.source_id,
                name=change.name[:255],
                summary=change.summary[:1000],
                product_ids=change.product_ids,
                product_count=len(change.product_ids),
                moves=change.moves,
                position=position,
            )
            for position, change in enumerate(changes)
        )
        proposal.tree, proposal.attributes, proposal.attribute_links = (
            built.nodes,
            built.attributes,
            built.attribute_links,
        )
        proposal.stats = {**built.stats, **evaluated, "model_version": version.pk, "changes": len(changes)}
        proposal.status = TaxonomyProposal.Status.READY
        proposal.save()
    progress(1.0, f"{len(built.nodes)} nodes, {len(changes)} changes")
    return {"proposal": proposal.pk, "nodes": len(built.nodes), "changes": len(changes), **built.stats}


def _reviewable(proposal: TaxonomyProposal) -> None:
    if proposal.status not in REVIEWABLE:
        raise ValueError(f"This proposal is {proposal.get_status_display().lower()}: it can no longer be edited.")


def change_decide(*, change: ProposalChange, decision: str) -> ProposalChange:
    _reviewable(change.proposal)
    if decision not in ProposalChange.Decision.values:
        raise ValueError(f"Unknown decision {decision!r}.")
    change.decision = decision
    change.save(update_fields=["decision"])
    return change


def changes_accept_all(*, proposal: TaxonomyProposal) -> int:
    """Accept every change still pending (dropped ones stay dropped)."""
    _reviewable(proposal)
    return proposal.changes.filter(decision=ProposalChange.Decision.PENDING).update(
        decision=ProposalChange.Decision.ACCEPTED
    )


def proposal_node_rename(*, proposal: TaxonomyProposal, key: str, name: str) -> dict:
    """Staff's name for a proposed node: the label, and the name its new category or rename will get."""
    _reviewable(proposal)
    name = " ".join(name.split())
    if not name:
        raise ValueError("A category name cannot be empty.")
    if len(name) > 255:
        raise ValueError("A category name has at most 255 characters.")
    with transaction.atomic():
        proposal = TaxonomyProposal.objects.select_for_update().get(pk=proposal.pk)
        node = next((n for n in proposal.tree if n["key"] == key), None)
        if node is None:
            raise ValueError(f"The proposal has no node {key!r}.")
        node["label"] = name
        proposal.save(update_fields=["tree"])
        named = proposal.changes.filter(node_key=key, kind__in=[ProposalChange.Kind.NEW, ProposalChange.Kind.RENAME])
        if named.exists():
            named.update(name=name)
        elif node.get("category_id"):
            current = Category.objects.filter(pk=node["category_id"]).values_list("name", flat=True).first()
            if current is not None and current != name:
                ProposalChange.objects.create(
                    proposal=proposal,
                    kind=ProposalChange.Kind.RENAME,
                    node_key=key,
                    target_id=node["category_id"],
                    name=name,
                    summary=f"Rename “{current}” to “{name}” (named by staff)",
                    decision=ProposalChange.Decision.ACCEPTED,
                    position=proposal.changes.count(),
                )
    return node


def proposal_dismiss(*, proposal: TaxonomyProposal) -> TaxonomyProposal:
    _reviewable(proposal)
    proposal.status = TaxonomyProposal.Status.DISMISSED
    proposal.save(update_fields=["status"])
    return proposal
