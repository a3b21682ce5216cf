"""The bought-together artifact: rules, graph embeddings and the item index, in one tar per version."""

import json
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from recommend.bought_together.training import BasketData, FittedBlend
from recommend.ml.bought_together import AssociationRules, BlendedScorer, BlendWeights, CoPurchaseGraphModel

ARTIFACT_NAME = "bought_together.tar"


@dataclass
class LoadedModel:
    """What serving needs: the blend and the item index <-> product id maps."""

    scorer: BlendedScorer
    product_ids: np.ndarray
    category_ids: np.ndarray
    root_ids: np.ndarray
    index: dict[int, int]
    evidence_min_count: int

    def indexes_of(self, product_ids: list[int]) -> list[int]:
        return [self.index[pk] for pk in product_ids if pk in self.index]


def artifact_write(*, folder: Path, fitted: FittedBlend, data: BasketData, evidence_min_count: int) -> Path:
    """Write the parts into `folder` and tar them; returns the tar's path."""
    fitted.rules.save(folder / "rules.npz")
    fitted.graph.save(folder / "graph.npz")
    np.savez_compressed(
        folder / "items.npz", product_ids=data.product_ids, category_ids=data.category_ids, root_ids=data.root_ids
    )
    meta = {"weights": asdict(fitted.weights), "evidence_min_count": evidence_min_count}
    (folder / "meta.json").write_text(json.dumps(meta))
    path = folder / ARTIFACT_NAME
    with tarfile.open(path, "w") as tar:
        for name in ("rules.npz", "graph.npz", "items.npz", "meta.json"):
            tar.add(folder / name, arcname=name)
    return path


def artifact_read(path: Path) -> LoadedModel:
    with tempfile.TemporaryDirectory() as scratch, tarfile.open(path) as tar:
        tar.extractall(scratch, filter="data")
        folder = Path(scratch)
        meta = json.loads((folder / "meta.json").read_text())
        rules = AssociationRules.load(folder / "rules.npz")
        graph = CoPurchaseGraphModel.load(folder / "graph.npz")
        with np.load(folder / "items.npz") as items:
            product_ids, category_ids, root_ids = items["product_ids"], items["category_ids"], items["root_ids"]
    scorer = BlendedScorer(rules=rules, graph=graph, weights=BlendWeights(**meta["weights"]))
    index = {int(pk): position for position, pk in enumerate(product_ids)}
    return LoadedModel(scorer, product_ids, category_ids, root_ids, index, int(meta["evidence_min_count"]))
