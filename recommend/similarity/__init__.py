"""Similar items: content, behaviour and hybrid neighbour lists per model version (build and serving).

Build (writes): `services.similarity_build` -> `build` helpers -> `artifact` (vectors + ANN index).
Serving (reads): `selectors.similar_products`, `selectors.semantic_neighbours` (used by search).
"""
