"""Product search: the lexical index (services), lexical + semantic rank fusion (selectors), page and API.

Semantic matching reads the similar-items index through `recommend.similarity.selectors.semantic_neighbours`
(the one documented cross-capability read; see recommend/README.md).
"""
